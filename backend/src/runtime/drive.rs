//! Drives: one task per in-flight version, carrying a start or a stop to its
//! end (every node ready, or everything gone) or to its deadline, from the
//! cluster's actual state, so a drive resumed after a restart needs nothing
//! the first one knew.

use std::{collections::HashMap, sync::Arc, time::Duration};

use lifecycle::{NodeStatus, Status, SystemEvent};
use tokio::time::Instant;

use super::{
    changes::{VersionKey, changed_within},
    context::{Context, since_status_change},
};
use crate::versions::VersionRecord;

/// How often a drive re-evaluates deadlines and grace periods between events.
const TICK: Duration = Duration::from_millis(250);
/// How often a start reads its Deployments for pods the cluster refuses.
const REFUSALS_EVERY: Duration = Duration::from_secs(1);
/// A stop re-issues its deletes this often while something remains.
const REDELETE: Duration = Duration::from_secs(3);

#[tracing::instrument(skip_all, fields(version = %format!("{}/{}", record.runtime, record.name)))]
pub(super) async fn drive_start(inner: Arc<Context>, record: VersionRecord) {
    let key = VersionKey::new(&record.runtime, &record.name);
    let budget = inner.settings.start_deadline;
    let deadline = Instant::now() + budget.saturating_sub(since_status_change(&record));
    let mut changes = inner.changes.subscribe();
    match tokio::time::timeout_at(deadline, inner.apply_version(&record)).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => {
            let message = format!("Could not create the version's resources: {error}");
            return inner
                .finish(&record, SystemEvent::StartFailed, Some(message))
                .await;
        }
        Err(_) => {
            let message = format!(
                "The start deadline ({}s) passed while creating the version's resources.",
                budget.as_secs()
            );
            return inner
                .finish(&record, SystemEvent::StartFailed, Some(message))
                .await;
        }
    }
    // When each node's pods were first refused (a quota): refusals may
    // clear, so they fail the start only after the grace, like pulls.
    let mut refused_since: HashMap<String, Instant> = HashMap::new();
    let mut refusals_read: Option<Instant> = None;
    loop {
        if let Some(nodes) = inner
            .pods
            .nodes(&record.runtime, &record.manifest, Status::Starting)
        {
            if nodes.iter().all(|n| n.status == NodeStatus::Ready) {
                return inner.finish(&record, SystemEvent::AllReady, None).await;
            }
            let grace = inner.settings.failure_grace;
            // Read at most once a second: pod changes wake this loop often.
            let due = refusals_read.is_none_or(|at| at.elapsed() >= REFUSALS_EVERY);
            match due.then(|| inner.replica_failures(&record)) {
                None => {}
                Some(read) => {
                    refusals_read = Some(Instant::now());
                    match read.await {
                        Ok(refused) => {
                            refused_since
                                .retain(|node, _| refused.iter().any(|(n, _, _)| n == node));
                            for (node, reason, message) in refused {
                                let since = *refused_since
                                    .entry(node.clone())
                                    .or_insert_with(Instant::now);
                                if since.elapsed() >= grace {
                                    let message = format!("Node {node}: {reason}: {message}");
                                    return inner
                                        .finish(&record, SystemEvent::StartFailed, Some(message))
                                        .await;
                                }
                            }
                        }
                        Err(error) => tracing::debug!(%error, "replica failures not read"),
                    }
                }
            }
            if let Some(failure) = inner
                .pods
                .failures(&record.runtime, &record.name)
                .into_iter()
                .find(|f| f.since.elapsed() >= grace)
            {
                let message = match failure.message {
                    Some(message) => {
                        format!("Node {}: {}: {message}", failure.node, failure.reason)
                    }
                    None => format!("Node {}: {}", failure.node, failure.reason),
                };
                return inner
                    .finish(&record, SystemEvent::StartFailed, Some(message))
                    .await;
            }
            if Instant::now() >= deadline {
                let waiting: Vec<String> = nodes
                    .iter()
                    .filter(|n| n.status != NodeStatus::Ready)
                    .map(|n| match &n.reason {
                        Some(reason) => {
                            format!("{} ({}/{} ready, {reason})", n.name, n.ready, n.desired)
                        }
                        None => format!("{} ({}/{} ready)", n.name, n.ready, n.desired),
                    })
                    .collect();
                let message = format!(
                    "Not ready within the start deadline ({}s): {}.",
                    budget.as_secs(),
                    waiting.join(", ")
                );
                return inner
                    .finish(&record, SystemEvent::StartFailed, Some(message))
                    .await;
            }
        } else if Instant::now() >= deadline {
            let message = format!(
                "The start deadline ({}s) passed before the cluster's pods could be read.",
                budget.as_secs()
            );
            return inner
                .finish(&record, SystemEvent::StartFailed, Some(message))
                .await;
        }
        changed_within(&mut changes, &key, TICK).await;
    }
}

#[tracing::instrument(skip_all, fields(version = %format!("{}/{}", record.runtime, record.name)))]
pub(super) async fn drive_stop(inner: Arc<Context>, record: VersionRecord) {
    let key = VersionKey::new(&record.runtime, &record.name);
    let budget = inner.settings.stop_deadline;
    let deadline = Instant::now() + budget.saturating_sub(since_status_change(&record));
    let mut changes = inner.changes.subscribe();
    let mut last_delete: Option<Instant> = None;
    let mut last_problem = String::new();
    loop {
        if last_delete.is_none_or(|at| at.elapsed() >= REDELETE) {
            last_delete = Some(Instant::now());
            if let Err(error) = inner.delete_version(&record).await {
                last_problem = error.to_string();
                tracing::warn!(%error, version = %key, "delete failed; will retry");
            }
        }
        if inner.pods.is_synced(&record.runtime) {
            match inner.remaining(&record).await {
                Ok(left) if left.is_empty() => {
                    return inner.finish(&record, SystemEvent::AllGone, None).await;
                }
                Ok(left) => last_problem = format!("still present: {left}"),
                Err(error) => last_problem = error.to_string(),
            }
        }
        if Instant::now() >= deadline {
            let message = format!(
                "Not stopped within the stop deadline ({}s): {last_problem}",
                budget.as_secs()
            );
            return inner
                .finish(&record, SystemEvent::StopFailed, Some(message))
                .await;
        }
        changed_within(&mut changes, &key, TICK).await;
    }
}
