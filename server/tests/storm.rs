//! A concurrency storm: 50 clients fire random lifecycle actions, with
//! reasons, at 10 versions in two runtimes for a minute (`STORM_SECONDS`),
//! against the Kubernetes emulator. Many actions race for the same version;
//! many carry a stale `expected` status. Afterwards: the audit chain
//! verifies, every answered action has exactly one entry (found by its
//! unique reason), nothing is stuck in `starting`/`stopping`, at most one
//! version per runtime is published, and the cluster holds exactly what each
//! version's status says.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::http::StatusCode;
use backend::{
    Cluster, ClusterMode, Database, audit::Actor, manifest_file, runtime::resources, versions,
};
use k8s_openapi::api::{apps::v1::Deployment, core::v1::Pod, networking::v1::Ingress};
use kube::{Api, api::ListParams};
use lifecycle::Status;
use tokio::time::Instant;

mod common;
use common::{Options, TestApp, call, form};
use testkit::Rng;

const CLIENTS: usize = 50;
const SESSIONS: usize = 5;
const RUNTIMES: [&str; 2] = ["storm-a", "storm-b"];
const VERSIONS_PER_RUNTIME: usize = 5;
const SETTLE: Duration = Duration::from_secs(90);
const ACTIONS: [&str; 4] = ["start", "stop", "publish", "unpublish"];

