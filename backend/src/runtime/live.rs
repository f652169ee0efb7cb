//! What a screen shows of a version: its status with the node states its
//! pods report, or what the database alone implies.

use lifecycle::{Health, NodeState, VersionLive};

use super::pods;
use crate::versions::VersionRecord;

/// Node states when no cluster can be asked: what the database implies.
pub fn live_without_cluster(record: VersionRecord) -> VersionLive {
    let nodes = pods::version_nodes(&record.manifest, record.status, &[]);
    finish_live(record, nodes, Health::Unknown)
}

pub(super) fn finish_live(
    record: VersionRecord,
    nodes: Vec<NodeState>,
    health: Health,
) -> VersionLive {
    let routing = record.routing();
    let host = routing.map(|_| record.host.clone());
    VersionLive {
        routing,
        host,
        runtime: record.runtime,
        version: record.name,
        status: record.status,
        health,
        status_changed_at: record.status_changed_at,
        status_actor: record.status_actor,
        error_message: record.error_message,
        nodes,
    }
}
