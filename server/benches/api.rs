//! The automation surface on the release server over loopback. 20
//! pipelines, each with its own token and its own runtime, publish and
//! unpublish their version for 30 s through the REST API; then the same 20,
//! each with its own session, for 30 s through the server function the
//! details screen calls. Last, how long a signed webhook takes from its
//! transition's commit (the audit entry's time, in the body) to a receiver
//! on loopback. Writes `bench/api.md` (or `$BENCH_REPORT`).
//!
//! `cargo bench -p server --bench api` (part of `make bench`).

use std::{
    fmt::Write as _,
    future::Future,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{Router, http::StatusCode, routing::post};
use serde_json::{Value, json};
use testkit::{
    binary, http as wire,
    stats::{ms, percentile},
};

const CLIENTS: usize = 20;
const SECONDS: u64 = 30;
/// Each way's time is cut in this many turns.
const SLICES: usize = 6;

/// How long each way runs: `SECONDS`, or `BENCH_API_SECONDS`.
fn seconds() -> u64 {
    std::env::var("BENCH_API_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(SECONDS)
}
const WEBHOOK_EVENTS: usize = 100;
const DEADLINE: Duration = Duration::from_secs(60);

/// A runtime's first version: one small process, so that 20 start quickly.
const MANIFEST: &str = "name: v1
description: benchmark
entrypoint:
  image: registry.example.com/bench/gateway:1.0.0
  port: 8080
processes:
  - name: work
    image: registry.example.com/bench/work:1.0.0
    inputs: [entrypoint]
";

/// Makes a token through `/profile`'s server function.
async fn token(
    http: &reqwest::Client,
    base: &str,
    cookie: &str,
    name: &str,
    scope: &str,
) -> String {
    let answer: Value = http
        .post(format!("{base}/api/tokens/create"))
        .header("accept", "application/json")
        .header("cookie", cookie)
        .form(&[("name", name), ("scope", scope), ("days", "30")])
        .send()
        .await
        .expect("token answers")
        .json()
        .await
        .expect("token JSON");
    answer["token"].as_str().expect("a token").to_owned()
}

fn version_path(runtime: &str) -> String {
    format!("/api/v1/runtimes/{runtime}/versions/v1")
}

async fn status(http: &reqwest::Client, base: &str, bearer: &str, runtime: &str) -> String {
    let detail: Value = http
        .get(format!("{base}{}", version_path(runtime)))
        .bearer_auth(bearer)
        .send()
        .await
        .expect("version answers")
        .json()
        .await
        .expect("version JSON");
    detail["status"].as_str().unwrap_or_default().to_owned()
}

/// A publish or unpublish through the REST API: its answer's status.
async fn rest_act(
    http: &reqwest::Client,
    base: &str,
    bearer: &str,
    runtime: &str,
    action: &str,
    expected: &str,
) -> (StatusCode, String) {
    let response = http
        .post(format!("{base}{}/actions", version_path(runtime)))
        .bearer_auth(bearer)
        .json(&json!({"action": action, "expected": expected, "reason": "benchmark"}))
        .send()
        .await
        .expect("action answers");
    let code = response.status();
    (code, response.text().await.unwrap_or_default())
}

/// One pipeline's 30 s: publish, unpublish, publish... on its own
/// version, each conflict-checked. A conflict (the traffic switch moved the
/// version back) is counted and the lane goes on from the status it reads.
#[derive(Default)]
struct Lane {
    latencies: Vec<Duration>,
    conflicts: usize,
}

async fn lane<R, Read, F, Fut>(until: Instant, reread: R, act: F) -> Lane
where
    R: Fn() -> Read,
    Read: Future<Output = String>,
    F: Fn(&'static str, &'static str) -> Fut,
    Fut: Future<Output = (StatusCode, String)>,
{
    let mut lane = Lane::default();
    let mut published = reread().await == "published";
    while Instant::now() < until {
        let (action, expected) = if published {
            ("unpublish", "published")
        } else {
            ("publish", "started")
        };
        let sent = Instant::now();
        let (code, body) = act(action, expected).await;
        if code.is_success() {
            lane.latencies.push(sent.elapsed());
            published = !published;
        } else if code == StatusCode::CONFLICT {
            lane.conflicts += 1;
            published = reread().await == "published";
        } else {
            panic!("{action}: {code} {body}");
        }
    }
    lane
}

/// One way's figures over all its turns.
#[derive(Default)]
struct Measured {
    latencies: Vec<Duration>,
    conflicts: usize,
    elapsed: Duration,
}

/// Runs `CLIENTS` lanes at once for one turn: actions carried out, their
/// latencies (sorted), conflicts and the time taken.
async fn concurrently(
    lanes: Vec<tokio::task::JoinHandle<Lane>>,
    started: Instant,
) -> (Vec<Duration>, usize, Duration) {
    let (mut latencies, mut conflicts) = (Vec::new(), 0);
    for lane in lanes {
        let lane = lane.await.expect("lane");
        latencies.extend(lane.latencies);
        conflicts += lane.conflicts;
    }
    let elapsed = started.elapsed();
    latencies.sort();
    (latencies, conflicts, elapsed)
}

/// A delivery as the receiver saw it: the event's id, its audit action,
/// and how long after its audit entry was committed it arrived.
struct Arrival {
    id: i64,
    action: String,
    after_commit: Duration,
}

/// A receiver on loopback recording each delivery's arrival.
async fn receiver() -> (String, Arc<Mutex<Vec<Arrival>>>) {
    let arrivals: Arc<Mutex<Vec<Arrival>>> = Arc::default();
    let record = arrivals.clone();
    let app = Router::new().route(
        "/hook",
        post(move |headers: axum::http::HeaderMap, body: String| {
            let record = record.clone();
            async move {
                let now = chrono::Utc::now();
                let id = headers
                    .get("console-event-id")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(-1);
                // The entry's time is taken in the transaction that commits
                // the transition: the wait measured includes the commit.
                let body = serde_json::from_str::<Value>(&body).unwrap_or_default();
                let action = body["action"].as_str().unwrap_or_default().to_owned();
                let committed = body["at"]
                    .as_str()
                    .and_then(|at| chrono::DateTime::parse_from_rfc3339(at).ok());
                let after_commit = committed
                    .and_then(|at| (now - at.with_timezone(&chrono::Utc)).to_std().ok())
                    .unwrap_or(Duration::MAX);
                if let Ok(mut arrivals) = record.lock() {
                    arrivals.push(Arrival {
                        id,
                        action,
                        after_commit,
                    });
                }
                StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, arrivals)
}

fn row(report: &mut String, figure: &str, value: impl std::fmt::Display) {
    let _ = writeln!(report, "| {figure} | {value} |");
}

/// Creates `bench-<i>` (admin session), registers and starts its v1 (its
/// pipeline's token), and waits until it has started.
async fn runtime(
    http: &reqwest::Client,
    base: &str,
    admin: &str,
    bearer: &str,
    i: usize,
) -> String {
    let name = format!("bench-{i}");
    let created = http
        .post(format!("{base}/api/runtimes/create"))
        .header("accept", "application/json")
        .header("cookie", admin)
        .form(&[
            ("name", name.as_str()),
            ("reason", "benchmark"),
            ("fields[tls]", "none"),
            ("fields[base_domain]", "bench.example.com"),
        ])
        .send()
        .await
        .expect("create answers");
    let code = created.status();
    assert!(
        code.is_success(),
        "create {name}: {code} {}",
        created.text().await.unwrap_or_default()
    );
    let registered = http
        .post(format!("{base}/api/v1/runtimes/{name}/versions"))
        .bearer_auth(bearer)
        .header("content-type", "application/yaml")
        .body(MANIFEST)
        .send()
        .await
        .expect("register answers");
    let code = registered.status();
    assert_eq!(
        code,
        StatusCode::CREATED,
        "register {name}: {}",
        registered.text().await.unwrap_or_default()
    );
    let (code, body) = rest_act(http, base, bearer, &name, "start", "stopped").await;
    assert!(code.is_success(), "start {name}: {code} {body}");
    name
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (server, _emulator) = binary::Server::on_emulator(
        env!("CARGO_BIN_EXE_server").as_ref(),
        dir.path(),
        Duration::from_millis(200),
    )
    .await;
    let base = server.base.clone();
    let http = reqwest::Client::new();
    let manager = wire::sign_in(&http, &base, "manager@example.com", "demo-password").await;
    let admin = wire::sign_in(&http, &base, "admin@example.com", "demo-password").await;
    let ops = token(&http, &base, &admin, "bench-ops", "admin").await;

    // 20 pipelines: a token, a session and a runtime each.
    let mut pipelines = Vec::with_capacity(CLIENTS);
    for i in 0..CLIENTS {
        let bearer = token(
            &http,
            &base,
            &manager,
            &format!("bench-pipeline-{i}"),
            "operate",
        )
        .await;
        let cookie = wire::sign_in(&http, &base, "manager@example.com", "demo-password").await;
        let runtime = runtime(&http, &base, &admin, &bearer, i).await;
        pipelines.push((bearer, cookie, runtime));
    }
    for (bearer, _, runtime) in &pipelines {
        testkit::eventually("the pipeline's version started", DEADLINE, || async {
            status(&http, &base, bearer, runtime).await == "started"
        })
        .await;
    }

    let spawn_lanes = |through_api: bool, slice: Duration| {
        let until = Instant::now() + slice;
        pipelines
            .iter()
            .cloned()
            .map(|(bearer, cookie, runtime)| {
                let base = base.clone();
                tokio::spawn(async move {
                    // Its own connection, as a separate pipeline would have.
                    let http = reqwest::Client::new();
                    let reread = || status(&http, &base, &bearer, &runtime);
                    if through_api {
                        lane(until, reread, |action, expected| {
                            rest_act(&http, &base, &bearer, &runtime, action, expected)
                        })
                        .await
                    } else {
                        lane(until, reread, |action, expected| {
                            wire::version_action(
                                &http,
                                &base,
                                &cookie,
                                (&runtime, "v1"),
                                action,
                                expected,
                                "benchmark",
                            )
                        })
                        .await
                    }
                })
            })
            .collect::<Vec<_>>()
    };
    // The two ways take turns in slices, so that neither runs on a fresher
    // server than the other: the database grows by every action, and the
    // server slows as it does (the slices' figures show how much).
    let slice = Duration::from_secs(seconds()).div_f64(SLICES as f64);
    let (mut rest, mut server_fn) = (Measured::default(), Measured::default());
    let mut slices = Vec::with_capacity(SLICES * 2);
    for _ in 0..SLICES {
        for through_api in [true, false] {
            let started = Instant::now();
            let (latencies, conflicts, elapsed) =
                concurrently(spawn_lanes(through_api, slice), started).await;
            slices.push((through_api, latencies.len() as f64 / elapsed.as_secs_f64()));
            let into = if through_api {
                &mut rest
            } else {
                &mut server_fn
            };
            into.latencies.extend(latencies);
            into.conflicts += conflicts;
            into.elapsed += elapsed;
        }
    }
    rest.latencies.sort();
    server_fn.latencies.sort();

    // Webhooks: an endpoint for the demo runtime's publishes, then one
    // action at a time, each delivery timed from its transition's commit.
    let (hook_url, arrivals) = receiver().await;
    let added = http
        .post(format!("{base}/api/v1/runtimes/demo/webhooks"))
        .bearer_auth(&ops)
        .json(&json!({"url": hook_url, "events": ["version.publish"]}))
        .send()
        .await
        .expect("webhook answers");
    assert_eq!(added.status(), StatusCode::CREATED, "webhook added");
    let pipeline = &pipelines[0].0;
    let (code, body) = rest_act(&http, &base, pipeline, "demo", "start", "stopped").await;
    assert!(code.is_success(), "start demo/v1: {code} {body}");
    testkit::eventually("demo/v1 started", DEADLINE, || async {
        status(&http, &base, pipeline, "demo").await == "started"
    })
    .await;
    // An action's own event is waited for; the traffic switch's events
    // (`runtime.routing_switched`, also "publish" kind) arrive between.
    let actions_arrived = || {
        arrivals
            .lock()
            .map(|a| {
                a.iter()
                    .filter(|d| d.action.starts_with("version."))
                    .count()
            })
            .unwrap_or(0)
    };
    for i in 0..WEBHOOK_EVENTS {
        let (action, expected) = if i % 2 == 0 {
            ("publish", "started")
        } else {
            ("unpublish", "published")
        };
        let (code, body) = rest_act(&http, &base, pipeline, "demo", action, expected).await;
        assert!(code.is_success(), "{action} demo/v1: {code} {body}");
        testkit::eventually("the action's delivery arrives", DEADLINE, || async {
            actions_arrived() > i
        })
        .await;
    }
    let (mut webhook, switches, in_order) = arrivals
        .lock()
        .map(|a| {
            let (actions, switches): (Vec<&Arrival>, Vec<&Arrival>) =
                a.iter().partition(|d| d.action.starts_with("version."));
            (
                actions.iter().map(|d| d.after_commit).collect::<Vec<_>>(),
                switches.len(),
                a.windows(2).all(|w| w[0].id < w[1].id) && actions.len() == WEBHOOK_EVENTS,
            )
        })
        .expect("arrivals");
    webhook.sort();

    let mut report = String::new();
    let _ = writeln!(report, "# Automation: REST API, tokens, webhooks\n");
    let _ = writeln!(
        report,
        "`cargo bench -p server --bench api` (release build, this 2-core machine, the server \
         as its own process on SQLite in demo mode, the emulator on loopback, the clients in \
         the same machine).\n"
    );
    let _ = writeln!(
        report,
        "## {CLIENTS} concurrent pipelines for {} s each way\n\n\
         Each pipeline publishes and unpublishes the v1 of its own runtime, one action after \
         another: every action is conflict-checked, audited in the hash chain, carried out \
         and its traffic switch reconciled. {CLIENTS} tokens through \
         `POST /api/v1/.../actions` and {CLIENTS} sessions through the details screen's \
         server function `POST /api/version_action` take turns ({SLICES} each, REST first), \
         in the same run.\n",
        seconds()
    );
    let _ = writeln!(
        report,
        "| figure | REST API (token) | server function (session) |\n|---|---|---|"
    );
    let _ = writeln!(
        report,
        "| actions carried out | {} | {} |",
        rest.latencies.len(),
        server_fn.latencies.len()
    );
    let _ = writeln!(
        report,
        "| actions/s | {:.0} | {:.0} |",
        rest.latencies.len() as f64 / rest.elapsed.as_secs_f64(),
        server_fn.latencies.len() as f64 / server_fn.elapsed.as_secs_f64()
    );
    for p in [50.0, 99.0] {
        let _ = writeln!(
            report,
            "| p{p} latency | {} | {} |",
            ms(percentile(&rest.latencies, p)),
            ms(percentile(&server_fn.latencies, p))
        );
    }
    let _ = writeln!(
        report,
        "| conflicts (answered 409, the lane read the status again) | {} | {} |",
        rest.conflicts, server_fn.conflicts
    );
    let turns = |api: bool| {
        slices
            .iter()
            .filter(|(through_api, _)| *through_api == api)
            .map(|(_, rate)| format!("{rate:.0}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let _ = writeln!(
        report,
        "| actions/s in each turn, in order | {} | {} |",
        turns(true),
        turns(false)
    );
    let _ = writeln!(
        report,
        "\nThe two ways are within noise of each other: a token's check and a session's load \
         cost about the same next to the action's transaction. What varies from turn to turn \
         varies for both at once: the server under load, with the leader reconciling 20 \
         runtimes' traffic on the same two cores."
    );
    let _ = writeln!(
        report,
        "\n## Webhook latency, {WEBHOOK_EVENTS} publish events one at a time, from the transition's commit to the receiver\n"
    );
    let _ = writeln!(report, "| figure | value |\n|---|---|");
    row(&mut report, "p50", ms(percentile(&webhook, 50.0)));
    row(
        &mut report,
        "p95 (goal: under 1 s)",
        ms(percentile(&webhook, 95.0)),
    );
    row(&mut report, "max", ms(percentile(&webhook, 100.0)));
    row(&mut report, "each received once, in order", in_order);
    row(
        &mut report,
        "traffic switches delivered between them (not timed)",
        switches,
    );
    let _ = writeln!(
        report,
        "\nThe dispatcher looks for new audit entries every 250 ms (`Settings::poll`), which \
         bounds the wait; the action itself never waits for a receiver."
    );
    print!("{report}");
    let path = std::env::var("BENCH_REPORT")
        .unwrap_or_else(|_| format!("{}/../bench/api.md", env!("CARGO_MANIFEST_DIR")));
    std::fs::write(&path, report).expect("report written");
    assert!(in_order, "each webhook arrived once, in order");
    assert!(
        !rest.latencies.is_empty() && !server_fn.latencies.is_empty(),
        "actions were carried out"
    );
    server.kill();
}
