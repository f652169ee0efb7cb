//! The lifecycle, carried out in the cluster: start, stop, publish and
//! unpublish through the kube client, readiness from a pod watch, logs, and a
//! reconciler that finishes every `starting`/`stopping` version, after a
//! restart too.
//!
//! The database holds the intent (the status a transition wrote before any
//! cluster call). The reconciler drives each in-flight version from the
//! cluster's actual state, with calls that are idempotent (server-side apply,
//! delete by label), so it can be interrupted at any point and resumed.

pub mod logs;
pub mod pods;
pub mod replicas;
pub mod resources;

use std::{
    collections::{HashMap, HashSet},
    fmt,
    future::Future,
    sync::{Arc, Mutex},
    time::Duration,
};

use futures::future::{try_join, try_join_all};
use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::api::{
    apps::v1::{Deployment, ReplicaSet},
    core::v1::{ConfigMap, Namespace, Pod, Service},
    networking::v1::Ingress,
};
use kube::{
    Api, Client, Resource,
    api::{DeleteParams, ListParams, Patch, PatchParams},
};
use lifecycle::{Health, NodeState, NodeStatus, Status, SystemEvent, VersionLive, health_of};
use serde::de::DeserializeOwned;
use tokio::{
    sync::{Notify, broadcast, mpsc},
    task::JoinHandle,
    time::Instant,
};

use crate::{
    cluster::Cluster,
    db::Database,
    versions::{self, VersionError, VersionRecord},
};
use pods::PodStore;
use resources::FIELD_MANAGER;

/// One version, as events and drive tasks name it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VersionKey {
    pub runtime: String,
    pub version: String,
}

impl VersionKey {
    pub fn new(runtime: &str, version: &str) -> Self {
        Self {
            runtime: runtime.to_owned(),
            version: version.to_owned(),
        }
    }
}

impl fmt::Display for VersionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.runtime, self.version)
    }
}

/// Deadlines and grace periods of the runtime.
#[derive(Debug, Clone)]
pub struct Settings {
    /// From `starting`: every node ready by then, or the start fails.
    pub start_deadline: Duration,
    /// From `stopping`: every resource gone by then, or the stop fails.
    pub stop_deadline: Duration,
    /// How long a node may stay in a failure (image pull, crash loop) before
    /// the start is failed: such failures sometimes clear by themselves.
    pub failure_grace: Duration,
    /// Each cluster call's own deadline (retried on server errors).
    pub call_timeout: Duration,
    /// Event streams re-read their version this often even when no change
    /// was heard: a safety net for announcements lost while a replica's
    /// listening connection was down.
    pub stream_refresh: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            start_deadline: Duration::from_secs(300),
            stop_deadline: Duration::from_secs(120),
            failure_grace: Duration::from_secs(15),
            call_timeout: Duration::from_secs(10),
            stream_refresh: Duration::from_secs(5),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("{what}: {detail}")]
    Call {
        what: String,
        detail: String,
        /// The API server's HTTP status, when it answered.
        code: Option<u16>,
    },
    #[error("{what} did not answer within {after:?}")]
    Timeout { what: String, after: Duration },
    #[error(transparent)]
    Version(#[from] VersionError),
}

/// How often the reconciler rescans in-flight versions without a wake-up.
const RESCAN: Duration = Duration::from_secs(1);
/// How often a drive re-evaluates deadlines and grace periods between events.
const TICK: Duration = Duration::from_millis(250);
/// A stop re-issues its deletes this often while something remains.
const REDELETE: Duration = Duration::from_secs(3);
const ATTEMPTS: u32 = 3;

#[derive(Clone)]
pub struct Runtime {
    inner: Arc<Inner>,
}

