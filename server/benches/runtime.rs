//! The runtime against the emulator: time from `start` to `started` and the
//! API requests issued, for versions of 1, 10 and 100 processes with 0 and
//! 20 ms injected latency; and how long a cluster change takes to reach a
//! browser subscribed to the live stream; publish to serving (the Ingress
//! switched) with 0 and 20 ms latency, and how long the leader takes to put
//! back an Ingress deleted behind its back. Writes `bench/runtime.md` (or
//! `$BENCH_REPORT`).

use std::{
    fmt::Write as _,
    net::SocketAddr,
    time::{Duration, Instant},
};

use backend::{
    Cluster, ClusterMode, Database, Services, audit::Actor, auth::Sessions, runtime::Settings,
    versions,
};
use k8s_openapi::api::core::v1::Pod;
use kube::{
    Api,
    api::{DeleteParams, ListParams},
};
use lifecycle::{Action, Manifest, Reason, Status, VersionLive, manifest};
use server::{
    startup::{leptos_options, router},
    state::{AppState, SessionSettings},
};

use testkit::http as wire;

const RUNS: usize = 3;
const LIVE_SAMPLES: usize = 30;
const DEADLINE: Duration = Duration::from_secs(120);

fn manifest_with(name: &str, processes: usize) -> Manifest {
    Manifest {
        name: name.into(),
        description: String::new(),
        entrypoint: manifest::Entrypoint {
            image: "registry.example.com/gw:1".into(),
            port: 8080,
            readiness: None,
            ..Default::default()
        },
        processes: (0..processes)
            .map(|i| manifest::Process {
                name: format!("p{i}"),
                image: "registry.example.com/worker:1".into(),
                replicas: 1,
                env: Default::default(),
                inputs: vec!["entrypoint".into()],
                readiness: None,
                ..Default::default()
            })
            .collect(),
        config: Default::default(),
        variables: Vec::new(),
    }
}

struct Bed {
    emulator: kube_emulator::Running,
    services: Services,
    cluster: Cluster,
    _dir: tempfile::TempDir,
}

async fn bed() -> Bed {
    let emulator = kube_emulator::start(
        "127.0.0.1:0".parse().expect("addr"),
        kube_emulator::Config {
            ready_after: Duration::from_millis(100),
            log_interval: Duration::from_secs(60),
            ..kube_emulator::Config::default()
        },
    )
    .await
    .expect("emulator");
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Database::connect(&format!("sqlite://{}/console.db", dir.path().display()))
        .await
        .expect("db");
    db.migrate().await.expect("migrate");
    backend::demo::seed(&db, backend::demo::DEFAULT_PASSWORD)
        .await
        .expect("seed");
    let config = kube::Config::new(emulator.url().parse().expect("url"));
    let cluster = Cluster::from_config(config, ClusterMode::Kubeconfig).expect("client");
    let services = Services::with_runtime(db, Some(cluster.clone()), Settings::default());
    Bed {
        emulator,
        services,
        cluster,
        _dir: dir,
    }
}

async fn act(services: &Services, version: &str, action: Action, expected: Status) {
    services
        .act(
            &Actor::System,
            "demo",
            version,
            action,
            expected,
            &Reason::parse("benchmark").expect("reason"),
        )
        .await
        .expect("accepted");
}

