//! Webhooks: admins register endpoints per runtime for kinds of events, and
//! the console tells them, signed, from a durable outbox.
//!
//! The audit log is where events come from: everything the console does is
//! an audit entry, written in the transaction that does it. The dispatcher
//! (`dispatch.rs`) reads entries past each endpoint's cursor and writes a
//! delivery per entry of a subscribed kind (`outbox.rs`), then sends due
//! deliveries oldest first, one endpoint at a time per lease, retrying with
//! backoff (`send.rs`). An action never waits for any of it.

mod dispatch;
mod model;
mod outbox;
mod send;
mod store;

pub use dispatch::{Dispatcher, run};
pub use model::{
    Created, Delivery, DeliveryState, Endpoint, SECRET_PREFIX, Settings, WebhookError,
};
pub use send::{SIGNATURE_HEADER, sign};
pub use store::{create, delete, deliveries, get, list, of_runtime, resend};