struct Inner {
    db: Database,
    client: Client,
    settings: Settings,
    pods: PodStore,
    changes: broadcast::Sender<VersionKey>,
    wake: Notify,
    watchers: Mutex<HashMap<String, JoinHandle<()>>>,
    followers: Mutex<HashMap<String, JoinHandle<()>>>,
    log_sink: mpsc::Sender<logs::Received>,
    /// Runtimes whose Ingress has been brought in line with the database
    /// since this process started.
    routed: Mutex<HashSet<String>>,
    /// This replica, in change announcements to the others.
    replica: String,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Every critical section here is a single map operation: a panic cannot
    // leave the map half-changed.
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

impl Runtime {
    /// Starts the reconciler, the pod watchers and the log collector on the
    /// current tokio runtime.
    pub fn spawn(db: Database, cluster: &Cluster, settings: Settings) -> Self {
        let (changes, _) = broadcast::channel(1024);
        let (log_sink, log_lines) = mpsc::channel(4096);
        let inner = Arc::new(Inner {
            db: db.clone(),
            client: cluster.client().clone(),
            settings,
            pods: PodStore::default(),
            changes,
            wake: Notify::new(),
            watchers: Mutex::default(),
            followers: Mutex::default(),
            log_sink,
            routed: Mutex::default(),
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
        tokio::spawn(reconcile_loop(inner.clone()));
        Self { inner }
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
    pub fn acted(&self, key: VersionKey) {
        self.inner.changed(key);
    }

    /// After a publish or unpublish: points the runtime's Ingress at its
    /// published version (or removes it). On failure the version moves to
    /// `error` with the reason.
    pub async fn route(&self, key: VersionKey) {
        let inner = &self.inner;
        let result = tokio::time::timeout(
            inner.settings.call_timeout * ATTEMPTS,
            inner.sync_routing(&key.runtime),
        )
        .await
        .unwrap_or_else(|_| {
            Err(RuntimeError::Timeout {
                what: "updating the runtime's Ingress".into(),
                after: inner.settings.call_timeout * ATTEMPTS,
            })
        });
        match result {
            Ok(()) => {
                lock(&inner.routed).insert(key.runtime.clone());
                inner.changed(key);
            }
            Err(error) => {
                tracing::warn!(%error, version = %key, "routing failed");
                lock(&inner.routed).remove(&key.runtime);
                inner
                    .system(
                        &key,
                        SystemEvent::RoutingFailed,
                        Some(format!("Could not update the runtime's Ingress: {error}")),
                    )
                    .await;
                inner.wake.notify_one();
            }
        }
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

    /// The version's pods, for tests and diagnostics.
    pub fn pods(&self) -> &PodStore {
        &self.inner.pods
    }
}

/// Node states when no cluster can be asked: what the database implies.
pub fn live_without_cluster(record: VersionRecord) -> VersionLive {
    let nodes = pods::version_nodes(&record.manifest, record.status, &[]);
    finish_live(record, nodes, Health::Unknown)
}

fn finish_live(record: VersionRecord, nodes: Vec<NodeState>, health: Health) -> VersionLive {
    VersionLive {
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

fn since_status_change(record: &VersionRecord) -> Duration {
    chrono::DateTime::parse_from_rfc3339(&record.status_changed_at)
        .ok()
        .and_then(|at| (chrono::Utc::now() - at.to_utc()).to_std().ok())
        .unwrap_or_default()
}

fn kube_detail(error: &kube::Error) -> String {
    match error {
        kube::Error::Api(status) => format!("{} ({})", status.message, status.reason),
        other => other.to_string(),
    }
}

fn retryable(error: &kube::Error) -> bool {
    match error {
        kube::Error::Api(status) => status.code >= 500 || status.code == 429 || status.code == 409,
        kube::Error::HyperError(_) | kube::Error::Service(_) => true,
        _ => false,
    }
}

fn is_not_found(error: &kube::Error) -> bool {
    matches!(error, kube::Error::Api(status) if status.code == 404)
}

fn is_forbidden(error: &RuntimeError) -> bool {
    matches!(
        error,
        RuntimeError::Call {
            code: Some(403),
            ..
        }
    )
}

impl Inner {
    /// Tells this replica's subscribers and reconciler.
    fn notify(&self, key: VersionKey) {
        // No subscriber is fine: nobody is watching that version.
        let _ = self.changes.send(key);
        self.wake.notify_one();
    }

    /// A status change in the database: this replica hears of it now, the
    /// others through an announcement.
    fn changed(&self, key: VersionKey) {
        let db = self.db.clone();
        let replica = self.replica.clone();
        let announced = key.clone();
        tokio::spawn(async move { replicas::announce(&db, &replica, &announced).await });
        self.notify(key);
    }

    fn live_of(&self, record: VersionRecord) -> VersionLive {
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
    async fn finish(&self, record: &VersionRecord, event: SystemEvent, message: Option<String>) {
        let took = since_status_change(record);
        let key = VersionKey::new(&record.runtime, &record.name);
        if let Some(to) = self.system(&key, event, message).await {
            crate::metrics::transition_ended(event, to, took);
        }
    }

    /// Applies a system transition and tells subscribers; answers the new
    /// status when it applied. A database failure is logged; the reconciler
    /// retries the drive on its next scan.
    async fn system(
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
                Some(transition.to)
            }
            Ok(None) => None,
            Err(error) => {
                tracing::error!(%error, version = %key, ?event, "system transition not recorded");
                None
            }
        }
    }

    /// One cluster call with its deadline, retried on server errors,
    /// throttling, conflicts and connection failures.
    async fn call<T, F, Fut>(&self, what: &str, call: F) -> Result<T, RuntimeError>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, kube::Error>>,
    {
        let mut attempt = 1;
        loop {
            let error = match tokio::time::timeout(self.settings.call_timeout, call()).await {
                Ok(Ok(value)) => return Ok(value),
                Ok(Err(error)) if attempt < ATTEMPTS && retryable(&error) => kube_detail(&error),
                Ok(Err(error)) => {
                    return Err(RuntimeError::Call {
                        what: what.to_owned(),
                        detail: kube_detail(&error),
                        code: match &error {
                            kube::Error::Api(status) => Some(status.code),
                            _ => None,
                        },
                    });
                }
                Err(_) if attempt < ATTEMPTS => "timed out".to_owned(),
                Err(_) => {
                    return Err(RuntimeError::Timeout {
                        what: what.to_owned(),
                        after: self.settings.call_timeout,
                    });
                }
            };
            tracing::debug!(what, attempt, %error, "cluster call failed; retrying");
            tokio::time::sleep(Duration::from_millis(200) * 2u32.pow(attempt - 1)).await;
            attempt += 1;
        }
    }

    async fn apply<K>(
        &self,
        api: &Api<K>,
        name: &str,
        object: &serde_json::Value,
        what: String,
    ) -> Result<K, RuntimeError>
    where
        K: Clone + DeserializeOwned + fmt::Debug,
    {
        // Force: the console owns these objects; a hand edit is taken back.
        let params = PatchParams::apply(FIELD_MANAGER).force();
        let patch = Patch::Apply(object);
        self.call(&what, || api.patch(name, &params, &patch)).await
    }

    /// Server-side applies every object of a version: the namespace, the
    /// ConfigMap (the owner of the rest), then every Deployment and the
    /// Service at once. Re-running it changes nothing.
    async fn apply_version(&self, record: &VersionRecord) -> Result<(), RuntimeError> {
        let ns = record.runtime.as_str();
        let manifest = &record.manifest;
        let namespaces: Api<Namespace> = Api::all(self.client.clone());
        match self
            .apply(
                &namespaces,
                ns,
                &resources::namespace(ns),
                format!("creating namespace {ns}"),
            )
            .await
        {
            Ok(_) => {}
            // A console allowed only inside existing namespaces.
            Err(error) if is_forbidden(&error) => {
                tracing::debug!(%error, "namespace not applied")
            }
            Err(error) => return Err(error),
        }
        let config_maps: Api<ConfigMap> = Api::namespaced(self.client.clone(), ns);
        let cm_name = resources::config_map_name(&manifest.name);
        let config = self
            .apply(
                &config_maps,
                &cm_name,
                &resources::config_map(ns, manifest),
                format!("applying ConfigMap {cm_name}"),
            )
            .await?;
        let Some(owner_uid) = config.metadata.uid else {
            return Err(RuntimeError::Call {
                what: format!("applying ConfigMap {cm_name}"),
                detail: "the API server returned no uid".into(),
                code: None,
            });
        };
        let deployments: Api<Deployment> = Api::namespaced(self.client.clone(), ns);
        let services: Api<Service> = Api::namespaced(self.client.clone(), ns);
        let nodes = resources::node_specs(manifest);
        let applied_deployments = try_join_all(nodes.iter().map(|node| {
            let name = lifecycle::manifest::resource_name(&manifest.name, node.name);
            let object = resources::deployment(ns, manifest, node, &owner_uid);
            let deployments = &deployments;
            async move {
                self.apply(
                    deployments,
                    &name,
                    &object,
                    format!("applying Deployment {name}"),
                )
                .await
            }
        }));
        let service_name = resources::service_name(&manifest.name);
        let service = resources::service(ns, manifest, &owner_uid);
        let applied_service = self.apply(
            &services,
            &service_name,
            &service,
            format!("applying Service {service_name}"),
        );
        try_join(applied_deployments, applied_service).await?;
        Ok(())
    }

    /// Deletes everything of a version by label (idempotent).
    async fn delete_version(&self, record: &VersionRecord) -> Result<(), RuntimeError> {
        let ns = record.runtime.as_str();
        let list = ListParams::default().labels(&resources::version_selector(ns, &record.name));
        futures::try_join!(
            self.delete_labelled::<Deployment>(ns, &list, "Deployments"),
            self.delete_labelled::<ReplicaSet>(ns, &list, "ReplicaSets"),
            self.delete_labelled::<Pod>(ns, &list, "Pods"),
            self.delete_labelled::<Service>(ns, &list, "Services"),
            self.delete_labelled::<ConfigMap>(ns, &list, "ConfigMaps"),
            self.delete_labelled::<Ingress>(ns, &list, "Ingress"),
        )?;
        Ok(())
    }

    async fn delete_labelled<K>(
        &self,
        ns: &str,
        list: &ListParams,
        what: &str,
    ) -> Result<(), RuntimeError>
    where
        K: Resource<Scope = NamespaceResourceScope> + Clone + DeserializeOwned + fmt::Debug,
        K::DynamicType: Default,
    {
        let api: Api<K> = Api::namespaced(self.client.clone(), ns);
        let params = DeleteParams::background();
        self.call(&format!("deleting the version's {what}"), || async {
            api.delete_collection(&params, list).await.map(drop)
        })
        .await
    }

    /// What of a version is still in the cluster, as "2 Pods, 1 Service";
    /// empty when nothing is.
    async fn remaining(&self, record: &VersionRecord) -> Result<String, RuntimeError> {
        let ns = record.runtime.as_str();
        let pods = self.pods.version_pods(ns, &record.name).len();
        if pods > 0 {
            return Ok(format!("{pods} Pods"));
        }
        let list = ListParams::default().labels(&resources::version_selector(ns, &record.name));
        let counts = futures::try_join!(
            self.count_labelled::<Pod>(ns, &list, "Pods"),
            self.count_labelled::<Deployment>(ns, &list, "Deployments"),
            self.count_labelled::<ReplicaSet>(ns, &list, "ReplicaSets"),
            self.count_labelled::<Service>(ns, &list, "Services"),
            self.count_labelled::<ConfigMap>(ns, &list, "ConfigMaps"),
        )?;
        let counts = [counts.0, counts.1, counts.2, counts.3, counts.4];
        Ok(counts
            .into_iter()
            .filter(|(n, _)| *n > 0)
            .map(|(n, what)| format!("{n} {what}"))
            .collect::<Vec<_>>()
            .join(", "))
    }

    async fn count_labelled<'w, K>(
        &self,
        ns: &str,
        list: &ListParams,
        what: &'w str,
    ) -> Result<(usize, &'w str), RuntimeError>
    where
        K: Resource<Scope = NamespaceResourceScope> + Clone + DeserializeOwned + fmt::Debug,
        K::DynamicType: Default,
    {
        let api: Api<K> = Api::namespaced(self.client.clone(), ns);
        let found = self
            .call(&format!("listing the version's {what}"), || api.list(list))
            .await?;
        Ok((found.items.len(), what))
    }

    /// Points the runtime's Ingress at its published version, or deletes it
    /// when none is published.
    async fn sync_routing(&self, runtime: &str) -> Result<(), RuntimeError> {
        let published = versions::published(&self.db)
            .await?
            .into_iter()
            .find(|v| v.runtime == runtime);
        let api: Api<Ingress> = Api::namespaced(self.client.clone(), runtime);
        let name = resources::ingress_name(runtime);
        match published {
            Some(version) => {
                let base_domain = versions::runtimes(&self.db)
                    .await?
                    .into_iter()
                    .find(|r| r.name == runtime)
                    .map(|r| r.base_domain)
                    .unwrap_or_default();
                let object = resources::ingress(runtime, &base_domain, &version.name);
                self.apply(&api, &name, &object, format!("applying Ingress {name}"))
                    .await?;
            }
            None => {
                self.call(&format!("deleting Ingress {name}"), || async {
                    match api.delete(&name, &DeleteParams::default()).await {
                        Ok(_) => Ok(()),
                        Err(error) if is_not_found(&error) => Ok(()),
                        Err(error) => Err(error),
                    }
                })
                .await?;
            }
        }
        Ok(())
    }

    fn ensure_watcher(self: &Arc<Self>, namespace: &str) {
        let mut watchers = lock(&self.watchers);
        if watchers.get(namespace).is_some_and(|w| !w.is_finished()) {
            return;
        }
        let inner = Arc::downgrade(self);
        let task = pods::watch_namespace(
            self.client.clone(),
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

    /// Follows the logs of every running pod not followed yet.
    fn ensure_followers(&self, namespaces: &[String]) {
        let running: HashMap<String, (String, pods::PodSummary)> = namespaces
            .iter()
            .flat_map(|ns| {
                self.pods
                    .running_pods(ns)
                    .into_iter()
                    .map(move |pod| (format!("{ns}/{}", pod.name), (ns.clone(), pod)))
            })
            .collect();
        let mut followers = lock(&self.followers);
        // A pod that stopped running or is gone: its stream may never end by
        // itself (a hung connection), so end it here.
        followers.retain(|id, task| {
            let keep = !task.is_finished() && running.contains_key(id);
            if !keep {
                task.abort();
            }
            keep
        });
        for (id, (ns, pod)) in running {
            if followers.contains_key(&id) {
                continue;
            }
            let task = logs::follow(
                self.client.clone(),
                self.db.clone(),
                ns,
                pod,
                self.log_sink.clone(),
            );
            followers.insert(id, tokio::spawn(task));
        }
    }

    /// Another replica leads: this one drives nothing, follows no logs and
    /// leaves Ingresses alone, but keeps watching pods so its pages and
    /// streams show live nodes.
    async fn follow_the_leader(
        self: &Arc<Self>,
        drives: &mut HashMap<VersionKey, (String, JoinHandle<()>)>,
    ) -> Result<(), RuntimeError> {
        for (_, (_, task)) in drives.drain() {
            task.abort();
        }
        for (_, task) in lock(&self.followers).drain() {
            task.abort();
        }
        // Whoever leads next brings the Ingresses in line again.
        lock(&self.routed).clear();
        for runtime in versions::runtimes(&self.db).await? {
            self.ensure_watcher(&runtime.name);
        }
        Ok(())
    }

    async fn reconcile_once(
        self: &Arc<Self>,
        drives: &mut HashMap<VersionKey, (String, JoinHandle<()>)>,
    ) -> Result<(), RuntimeError> {
        let runtimes: Vec<String> = versions::runtimes(&self.db)
            .await?
            .into_iter()
            .map(|r| r.name)
            .collect();
        for runtime in &runtimes {
            self.ensure_watcher(runtime);
            if !lock(&self.routed).contains(runtime) {
                let inner = self.clone();
                let runtime = runtime.clone();
                lock(&self.routed).insert(runtime.clone());
                tokio::spawn(async move {
                    if let Err(error) = inner.sync_routing(&runtime).await {
                        tracing::warn!(%error, %runtime, "could not bring the Ingress in line; will retry");
                        lock(&inner.routed).remove(&runtime);
                    }
                });
            }
        }
        self.ensure_followers(&runtimes);
        let in_flight = versions::in_flight(&self.db).await?;
        let mut current = HashSet::new();
        for record in in_flight {
            let key = VersionKey::new(&record.runtime, &record.name);
            let epoch = format!("{}@{}", record.status, record.status_changed_at);
            current.insert(key.clone());
            if let Some((running_epoch, task)) = drives.get(&key)
                && *running_epoch == epoch
                && !task.is_finished()
            {
                continue;
            }
            if let Some((_, stale)) = drives.remove(&key) {
                stale.abort();
            }
            let task = match record.status {
                Status::Starting => tokio::spawn(drive_start(self.clone(), record)),
                _ => tokio::spawn(drive_stop(self.clone(), record)),
            };
            drives.insert(key, (epoch, task));
        }
        drives.retain(|key, (_, task)| {
            let keep = current.contains(key);
            if !keep {
                task.abort();
            }
            keep
        });
        Ok(())
    }
}

/// Waits until `key` changes, or changes were missed (the caller re-reads
/// either way), for at most `limit`.
pub async fn changed_within(
    changes: &mut broadcast::Receiver<VersionKey>,
    key: &VersionKey,
    limit: Duration,
) {
    let _ = tokio::time::timeout(limit, async {
        loop {
            match changes.recv().await {
                Ok(changed) if changed == *key => return,
                Ok(_) => continue,
                Err(broadcast::error::RecvError::Lagged(_)) => return,
                Err(broadcast::error::RecvError::Closed) => std::future::pending().await,
            }
        }
    })
    .await;
}

async fn reconcile_loop(inner: Arc<Inner>) {
    let mut drives = HashMap::new();
    let mut leadership = replicas::Leadership::new(inner.db.clone());
    loop {
        let leading = leadership.check().await;
        crate::metrics::set_leader(leading);
        let result = if leading {
            inner.reconcile_once(&mut drives).await
        } else {
            inner.follow_the_leader(&mut drives).await
        };
        if let Err(error) = result {
            tracing::warn!(%error, "reconcile pass failed; retrying");
        }
        tokio::select! {
            _ = inner.wake.notified() => {}
            _ = tokio::time::sleep(RESCAN) => {}
        }
    }
}

#[tracing::instrument(skip_all, fields(version = %format!("{}/{}", record.runtime, record.name)))]
async fn drive_start(inner: Arc<Inner>, record: VersionRecord) {
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
    loop {
        if let Some(nodes) = inner
            .pods
            .nodes(&record.runtime, &record.manifest, Status::Starting)
        {
            if nodes.iter().all(|n| n.status == NodeStatus::Ready) {
                return inner.finish(&record, SystemEvent::AllReady, None).await;
            }
            let grace = inner.settings.failure_grace;
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
                    .map(|n| format!("{} ({}/{} ready)", n.name, n.ready, n.desired))
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
async fn drive_stop(inner: Arc<Inner>, record: VersionRecord) {
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
