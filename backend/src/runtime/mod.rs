//! The lifecycle, carried out in the cluster: start, stop, publish and
//! unpublish through the kube client, readiness from a pod watch, logs, and a
//! reconciler that finishes every `starting`/`stopping` version, after a
//! restart too.
//!
//! The database holds the intent (the status a transition wrote before any
//! cluster call). The reconciler drives each in-flight version from the
//! cluster's actual state, with calls that are idempotent (server-side apply,
//! delete by label), so it can be interrupted at any point and resumed.

mod changes;
pub mod configured;
mod context;
mod drive;
pub mod dry_run;
mod error;
mod events;
mod kube;
mod labels;
mod live;
pub mod logs;
mod objects;
pub mod plan;
pub mod pods;
mod reconcile;
pub mod replicas;
pub mod resources;
mod rollbacks;
mod routing;
mod settings;

use std::sync::{Arc, Mutex};

use lifecycle::VersionLive;
use tokio::sync::{Notify, broadcast, mpsc};

pub use changes::{VersionKey, changed_within};
pub use error::RuntimeError;
pub use live::live_without_cluster;
pub use settings::Settings;

use crate::{
    cluster::Cluster,
    db::Database,
    versions::{self, VersionError, VersionRecord},
};
use context::Context;
use pods::PodStore;

#[derive(Clone)]
pub struct Runtime {
    inner: Arc<Context>,
}

impl Runtime {
    /// Starts the reconciler, the pod watchers and the log collector on the
    /// current tokio runtime.
    pub fn spawn(db: Database, cluster: &Cluster, settings: Settings) -> Self {
        let (changes, _) = broadcast::channel(1024);
        let (log_sink, log_lines) = mpsc::channel(4096);
        let inner = Arc::new(Context {
            db: db.clone(),
            kube: kube::Kube {
                client: cluster.client().clone(),
                call_timeout: settings.call_timeout,
            },
            settings,
            pods: PodStore::default(),
            changes,
            wake: Notify::new(),
            watchers: Mutex::default(),
            followers: Mutex::default(),
            log_sink,
            routing: Mutex::default(),
            leading: Default::default(),
            replica: replicas::replica_id(),
        });
        tokio::spawn(logs::store_lines(db.clone(), log_lines));
        let heard = {
            let inner = Arc::downgrade(&inner);
            move |key| {
                if let Some(inner) = inner.upgrade() {
                    inner.notify(key);
                }
            }
        };
        tokio::spawn(replicas::listen(db, inner.replica.clone(), heard));
        tokio::spawn(reconcile::reconcile_loop(inner.clone()));
        Self { inner }
    }

    /// Whether this replica led at its last reconcile pass (about once a
    /// second).
    pub fn is_leading(&self) -> bool {
        self.inner
            .leading
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn settings(&self) -> &Settings {
        &self.inner.settings
    }

    /// Every change of a version's status or nodes, by key.
    pub fn subscribe(&self) -> broadcast::Receiver<VersionKey> {
        self.inner.changes.subscribe()
    }

    /// Tells the runtime an operator changed a version's status: subscribers
    /// hear of it and the reconciler picks it up now.
    pub fn status_changed(&self, key: VersionKey) {
        self.inner.changed(key);
    }

    /// An operator's action was recorded: subscribers and the reconciler
    /// hear of it, and the version's Deployments get an Event naming who
    /// did what and why.
    pub fn operator_acted(
        &self,
        key: VersionKey,
        by: &str,
        action: lifecycle::Action,
        reason: &str,
    ) {
        self.inner
            .record_event(&key, events::Happened::action(by, action, reason));
        self.inner.changed(key);
    }

    /// A running version's values changed: its objects are applied again
    /// (the pod templates' checksum changed, so the pods roll), with an
    /// Event naming who and why; screens hear of it as the nodes go amber
    /// and green again.
    pub fn configuration_changed(&self, key: VersionKey, by: &str, reason: &str) {
        self.inner.record_event(
            &key,
            events::Happened {
                reason: "Configured",
                message: format!("{by}: configuration changed (reason: {reason})"),
                warning: false,
            },
        );
        let inner = self.inner.clone();
        tokio::spawn(async move {
            let applied = match versions::get(&inner.db, &key.runtime, &key.version).await {
                Ok(record) => inner.apply_version(&record).await,
                Err(error) => Err(error.into()),
            };
            if let Err(error) = applied {
                tracing::warn!(%error, version = %key, "configuration not applied");
                inner.record_event(
                    &key,
                    events::Happened {
                        reason: "ConfigureFailed",
                        message: format!("configuration not applied: {error}"),
                        warning: true,
                    },
                );
            }
            inner.changed(key);
        });
    }

    /// The version's status and nodes now.
    pub async fn live(&self, runtime: &str, version: &str) -> Result<VersionLive, VersionError> {
        let record = versions::get(&self.inner.db, runtime, version).await?;
        Ok(self.live_of(record))
    }

    /// The live view of a version record just read.
    pub fn live_of(&self, record: VersionRecord) -> VersionLive {
        self.inner.ensure_watcher(&record.runtime);
        self.inner.live_of(record)
    }

    /// Applies every object of a version, as a start does. Idempotent: on a
    /// version already applied it changes nothing in the cluster.
    pub async fn apply_resources(&self, record: &VersionRecord) -> Result<(), RuntimeError> {
        self.inner.apply_version(record).await
    }

    /// What `action` (a start or a publish) would apply for `record`, as
    /// the API server answers a dry run: nothing changes in the cluster.
    pub async fn dry_run(
        &self,
        runtime: &crate::runtimes::RuntimeRecord,
        record: &VersionRecord,
        action: lifecycle::Action,
    ) -> Result<Vec<dry_run::Checked>, RuntimeError> {
        self.inner.dry_run(runtime, record, action).await
    }

    /// The version's pods, for tests and diagnostics.
    pub fn pods(&self) -> &PodStore {
        &self.inner.pods
    }
}
