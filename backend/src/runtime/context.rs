//! The runtime's dependencies and shared state (the pod store, the change
//! channel, running watchers and log followers), and the steps every part of
//! it takes: recording a system transition and telling subscribers.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use lifecycle::{Status, SystemEvent, VersionLive, health_of};
use tokio::{
    sync::{Notify, broadcast, mpsc},
    task::JoinHandle,
};

use super::{
    changes::VersionKey,
    events::{self, Happened},
    kube::Kube,
    live::{finish_live, live_without_cluster},
    logs,
    pods::{self, PodStore},
    replicas,
    settings::Settings,
};
use crate::{
    db::Database,
    versions::{self, VersionRecord},
};

/// A runtime's routing pass in flight, and whether it is to run once
/// more: a publish recorded while a pass was reading the database would
/// otherwise wait for the next rescan (a second) to reach the Ingress.
pub(super) struct RoutingPass {
    pub(super) task: JoinHandle<()>,
    pub(super) again: Arc<std::sync::atomic::AtomicBool>,
}

/// Everything the reconciler, the drives and routing share.
pub(super) struct Context {
    pub(super) db: Database,
    pub(super) kube: Kube,
    pub(super) settings: Settings,
    pub(super) pods: PodStore,
    pub(super) changes: broadcast::Sender<VersionKey>,
    pub(super) wake: Notify,
    pub(super) watchers: Mutex<HashMap<String, JoinHandle<()>>>,
    pub(super) followers: Mutex<HashMap<String, JoinHandle<()>>>,
    pub(super) log_sink: mpsc::Sender<logs::Received>,
    /// Whether this replica led at its last reconcile pass.
    pub(super) leading: std::sync::atomic::AtomicBool,
    /// The routing pass running for each runtime (at most one at a time).
    pub(super) routing: Mutex<HashMap<String, RoutingPass>>,
    /// This replica, in change announcements to the others.
    pub(super) replica: String,
}

pub(super) fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Every critical section here is a single map operation: a panic cannot
    // leave the map half-changed.
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

impl Context {
    /// Tells this replica's subscribers and reconciler.
    pub(super) fn notify(&self, key: VersionKey) {
        // No subscriber is fine: nobody is watching that version.
        let _ = self.changes.send(key);
        self.wake.notify_one();
    }

    /// A status change in the database: this replica hears of it now, the
    /// others through an announcement.
    pub(super) fn changed(&self, key: VersionKey) {
        let db = self.db.clone();
        let replica = self.replica.clone();
        let announced = key.clone();
        tokio::spawn(async move { replicas::announce(&db, &replica, &announced).await });
        self.notify(key);
    }

    pub(super) fn live_of(&self, record: VersionRecord) -> VersionLive {
        match self
            .pods
            .nodes(&record.runtime, &record.manifest, record.status)
        {
            Some(nodes) => {
                let health = health_of(record.status, &nodes);
                finish_live(record, nodes, health)
            }
            None => live_without_cluster(record),
        }
    }

    /// Ends a drive of `record` (read when its start or stop began) with
    /// `event`, and measures how long the transition took.
    pub(super) async fn finish(
        &self,
        record: &VersionRecord,
        event: SystemEvent,
        message: Option<String>,
    ) {
        let took = since_status_change(record);
        let key = VersionKey::new(&record.runtime, &record.name);
        if let Some(to) = self.record_system_event(&key, event, message).await {
            crate::metrics::transition_ended(event, to, took);
        }
    }

    /// Applies a system transition and tells subscribers; answers the new
    /// status when it applied. A database failure is logged; the reconciler
    /// retries the drive on its next scan.
    pub(super) async fn record_system_event(
        &self,
        key: &VersionKey,
        event: SystemEvent,
        message: Option<String>,
    ) -> Option<Status> {
        match versions::apply_system_event(
            &self.db,
            &key.runtime,
            &key.version,
            event,
            message.as_deref(),
        )
        .await
        {
            Ok(Some(transition)) => {
                tracing::info!(version = %key, from = %transition.from, to = %transition.to, ?message, "system transition");
                self.changed(key.clone());
                self.record_event(key, Happened::system(event, transition.to, message));
                Some(transition.to)
            }
            Ok(None) => None,
            Err(error) => {
                tracing::error!(%error, version = %key, ?event, "system transition not recorded");
                None
            }
        }
    }

    pub(super) fn ensure_watcher(self: &Arc<Self>, namespace: &str) {
        let mut watchers = lock(&self.watchers);
        if watchers.get(namespace).is_some_and(|w| !w.is_finished()) {
            return;
        }
        let inner = Arc::downgrade(self);
        let task = pods::watch_namespace(
            self.kube.client.clone(),
            namespace.to_owned(),
            self.pods.clone(),
            move |key| {
                if let Some(inner) = inner.upgrade() {
                    inner.notify(key);
                }
            },
        );
        watchers.insert(namespace.to_owned(), tokio::spawn(task));
    }
}

/// How long ago the version's status last changed (zero if unreadable).
pub(super) fn since_status_change(record: &VersionRecord) -> Duration {
    chrono::DateTime::parse_from_rfc3339(&record.status_changed_at)
        .ok()
        .and_then(|at| (chrono::Utc::now() - at.to_utc()).to_std().ok())
        .unwrap_or_default()
}

impl Context {
    /// A Kubernetes Event on the version's Deployments, in the background.
    pub(super) fn record_event(&self, key: &VersionKey, happened: Happened) {
        events::record(&self.kube, &self.db, &self.replica, key, happened);
    }
}