fn storm_seconds() -> u64 {
    std::env::var("STORM_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60)
}

fn version_names() -> Vec<(&'static str, String)> {
    RUNTIMES
        .iter()
        .flat_map(|rt| (1..=VERSIONS_PER_RUNTIME).map(move |i| (*rt, format!("s{i}"))))
        .collect()
}

#[derive(Debug, Default)]
struct Tally {
    /// reason → (answer, version) of every action sent.
    answers: HashMap<String, (StatusCode, String)>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_clients_for_a_minute_leave_a_consistent_console_and_cluster() {
    let emulator = testkit::emulator(Duration::from_millis(200)).await;
    let config = kube::Config::new(emulator.url().parse().expect("url"));
    let cluster = Cluster::from_config(config, ClusterMode::Kubeconfig).expect("client");
    let client = cluster.client().clone();
    let app = Arc::new(
        TestApp::with(Options {
            cluster: Some(cluster),
            runtime: Some(backend::runtime::Settings {
                start_deadline: Duration::from_secs(30),
                stop_deadline: Duration::from_secs(30),
                ..backend::runtime::Settings::default()
            }),
            ..Options::default()
        })
        .await,
    );
    let template = include_str!("../../examples/manifests/v1.yaml");
    for runtime in RUNTIMES {
        backend::runtimes::ensure(&app.db, runtime, "apps.example.com")
            .await
            .expect("runtime");
    }
    for (runtime, name) in version_names() {
        let text = template.replacen("name: v1", &format!("name: {name}"), 1);
        let manifest = manifest_file::parse(text.as_bytes()).expect("manifest");
        versions::register(&app.db, &Actor::System, runtime, &manifest)
            .await
            .expect("registered");
    }
    let mut cookies = Vec::new();
    for i in 0..SESSIONS {
        let who = if i % 2 == 0 { "manager" } else { "admin" };
        cookies.push(app.sign_in(&format!("{who}@example.com")).await);
    }

    let tally = Arc::new(Mutex::new(Tally::default()));
    let until = Instant::now() + Duration::from_secs(storm_seconds());
    let mut clients = Vec::new();
    for c in 0..CLIENTS {
        let app = app.clone();
        let tally = tally.clone();
        let cookie = cookies[c % SESSIONS].clone();
        clients.push(tokio::spawn(async move {
            let mut rng = Rng(0x5eed_0000 + c as u64 * 7919);
            let targets = version_names();
            let mut n = 0u64;
            while Instant::now() < until {
                n += 1;
                let (runtime, version) = &targets[rng.below(targets.len())];
                let seen = versions::get(&app.db, runtime, version)
                    .await
                    .expect("version")
                    .status;
                // One in five acts on a stale or wrong view.
                let expected = if rng.below(5) == 0 {
                    Status::ALL[rng.below(Status::ALL.len())]
                } else {
                    seen
                };
                let action = ACTIONS[rng.below(ACTIONS.len())];
                let reason = format!("storm c{c} n{n} {}", "x".repeat(1 + rng.below(40)));
                let answer = app
                    .send(call(
                        "/api/version_action",
                        &form(&[
                            ("runtime", runtime),
                            ("version", version),
                            ("action", action),
                            ("expected", expected.as_str()),
                            ("reason", &reason),
                        ]),
                        Some(&cookie),
                    ))
                    .await;
                assert!(
                    answer.status == StatusCode::OK || answer.status == StatusCode::CONFLICT,
                    "{action} {runtime}/{version} (expected {expected}): {} {}",
                    answer.status,
                    answer.body
                );
                let mut tally = tally.lock().expect("tally");
                tally
                    .answers
                    .insert(reason, (answer.status, format!("{runtime}/{version}")));
            }
        }));
    }
    for client in clients {
        client.await.expect("client finished without panicking");
    }

    // Nothing stuck: every version leaves starting/stopping.
    let settled = async {
        loop {
            let mut in_flight = Vec::new();
            for (runtime, name) in version_names() {
                let record = versions::get(&app.db, runtime, &name)
                    .await
                    .expect("version");
                if record.status.is_in_flight() {
                    in_flight.push(format!("{runtime}/{name} {}", record.status));
                }
            }
            if in_flight.is_empty() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    tokio::time::timeout(SETTLE, settled)
        .await
        .expect("every version settled after the storm");

    let tally = std::mem::take(&mut tally.lock().expect("tally").answers);
    let accepted = tally.values().filter(|(s, _)| *s == StatusCode::OK).count();
    let refused = tally.len() - accepted;
    eprintln!(
        "storm: {} actions in {} s, {accepted} accepted, {refused} refused as conflicts",
        tally.len(),
        storm_seconds()
    );
    assert!(
        accepted >= 50 && refused >= 50,
        "the storm exercised both paths"
    );

    // The audit log: intact, and exactly one entry per answered action.
    common::assert_audit_intact(&app.db).await;
    let entries: Vec<(String, String)> = match &app.db {
        Database::Sqlite(pool) => sqlx::query_as(
            "SELECT reason, outcome FROM audit_log WHERE actor_kind = 'user' AND reason LIKE 'storm %'",
        )
        .fetch_all(pool)
        .await
        .expect("entries"),
        Database::Postgres(_) => unreachable!("the test app runs on SQLite"),
    };
    let mut by_reason: HashMap<&str, Vec<&str>> = HashMap::new();
    for (reason, outcome) in &entries {
        by_reason.entry(reason).or_default().push(outcome);
    }
    for (reason, (status, version)) in &tally {
        let wanted = if *status == StatusCode::OK {
            "accepted"
        } else {
            "denied"
        };
        assert_eq!(
            by_reason.get(reason.as_str()).map(Vec::as_slice),
            Some(&[wanted][..]),
            "{version} {reason:?} answered {status}"
        );
    }
    assert_eq!(entries.len(), tally.len(), "no entry without an answer");

    // At most one published version per runtime, and the cluster holds what
    // each status says.
    for runtime in RUNTIMES {
        let records = versions::list(&app.db, runtime).await.expect("list");
        let published: Vec<_> = records
            .iter()
            .filter(|r| r.status == Status::Published)
            .map(|r| r.name.clone())
            .collect();
        assert!(published.len() <= 1, "{runtime}: {published:?}");
        let ingresses: Api<Ingress> = Api::namespaced(client.clone(), runtime);
        let ingress = ingresses.get_opt(runtime).await.expect("ingress read");
        let routed_to = ingress.and_then(|i| {
            i.spec?
                .rules?
                .first()?
                .http
                .as_ref()?
                .paths
                .first()?
                .backend
                .service
                .as_ref()
                .map(|s| s.name.clone())
        });
        assert_eq!(
            routed_to,
            published.first().map(|v| resources::service_name(v)),
            "{runtime}'s Ingress"
        );
        for record in records.iter().filter(|r| r.name.starts_with('s')) {
            let selector =
                ListParams::default().labels(&resources::version_selector(runtime, &record.name));
            let deployments: Api<Deployment> = Api::namespaced(client.clone(), runtime);
            let pods: Api<Pod> = Api::namespaced(client.clone(), runtime);
            let deployed = deployments.list(&selector).await.expect("list").items.len();
            let running = pods.list(&selector).await.expect("list").items.len();
            match record.status {
                Status::Started | Status::Published => {
                    assert_eq!(deployed, 3, "{runtime}/{} {}", record.name, record.status);
                    assert_eq!(running, 5, "{runtime}/{} {}", record.name, record.status);
                }
                Status::Stopped => {
                    assert_eq!(deployed + running, 0, "{runtime}/{} stopped", record.name)
                }
                // A start that failed keeps what it made for inspection.
                _ => {}
            }
        }
    }
}