async fn settle(services: &Services, version: &str) -> Status {
    let wait = async {
        loop {
            let status = versions::get(&services.db, "demo", version)
                .await
                .expect("version")
                .status;
            if !status.is_in_flight() {
                return status;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::time::timeout(DEADLINE, wait).await.expect("settles")
}

async fn faults(emulator: &kube_emulator::Running, body: serde_json::Value) {
    reqwest::Client::new()
        .post(format!("{}/emulator/faults", emulator.url()))
        .json(&body)
        .send()
        .await
        .expect("faults");
}

/// (median seconds to started, median requests) over RUNS fresh versions.
async fn start_to_started(bed: &Bed, processes: usize, latency_ms: u64) -> (f64, u64) {
    let mut times = Vec::new();
    let mut requests = Vec::new();
    for run in 0..RUNS {
        let name = format!("p{processes}-l{latency_ms}-r{run}");
        versions::register(
            &bed.services.db,
            &Actor::System,
            "demo",
            &manifest_with(&name, processes),
        )
        .await
        .expect("register");
        faults(&bed.emulator, serde_json::json!({"latency_ms": latency_ms})).await;
        let before = bed.emulator.emulator.requests();
        let started = Instant::now();
        act(&bed.services, &name, Action::Start, Status::Stopped).await;
        assert_eq!(settle(&bed.services, &name).await, Status::Started);
        times.push(started.elapsed().as_secs_f64());
        // The faults call itself is not the console's.
        requests.push(bed.emulator.emulator.requests() - before);
        faults(&bed.emulator, serde_json::json!({"latency_ms": 0})).await;
        act(&bed.services, &name, Action::Stop, Status::Started).await;
        assert_eq!(settle(&bed.services, &name).await, Status::Stopped);
    }
    times.sort_by(f64::total_cmp);
    requests.sort_unstable();
    (times[RUNS / 2], requests[RUNS / 2])
}

/// Reads SSE `version` events until one satisfies `done`.
async fn next_event(
    response: &mut reqwest::Response,
    buffer: &mut String,
    done: impl Fn(&VersionLive) -> bool,
) -> VersionLive {
    loop {
        while let Some(live) = wire::next_version_event(buffer) {
            if done(&live) {
                return live;
            }
        }
        let chunk = tokio::time::timeout(DEADLINE, response.chunk())
            .await
            .expect("event in time")
            .expect("stream reads")
            .expect("stream open");
        buffer.push_str(&String::from_utf8_lossy(&chunk));
    }
}

/// Milliseconds from deleting a ready pod to the browser's stream showing
/// its node short of a replica.
async fn live_latency(bed: &Bed) -> Vec<f64> {
    let dir = tempfile::tempdir().expect("tempdir");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let state = AppState::with_session_store(
        leptos_options(dir.path(), addr),
        bed.services.clone(),
        SessionSettings::default(),
        0,
        Sessions::new(&bed.services.db).await.expect("sessions"),
    );
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let base = format!("http://{addr}");

    act(&bed.services, "v1", Action::Start, Status::Stopped).await;
    assert_eq!(settle(&bed.services, "v1").await, Status::Started);
    let http = reqwest::Client::new();
    let cookie = wire::sign_in(
        &http,
        &base,
        "viewer@example.com",
        backend::demo::DEFAULT_PASSWORD,
    )
    .await;
    let mut stream = http
        .get(format!("{base}/api/live/runtimes/demo/versions/v1"))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("stream");
    let mut buffer = String::new();
    let all_ready = |l: &VersionLive| l.nodes.iter().all(|n| n.ready == n.desired);
    next_event(&mut stream, &mut buffer, all_ready).await;
    let pods: Api<Pod> = Api::namespaced(bed.cluster.client().clone(), "demo");
    let mut samples = Vec::new();
    for _ in 0..LIVE_SAMPLES {
        let victim = pods
            .list(
                &ListParams::default()
                    .labels("runtime-console.io/version=v1,runtime-console.io/node=score"),
            )
            .await
            .expect("pods")
            .items
            .into_iter()
            .find(|p| p.metadata.deletion_timestamp.is_none())
            .and_then(|p| p.metadata.name)
            .expect("a score pod");
        let sent = Instant::now();
        pods.delete(&victim, &DeleteParams::default())
            .await
            .expect("deleted");
        next_event(&mut stream, &mut buffer, |l| {
            l.nodes
                .iter()
                .any(|n| n.name == "score" && n.ready < n.desired)
        })
        .await;
        samples.push(sent.elapsed().as_secs_f64() * 1000.0);
        // The Deployment replaces it; wait until whole again.
        next_event(&mut stream, &mut buffer, all_ready).await;
    }
    samples.sort_by(f64::total_cmp);
    samples
}

const SWITCHES: usize = 30;

/// How long from an accepted publish until the version serves, over
/// `SWITCHES` publishes alternating between v1 and v2.
async fn publish_to_serving(bed: &Bed, latency_ms: u64) -> Vec<f64> {
    for v in ["v1", "v2"] {
        act(&bed.services, v, Action::Start, Status::Stopped).await;
        assert_eq!(settle(&bed.services, v).await, Status::Started);
    }
    faults(&bed.emulator, serde_json::json!({"latency_ms": latency_ms})).await;
    let mut samples = Vec::new();
    for i in 0..SWITCHES {
        let version = if i % 2 == 0 { "v1" } else { "v2" };
        let sent = Instant::now();
        act(&bed.services, version, Action::Publish, Status::Started).await;
        until(|| async {
            versions::get(&bed.services.db, "demo", version)
                .await
                .is_ok_and(|v| v.routing() == Some(lifecycle::Routing::Serving))
        })
        .await;
        samples.push(sent.elapsed().as_secs_f64() * 1000.0);
    }
    faults(&bed.emulator, serde_json::json!({"latency_ms": 0})).await;
    samples.sort_by(f64::total_cmp);
    samples
}

/// How long from `kubectl delete ingress` until the leader has put it back.
async fn drift_correction(bed: &Bed) -> Vec<f64> {
    let ingresses: Api<k8s_openapi::api::networking::v1::Ingress> =
        Api::namespaced(bed.cluster.client().clone(), "demo");
    let mut samples = Vec::new();
    for _ in 0..10 {
        until(|| async { ingresses.get_opt("demo").await.ok().flatten().is_some() }).await;
        let sent = Instant::now();
        ingresses
            .delete("demo", &DeleteParams::default())
            .await
            .expect("deleted");
        until(|| async {
            ingresses
                .get_opt("demo")
                .await
                .ok()
                .flatten()
                .is_some_and(|i| i.metadata.deletion_timestamp.is_none())
        })
        .await;
        samples.push(sent.elapsed().as_secs_f64() * 1000.0);
    }
    samples.sort_by(f64::total_cmp);
    samples
}

async fn until<F, Fut>(check: F)
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    testkit::eventually("the bench's condition", DEADLINE, check).await
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio");
    let mut report = String::new();
    let now = chrono::Utc::now().format("%Y-%m-%d %H:%M UTC");
    let _ = writeln!(
        report,
        "# Runtime: start to started, requests, live latency\n\nGenerated by `make bench` \
         (`cargo bench -p server --bench runtime`) on {now}; 2 cores, release build, the \
         emulator in-process over loopback HTTP (pods Ready 100 ms after scheduling), SQLite.\n"
    );
    runtime.block_on(async {
        let _ = writeln!(
            report,
            "## Start to started\n\nMedian of {RUNS} starts of a fresh version (1 replica per \
             process), measured from the transition to `starting` until the reconciler records \
             `started`. Requests: every API request the emulator received meanwhile (applies, \
             watch (re)connections, log streams, stop-checks).\n\n\
             Expected per start: the Namespace, the ConfigMap, one Deployment per node \
             (processes + entrypoint) and the Service (applies), plus one log stream per pod \
             that is running by then: about 2 per process plus a constant, so the last column \
             (requests added per process over the 1-process version) stays flat.\n\n\
             | processes | latency | start to started | API requests | added per process |\n|---:|---:|---:|---:|---:|"
        );
        for latency in [0, 20] {
            let bed = bed().await;
            let mut base = 0;
            for processes in [1, 10, 100] {
                let (seconds, requests) = start_to_started(&bed, processes, latency).await;
                eprintln!("{processes} processes, {latency} ms: {seconds:.2} s, {requests} requests");
                let added = if processes == 1 {
                    base = requests;
                    "—".to_owned()
                } else {
                    format!(
                        "{:.2}",
                        (requests as f64 - base as f64) / (processes - 1) as f64
                    )
                };
                let _ = writeln!(
                    report,
                    "| {processes} | {latency} ms | {seconds:.2} s | {requests} | {added} |"
                );
            }
        }
        let bed = bed().await;
        let samples = live_latency(&bed).await;
        let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
        let _ = writeln!(
            report,
            "\n## Cluster change to browser\n\nA ready pod of `v1`'s `score` node is deleted; \
             measured until the SSE stream a signed-in browser holds (`/api/live/...`) delivers \
             the event showing `score` short of a replica ({LIVE_SAMPLES} samples, no injected \
             latency).\n\n| median | p95 | max |\n|---:|---:|---:|\n| {:.1} ms | {:.1} ms | {:.1} ms |",
            at(0.5),
            at(0.95),
            samples[samples.len() - 1]
        );
        let _ = writeln!(
            report,
            "\n## Publish to serving\n\n{SWITCHES} publishes alternating between two started \
             versions; measured from the accepted action (the answer returns once the intent \
             is durable) until the database records that the runtime's Ingress points at the \
             new version (`routing: serving`), which the leader's level-triggered routing does \
             on its next pass (woken by the action).\n\n| injected latency | median | p95 | max |\n|---:|---:|---:|---:|"
        );
        let mut drift = Vec::new();
        for latency in [0, 20] {
            let fresh = self::bed().await;
            let samples = publish_to_serving(&fresh, latency).await;
            let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
            let _ = writeln!(
                report,
                "| {latency} ms | {:.1} ms | {:.1} ms | {:.1} ms |",
                at(0.5),
                at(0.95),
                samples[samples.len() - 1]
            );
            if latency == 0 {
                drift = drift_correction(&fresh).await;
            }
        }
        let at = |q: f64| drift[((drift.len() - 1) as f64 * q).round() as usize];
        let _ = writeln!(
            report,
            "\n## Drift correction\n\nThe runtime's Ingress deleted behind the console's back \
             (10 samples, no injected latency); measured until the leader has applied it again. \
             The leader looks at least once a second.\n\n| median | p95 | max |\n|---:|---:|---:|\n| {:.1} ms | {:.1} ms | {:.1} ms |",
            at(0.5),
            at(0.95),
            drift[drift.len() - 1]
        );
    });
    let path = std::env::var("BENCH_REPORT")
        .unwrap_or_else(|_| format!("{}/../bench/runtime.md", env!("CARGO_MANIFEST_DIR")));
    std::fs::write(&path, &report).expect("report written");
    println!("{report}\nwritten to {path}");
}
