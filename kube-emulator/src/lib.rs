//! A Kubernetes API emulator: a real HTTP server speaking the Kubernetes REST
//! API for the resources the console uses, with resourceVersions, watches,
//! server-side apply, selectors, status subresources, garbage collection and
//! simulated Deployment → ReplicaSet → Pod controllers. Tests start it
//! in-process with [`start`]; `make run` uses the binary as its default
//! cluster.

pub mod api;
pub mod controllers;
pub mod errors;
pub mod events_v1;
pub mod health;
pub mod logs;
pub mod merge;
pub mod openapi;
pub mod quantity;
pub mod resources;
pub mod selector;
pub mod store;
pub mod table;

use std::{
    net::SocketAddr,
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicU32, AtomicU64, Ordering},
    },
    time::Duration,
};

use axum::{
    Json, Router,
    extract::{Request, State},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde::Deserialize;
use tokio::sync::{Notify, watch};

use crate::{errors::ApiError, store::Store};
pub use resources::ResourceType;

#[derive(Debug, Clone)]
pub struct Config {
    /// How long a scheduled pod takes to become Ready.
    pub ready_after: Duration,
    /// Changes kept for watches to resume from; older ones answer 410.
    pub history: usize,
    pub bookmark_interval: Duration,
    pub log_interval: Duration,
    /// How often a crash-looping container restarts.
    pub crash_interval: Duration,
    /// The one node pods are scheduled to.
    pub node: NodeConfig,
}

/// The emulated node: what it offers pods, and its labels for
/// `nodeSelector`. A pod whose requests do not fit in what the bound pods
/// leave, or whose selector names a label the node lacks, stays Pending
/// as `Unschedulable`.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// Allocatable CPU in millicores.
    pub cpu_milli: i128,
    /// Allocatable memory in thousandths of a byte (see [`quantity::milli`]).
    pub memory_milli: i128,
    pub pods: usize,
    pub labels: Vec<(String, String)>,
}

