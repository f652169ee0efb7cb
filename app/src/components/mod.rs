pub mod change_request;
pub mod dialog;
mod diff_table;
mod graph;
mod header;
mod page_error;
mod problems;
mod rollback;
mod runtime_fields;
mod status;

pub use diff_table::DiffTable;
pub use graph::ProcessGraph;
pub use header::Header;
pub use page_error::PageError;
pub use problems::Refusal;
pub use rollback::{PendingRollbackNotice, RollbackButton, RollbackDialog, RollbackTarget};
pub use runtime_fields::RuntimeFieldset;
pub use status::{StatusBadge, health_class, health_text, node_icon, short_time};
