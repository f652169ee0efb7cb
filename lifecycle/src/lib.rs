//! The lifecycle of a runtime version, as one pure module.
//!
//! The browser uses it to decide which buttons to enable and the server uses it
//! to decide which transitions to allow, so the two can never disagree. No I/O
//! lives here; the server makes each transition a compare-and-set on the
//! status this module computed.

#[macro_use]
mod text_enum;
pub mod audit;
pub mod manifest;
mod names;
pub mod policy;
mod problems;
pub mod quantity;
mod reason;
mod roles;
pub mod runtime;
mod status;
pub mod tokens;
mod transition;
pub mod variables;
pub mod webhooks;
pub mod windows;
pub mod workload;

pub use audit::{AuditAction, Outcome};
pub use manifest::{FieldError, Manifest};
pub use names::{
    MAX_DNS_LABEL, NameError, is_dns_subdomain, is_label_value, is_qualified_name,
    validate_dns_label, validate_dns_label_max,
};
pub use policy::{ChangePolicy, RequestState, ScheduleState};
pub use reason::{MAX_REASON_CHARS, Reason, ReasonError};
pub use roles::{Permission, Role};
pub use runtime::{RuntimeSettings, Tls};
pub use status::{
    Action, Health, NodeState, NodeStatus, Routing, Status, SystemEvent, UnknownStatus,
    VersionLive, health_of,
};
pub use tokens::TokenScope;
pub use transition::{
    Refusal, Transition, available_actions, demotion_on_publish, plan, system_transition,
};
pub use variables::{Variable, VariableKind};
pub use windows::{ChangeWindows, Closed, Window};
