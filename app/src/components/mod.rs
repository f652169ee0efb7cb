pub mod dialog;
mod graph;
mod header;
mod status;

pub use graph::ProcessGraph;
pub use header::Header;
pub use status::{StatusBadge, health_class, health_text, node_icon, short_time};
