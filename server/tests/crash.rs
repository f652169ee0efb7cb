//! Crash safety: the server is killed (SIGKILL) in the middle of a start and
//! of a stop; restarted on the same database, it finishes both from the
//! cluster's actual state.

use std::{path::Path, time::Duration};

use backend::{Database, versions};
use lifecycle::Status;
use serde_json::{Value, json};

mod common;
use common::SERVER_BIN;
use testkit::{binary::Server, http as wire};

const DEADLINE: Duration = Duration::from_secs(60);

fn start(dir: &Path, kubeconfig: &Path) -> Server {
    let url = format!("sqlite://{}/console.db", dir.display());
    Server::start(SERVER_BIN.as_ref(), &url, kubeconfig, dir, &[])
}

async fn sign_in(http: &reqwest::Client, base: &str) -> String {
    wire::sign_in(http, base, "manager@example.com", "demo-password").await
}

async fn act(http: &reqwest::Client, base: &str, cookie: &str, action: &str, expected: &str) {
    wire::act(http, base, cookie, "v1", action, expected).await
}

async fn status(db: &Database) -> Status {
    versions::get(db, "demo", "v1").await.expect("v1").status
}

async fn settles(db: &Database, wanted: Status) {
    let wait = async {
        loop {
            let now = status(db).await;
            if !now.is_in_flight() {
                return now;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    let settled = tokio::time::timeout(DEADLINE, wait)
        .await
        .expect("settled within the deadline");
    assert_eq!(settled, wanted);
}

/// Objects of v1 of one kind in the emulator.
async fn count(http: &reqwest::Client, emulator: &str, path: &str) -> usize {
    let selector = "runtime-console.io/version=v1";
    let list: Value = http
        .get(format!("{emulator}{path}?labelSelector={selector}"))
        .send()
        .await
        .expect("emulator answers")
        .json()
        .await
        .expect("list JSON");
    list["items"].as_array().map_or(0, Vec::len)
}

async fn latency(http: &reqwest::Client, emulator: &str, ms: u64) {
    http.post(format!("{emulator}/emulator/faults"))
        .json(&json!({ "latency_ms": ms }))
        .send()
        .await
        .expect("faults set");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_mid_start_and_mid_stop_the_server_finishes_on_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let emulator = testkit::emulator(Duration::from_millis(500)).await;
    let url = emulator.url();
    let kubeconfig = dir.path().join("kubeconfig");
    kube_emulator::write_kubeconfig(&kubeconfig, &url).expect("kubeconfig");
    let http = reqwest::Client::new();

    // Mid-start: the applies are slow, so the kill lands while they run.
    let server = start(dir.path(), &kubeconfig);
    let cookie = sign_in(&http, &server.base).await;
    latency(&http, &url, 150).await;
    act(&http, &server.base, &cookie, "start", "stopped").await;
    let applying = async {
        while count(&http, &url, "/api/v1/namespaces/demo/configmaps").await == 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(DEADLINE, applying)
        .await
        .expect("the start reached the cluster");
    server.kill();
    let db = Database::connect(&format!("sqlite://{}/console.db", dir.path().display()))
        .await
        .expect("database");
    // Killed with the ConfigMap applied and its Deployments in flight or
    // just applied, pods not ready: the version is still starting.
    assert_eq!(status(&db).await, Status::Starting, "killed mid-start");

    latency(&http, &url, 0).await;
    let server = start(dir.path(), &kubeconfig);
    settles(&db, Status::Started).await;
    assert_eq!(
        count(&http, &url, "/apis/apps/v1/namespaces/demo/deployments").await,
        3
    );
    assert_eq!(
        count(&http, &url, "/api/v1/namespaces/demo/services").await,
        1
    );

    // Mid-stop: killed while the deletes are under way.
    latency(&http, &url, 150).await;
    let cookie = sign_in(&http, &server.base).await;
    act(&http, &server.base, &cookie, "stop", "started").await;
    server.kill();
    assert_eq!(status(&db).await, Status::Stopping, "killed mid-stop");

    latency(&http, &url, 0).await;
    let _server = start(dir.path(), &kubeconfig);
    settles(&db, Status::Stopped).await;
    for path in [
        "/api/v1/namespaces/demo/pods",
        "/apis/apps/v1/namespaces/demo/deployments",
        "/apis/apps/v1/namespaces/demo/replicasets",
        "/api/v1/namespaces/demo/services",
        "/api/v1/namespaces/demo/configmaps",
    ] {
        assert_eq!(count(&http, &url, path).await, 0, "{path} left behind");
    }
    // Each system transition was recorded once, by the server that saw it.
    let entries = backend::audit::query(
        &db,
        &backend::audit::Filter {
            version: Some("v1".into()),
            ..backend::audit::Filter::default()
        },
        None,
        100,
    )
    .await
    .expect("audit");
    let system: Vec<_> = entries
        .entries
        .iter()
        .filter(|e| e.action == "version.system_transition")
        .filter_map(|e| e.status_after.clone())
        .collect();
    assert_eq!(system, ["stopped", "started"], "newest first");
}

/// Where `action` from `before` ends when nothing goes wrong.
fn target_of(action: &str) -> Status {
    match action {
        "start" | "unpublish" => Status::Started,
        "publish" => Status::Published,
        _ => Status::Stopped,
    }
}

/// The demo runtime's Ingress backend, if any.
async fn routed_to(http: &reqwest::Client, emulator: &str) -> Option<String> {
    let response = http
        .get(format!(
            "{emulator}/apis/networking.k8s.io/v1/namespaces/demo/ingresses/demo"
        ))
        .send()
        .await
        .expect("emulator answers");
    if response.status() == reqwest::StatusCode::NOT_FOUND {
        return None;
    }
    let ingress: Value = response.json().await.expect("ingress JSON");
    ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"]
        .as_str()
        .map(str::to_owned)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_at_random_points_of_start_publish_unpublish_and_stop_it_always_converges() {
    let dir = tempfile::tempdir().expect("tempdir");
    let emulator = testkit::emulator(Duration::from_millis(400)).await;
    let url = emulator.url();
    let kubeconfig = dir.path().join("kubeconfig");
    kube_emulator::write_kubeconfig(&kubeconfig, &url).expect("kubeconfig");
    let http = reqwest::Client::new();
    let db_url = format!("sqlite://{}/console.db", dir.path().display());
    // Some API latency widens the windows a kill can land in.
    latency(&http, &url, 20).await;

    // Seeded: a failure names its round, and reruns the same kill points.
    let mut seed: u64 = 0x00c0_ffee;
    let mut next_delay = move || {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        Duration::from_millis((seed >> 33) % 900)
    };
    let mut server = start(dir.path(), &kubeconfig);
    let db = Database::connect(&db_url).await.expect("database");
    let mut kills = Vec::new();
    for round in 0..2 {
        for (action, from) in [
            ("start", "stopped"),
            ("publish", "started"),
            ("unpublish", "published"),
            ("stop", "started"),
        ] {
            let cookie = sign_in(&http, &server.base).await;
            // Killing the server at a random moment after the action, not
            // waiting for a state: the point is to land anywhere.
            let delay = next_delay();
            let acted = act(&http, &server.base, &cookie, action, from);
            let killed_during = tokio::time::timeout(delay, acted).await.is_err();
            if !killed_during {
                tokio::time::sleep(delay).await;
            }
            server.kill();
            kills.push(format!("round {round} {action} +{delay:?}"));
            server = start(dir.path(), &kubeconfig);
            let now = status(&db).await;
            if killed_during && now.as_str() == from {
                // Killed before the action was recorded: nothing happened,
                // and the operator saw no success. Do it again, unharmed.
                let cookie = sign_in(&http, &server.base).await;
                act(&http, &server.base, &cookie, action, from).await;
            }
            settles(&db, target_of(action)).await;
            let wanted =
                (target_of(action) == Status::Published).then(|| "v1-entrypoint".to_owned());
            let converged = async {
                while routed_to(&http, &url).await != wanted {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            };
            tokio::time::timeout(DEADLINE, converged)
                .await
                .unwrap_or_else(|_| panic!("{}: the Ingress never matched", kills.join(", ")));
            let deployments = count(&http, &url, "/apis/apps/v1/namespaces/demo/deployments").await;
            let expected = if action == "stop" { 0 } else { 3 };
            assert_eq!(deployments, expected, "{}", kills.join(", "));
        }
    }
    common::assert_audit_intact(&db).await;
}
