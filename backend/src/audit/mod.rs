//! The tamper-evident, append-only audit log.
//!
//! Every entry stores `hash = SHA-256(prev_hash ‖ canonical content)`, where
//! the canonical content is a JSON array of the entry's fields in a fixed
//! order. The database itself refuses UPDATE and DELETE on the table (see the
//! migrations); only a retention run removes entries, leaving a checkpoint.
//! Signed receipts of the chain's head ([`receipt`]) make cutting off its
//! newest entries detectable too.

mod chain;
mod entry;
pub mod export;
mod query;
pub mod receipt;
pub mod retention;
mod verify;
pub mod via;

pub(crate) use chain::lock_pg;
pub use chain::{AuditConn, append, append_many};
pub use entry::{Actor, Entry, GENESIS_HASH, NewEntry, now_timestamp};
pub(crate) use entry::{SELECT_COLUMNS, entry_from_row, hex};
pub use query::{Filter, MAX_PAGE, Page, query};
pub use verify::{Verification, verify};