impl Default for NodeConfig {
    fn default() -> Self {
        let node = controllers::NODE;
        Self {
            cpu_milli: 8_000,
            memory_milli: 32 * (1 << 30) * 1000,
            pods: 110,
            labels: [
                ("kubernetes.io/hostname", node),
                ("kubernetes.io/os", "linux"),
                ("kubernetes.io/arch", "amd64"),
                ("beta.kubernetes.io/os", "linux"),
                ("beta.kubernetes.io/arch", "amd64"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            ready_after: Duration::from_millis(1500),
            history: 10_000,
            bookmark_interval: Duration::from_secs(5),
            log_interval: Duration::from_secs(2),
            crash_interval: Duration::from_secs(5),
            node: NodeConfig::default(),
        }
    }
}

/// Faults tests switch on through `POST /emulator/faults`.
#[derive(Debug, Default)]
pub struct Faults {
    latency_ms: AtomicU64,
    /// The next N API requests answer 500.
    fail_next: AtomicU32,
    /// Writes to these resources (by plural) answer 500 until cleared.
    fail_writes_to: std::sync::Mutex<Vec<String>>,
    drops: std::sync::OnceLock<watch::Sender<u64>>,
}

impl Faults {
    /// Whether a write to `path` is one the tests made fail.
    fn fails_writes_to(&self, path: &str) -> bool {
        let plurals = self
            .fail_writes_to
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        !plurals.is_empty()
            && path
                .split('/')
                .any(|segment| plurals.iter().any(|p| p == segment))
    }

    fn drop_sender(&self) -> &watch::Sender<u64> {
        self.drops.get_or_init(|| watch::channel(0).0)
    }

    /// Resolves (changes) when watches are to be dropped.
    pub fn watch_drops(&self) -> watch::Receiver<u64> {
        let mut receiver = self.drop_sender().subscribe();
        receiver.mark_unchanged();
        receiver
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultRequest {
    #[serde(default)]
    latency_ms: Option<u64>,
    #[serde(default)]
    fail_requests: Option<u32>,
    #[serde(default)]
    drop_watches: bool,
    /// Plurals (`ingresses`) whose writes fail from now on; `[]` clears.
    #[serde(default)]
    fail_writes_to: Option<Vec<String>>,
}

pub struct Emulator {
    pub store: Arc<Store>,
    pub config: Config,
    pub faults: Faults,
    kicks: Notify,
    /// API requests answered (faults included), for benchmarks that count
    /// what a client asks of the cluster.
    requests: AtomicU64,
    /// Watches refused or ended with 410 Expired: clients had to relist.
    expired_watches: AtomicU64,
    /// Watches opened (and served from a version still in the history).
    watches_started: AtomicU64,
    /// Every distinct (verb, resource) clients asked for, to derive and
    /// check the RBAC a client needs.
    accesses: std::sync::Mutex<std::collections::BTreeSet<api::Access>>,
    /// When the controllers first saw each pod (by uid), for its age.
    pub(crate) pods_born:
        std::sync::Mutex<std::collections::HashMap<String, chrono::DateTime<chrono::Utc>>>,
    /// ReplicaSets (by uid) whose last pod create was refused, and until
    /// when they wait before trying again.
    pub(crate) create_backoff:
        std::sync::Mutex<std::collections::HashMap<String, std::time::Instant>>,
}

impl Emulator {
    pub fn new(config: Config) -> Arc<Self> {
        let store = Store::new(config.history);
        if let Err(error) =
            store.create(resources::NODES, "", controllers::node_object(&config.node))
        {
            tracing::error!(%error, "the node object could not be created");
        }
        Arc::new(Self {
            store: Arc::new(store),
            config,
            faults: Faults::default(),
            kicks: Notify::new(),
            requests: AtomicU64::new(0),
            expired_watches: AtomicU64::new(0),
            watches_started: AtomicU64::new(0),
            accesses: Default::default(),
            pods_born: Default::default(),
            create_backoff: Default::default(),
        })
    }

    /// Wakes the controllers after a write.
    pub fn kick(&self) {
        self.kicks.notify_one();
    }

    /// API requests received so far (watch requests count once).
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::SeqCst)
    }

    /// Watches answered 410 Expired so far (too old a version to resume
    /// from, or fallen behind).
    pub fn expired_watches(&self) -> u64 {
        self.expired_watches.load(Ordering::SeqCst)
    }

    /// Watches opened so far, for tests that act once a client watches.
    pub fn watches_started(&self) -> u64 {
        self.watches_started.load(Ordering::SeqCst)
    }

    pub(crate) fn count_started_watch(&self) {
        self.watches_started.fetch_add(1, Ordering::SeqCst);
    }

    pub(crate) fn count_expired_watch(&self) {
        self.expired_watches.fetch_add(1, Ordering::SeqCst);
    }

    pub(crate) fn record(&self, access: api::Access) {
        // A set insert: nothing can be left half-done by a panic elsewhere.
        let mut accesses = self.accesses.lock().unwrap_or_else(|p| p.into_inner());
        accesses.insert(access);
    }

    /// The distinct kinds of request answered so far, sorted.
    pub fn accesses(&self) -> Vec<api::Access> {
        let accesses = self.accesses.lock().unwrap_or_else(|p| p.into_inner());
        accesses.iter().cloned().collect()
    }
}

async fn stats(State(emulator): State<Arc<Emulator>>) -> Response {
    Json(serde_json::json!({ "requests": emulator.requests() })).into_response()
}

async fn faults(
    State(emulator): State<Arc<Emulator>>,
    Json(request): Json<FaultRequest>,
) -> Response {
    if let Some(ms) = request.latency_ms {
        emulator.faults.latency_ms.store(ms, Ordering::SeqCst);
    }
    if let Some(n) = request.fail_requests {
        emulator.faults.fail_next.store(n, Ordering::SeqCst);
    }
    if request.drop_watches {
        emulator.faults.drop_sender().send_modify(|n| *n += 1);
    }
    if let Some(plurals) = request.fail_writes_to {
        *emulator
            .faults
            .fail_writes_to
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = plurals;
    }
    axum::http::StatusCode::NO_CONTENT.into_response()
}

async fn inject(State(emulator): State<Arc<Emulator>>, request: Request, next: Next) -> Response {
    if request.uri().path().starts_with("/emulator/") {
        return next.run(request).await;
    }
    emulator.requests.fetch_add(1, Ordering::SeqCst);
    let latency = emulator.faults.latency_ms.load(Ordering::SeqCst);
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
    let failing = emulator
        .faults
        .fail_next
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    if failing {
        return ApiError::internal("injected fault").into_response();
    }
    let write = request.method() != axum::http::Method::GET;
    if write && emulator.faults.fails_writes_to(request.uri().path()) {
        return ApiError::internal("injected fault: writes to this resource fail").into_response();
    }
    let response = next.run(request).await;
    if write {
        emulator.kick();
    }
    response
}

pub fn router(emulator: Arc<Emulator>) -> Router {
    Router::new()
        .route("/emulator/faults", post(faults))
        .route("/emulator/stats", axum::routing::get(stats))
        .route("/openapi/v2", get(openapi::v2))
        .route("/openapi/v3", get(openapi::v3_root))
        .route("/openapi/v3/{*group_version}", get(openapi::v3))
        .route("/livez", get(health::livez))
        .route("/readyz", get(health::readyz))
        .route("/healthz", get(health::healthz))
        .route("/livez/{*check}", get(health::livez_check))
        .route("/readyz/{*check}", get(health::readyz_check))
        .route("/healthz/{*check}", get(health::healthz_check))
        .fallback(api::dispatch)
        .layer(middleware::from_fn_with_state(emulator.clone(), inject))
        .with_state(emulator)
}

/// A running emulator; stops when dropped.
pub struct Running {
    pub addr: SocketAddr,
    pub emulator: Arc<Emulator>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Running {
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A kubeconfig for this emulator.
    pub fn kubeconfig(&self) -> String {
        kubeconfig(&self.url())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Starts the emulator on `addr` (port 0 picks a free one) with its
/// controllers, on the current tokio runtime.
pub async fn start(addr: SocketAddr, config: Config) -> std::io::Result<Running> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let emulator = Emulator::new(config);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let controllers = tokio::spawn(controllers::run(emulator.clone()));
    let app = router(emulator.clone());
    // Small request/response pairs: Nagle's algorithm would add delayed-ACK
    // stalls of tens of milliseconds under concurrent clients.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        if let Err(error) = tcp.set_nodelay(true) {
            tracing::debug!(%error, "TCP_NODELAY not set");
        }
    });
    tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await;
        controllers.abort();
        if let Err(error) = served {
            tracing::error!(%error, "emulator server stopped");
        }
    });
    Ok(Running {
        addr,
        emulator,
        stop: Some(stop),
    })
}

pub fn kubeconfig(url: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: emulator\n  cluster:\n    server: {url}\ncontexts:\n- name: emulator\n  context:\n    cluster: emulator\n    user: emulator\n    namespace: default\ncurrent-context: emulator\nusers:\n- name: emulator\n  user: {{}}\n"
    )
}

pub fn write_kubeconfig(path: &Path, url: &str) -> std::io::Result<()> {
    std::fs::write(path, kubeconfig(url))
}
