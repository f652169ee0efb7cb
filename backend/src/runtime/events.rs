//! Kubernetes Events for what the console does to a version, on the
//! version's Deployments, so `kubectl describe deployment` and `kubectl get
//! events` show who did what, as kube-runtime's `Recorder` does. Best
//! effort: an Event that cannot be written is logged and never holds an
//! action up. Failures that may pass are retried for a while: a namespace
//! that does not exist yet (a start's Event is written while the start is
//! creating it), and a throttled, overloaded or unreachable API server.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use k8s_openapi::api::core::v1::Event;
use kube::{Api, api::PostParams};
use serde_json::json;

use super::{changes::VersionKey, kube::Kube, resources};
use crate::db::Database;
use crate::versions;

/// Makes Event names unique within this process.
static SEQUENCE: AtomicU64 = AtomicU64::new(0);

/// What happened, as an Event says it.
pub struct Happened {
    /// CamelCase, as Kubernetes reasons are (`Started`, `SwitchFailed`).
    pub reason: &'static str,
    pub message: String,
    /// `Warning` rather than `Normal`.
    pub warning: bool,
}

impl Happened {
    /// A system transition's Event.
    pub fn system(
        event: lifecycle::SystemEvent,
        to: lifecycle::Status,
        message: Option<String>,
    ) -> Self {
        use lifecycle::SystemEvent::*;
        let (reason, warning) = match event {
            AllReady => ("Started", false),
            StartFailed => ("StartFailed", true),
            AllGone => ("Stopped", false),
            StopFailed => ("StopFailed", true),
            SwitchFailed => ("SwitchFailed", true),
            SwitchReverted => ("SwitchReverted", true),
        };
        let message = match message {
            Some(message) => format!("system: now {to}: {message}"),
            None => format!("system: now {to}"),
        };
        Self {
            reason,
            message,
            warning,
        }
    }

    /// An operator's action's Event.
    pub fn action(by: &str, action: lifecycle::Action, reason: &str) -> Self {
        Self {
            reason: action.label(),
            message: format!("{by}: {} (reason: {reason})", action.label()),
            warning: false,
        }
    }
}

/// Records `happened` on every Deployment of the version, in the
/// background.
pub(super) fn record(
    kube: &Kube,
    db: &Database,
    replica: &str,
    key: &VersionKey,
    happened: Happened,
) {
    let client = kube.client.clone();
    let db = db.clone();
    let replica = replica.to_owned();
    let key = key.clone();
    tokio::spawn(async move {
        let record = match versions::get(&db, &key.runtime, &key.version).await {
            Ok(record) => record,
            Err(error) => {
                tracing::warn!(%error, version = %key, "no Event: the version is unreadable");
                return;
            }
        };
        let api: Api<Event> = Api::namespaced(client, &key.runtime);
        let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
        for node in resources::node_specs(&record.manifest) {
            let deployment = lifecycle::manifest::resource_name(&key.version, node.name);
            let name = format!(
                "{deployment}.{:x}{:x}",
                chrono::Utc::now().timestamp_micros(),
                SEQUENCE.fetch_add(1, Ordering::Relaxed)
            );
            let event = json!({
                "apiVersion": "v1",
                "kind": "Event",
                "metadata": {"name": name, "namespace": key.runtime},
                "involvedObject": {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "name": deployment,
                    "namespace": key.runtime,
                },
                "reason": happened.reason,
                "message": happened.message,
                "type": if happened.warning { "Warning" } else { "Normal" },
                "action": happened.reason,
                "source": {"component": resources::FIELD_MANAGER},
                "reportingComponent": resources::FIELD_MANAGER,
                "reportingInstance": replica,
                "firstTimestamp": now,
                "lastTimestamp": now,
                "count": 1,
            });
            let event: Event = match serde_json::from_value(event) {
                Ok(event) => event,
                Err(error) => {
                    tracing::warn!(%error, "an Event did not build");
                    return;
                }
            };
            create(&api, &event, &key).await;
        }
    });
}

/// How long an Event waits for its namespace to appear: as long as a slow
/// start may take to create it (a busy cluster, or a busy test machine,
/// lost the start's Event at 20 s).
const NAMESPACE_WAIT: Duration = Duration::from_secs(120);

async fn create(api: &Api<Event>, event: &Event, key: &VersionKey) {
    let deadline = tokio::time::Instant::now() + NAMESPACE_WAIT;
    let mut pause = Duration::from_millis(50);
    loop {
        let error = match api.create(&PostParams::default(), event).await {
            Ok(_) => return,
            // Written already: a retry after a reply that was lost.
            Err(kube::Error::Api(status)) if status.code == 409 => return,
            Err(error) => error,
        };
        if !worth_retrying(&error) || tokio::time::Instant::now() + pause >= deadline {
            tracing::warn!(%error, version = %key, "Event not recorded");
            return;
        }
        tracing::debug!(%error, version = %key, "Event not recorded yet, retrying");
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(2));
    }
}

/// A namespace still being created, a throttled or overloaded API server,
/// or a connection that failed: the same Event may well be written in a
/// moment. Anything else (a refused Event) would be refused again.
fn worth_retrying(error: &kube::Error) -> bool {
    match error {
        kube::Error::Api(status) => status.code == 404 || status.code == 429 || status.code >= 500,
        _ => true,
    }
}
