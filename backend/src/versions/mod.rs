//! The version registry and its lifecycle transitions.
//!
//! Every change is one transaction holding the audit append lock (SQLite
//! `BEGIN IMMEDIATE`, a PostgreSQL advisory lock): the compare-and-set on the
//! status and its audit entry commit together or not at all. A refused or
//! conflicting attempt commits only its `denied` audit entry.

// First: it defines `fetch_version!`, which the others use.
#[macro_use]
pub(crate) mod record;
mod action;
mod bad_mark;
mod pending;
mod query;
mod register;
mod routing;
mod system;

pub use action::{apply_action, apply_action_noted};
pub use bad_mark::set_bad_mark;
pub use pending::{
    PendingRollback, abandon_rollback, forget_rollback, pending_rollback, pending_rollbacks,
};
pub use query::{get, in_flight, list, published};
pub use record::{
    ActionNote, Applied, ApprovalNote, BadMark, Claim, RollbackNote, VersionError, VersionRecord,
};
pub use register::register;
pub use routing::record_routing;
pub use system::{apply_system_event, fail_switch};
