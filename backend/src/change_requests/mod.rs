//! Change requests: an action a runtime's policy holds for approval, kept
//! until enough distinct people approve it (then carried out through the
//! one action path, as the requester, the approvers named), someone
//! rejects it, its requester withdraws it, or it expires. Every step is a
//! transaction with its audit entry. Times come from the caller (`now`), so
//! expiry is tested with a clock, not with waiting.
//!
//! `record`: the request and its queries; `steps`: deciding, withdrawing,
//! expiring and carrying out.

#[macro_use]
mod record;
mod steps;

pub use record::{Asked, ChangeRequest, Decision, RequestError, get, list, of_runtime, open};
pub use steps::{carry_out, decide, expire_due, fail, withdraw};
