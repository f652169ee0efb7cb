//! Lifecycle actions over HTTP with the cluster emulator behind the console,
//! and the live stream a details screen subscribes to.

use std::time::Duration;

use axum::http::StatusCode;
use http_body_util::BodyExt;
use lifecycle::{NodeStatus, Status, VersionLive};

mod common;
use common::{TestApp, action, call, get};
use testkit::http as wire;

const DEADLINE: Duration = Duration::from_secs(30);

async fn app_on_emulator() -> (TestApp, kube_emulator::Running) {
    common::app_on_emulator(
        Duration::from_millis(300),
        backend::runtime::Settings {
            failure_grace: Duration::from_millis(500),
            ..backend::runtime::Settings::default()
        },
    )
    .await
}

/// Reads `version` events from an SSE body until one satisfies `done`.
async fn until_event(
    body: &mut axum::body::Body,
    buffer: &mut String,
    done: impl Fn(&VersionLive) -> bool,
) -> VersionLive {
    let read = async {
        loop {
            while let Some(live) = wire::next_version_event(buffer) {
                if done(&live) {
                    return live;
                }
            }
            let frame = body
                .frame()
                .await
                .expect("stream open")
                .expect("frame reads");
            if let Ok(bytes) = frame.into_data() {
                buffer.push_str(&String::from_utf8_lossy(&bytes));
            }
        }
    };
    tokio::time::timeout(DEADLINE, read)
        .await
        .expect("the expected event arrived within the deadline")
}

#[tokio::test]
async fn the_stream_shows_nodes_turning_ready_and_the_version_started() {
    let (app, _emulator) = app_on_emulator().await;
    let cookie = app.sign_in("manager@example.com").await;
    let response = app
        .open(get("/api/live/runtimes/demo/versions/v1", Some(&cookie)))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"].to_str().ok(),
        Some("text/event-stream")
    );
    let mut body = response.into_body();
    let mut buffer = String::new();
    let first = until_event(&mut body, &mut buffer, |_| true).await;
    assert_eq!(first.status, Status::Stopped);
    assert!(first.nodes.iter().all(|n| n.status == NodeStatus::Stopped));
    assert_eq!(first.nodes[0].name, "entrypoint");

    let answer = app
        .send(call(
            "/api/version_action",
            &action("v1", "start", "stopped", "release the fraud model"),
            Some(&cookie),
        ))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.json()["status"], "starting");

    until_event(&mut body, &mut buffer, |l| {
        l.status == Status::Starting && l.nodes.iter().any(|n| n.status == NodeStatus::Starting)
    })
    .await;
    let started = until_event(&mut body, &mut buffer, |l| l.status == Status::Started).await;
    assert!(
        started
            .nodes
            .iter()
            .all(|n| n.status == NodeStatus::Ready && n.ready == n.desired),
        "{:?}",
        started.nodes
    );
    assert_eq!(started.status_actor, "system");
}

#[tokio::test]
async fn actions_refuse_bad_input_and_stale_views_and_the_stream_refuses_strangers() {
    let (app, _emulator) = app_on_emulator().await;
    let anonymous = app
        .send(get("/api/live/runtimes/demo/versions/v1", None))
        .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    let cookie = app.sign_in("manager@example.com").await;
    let unknown = app
        .send(get("/api/live/runtimes/demo/versions/ghost", Some(&cookie)))
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);

    let empty = app
        .send(call(
            "/api/version_action",
            &action("v1", "start", "stopped", "  "),
            Some(&cookie),
        ))
        .await;
    assert_eq!(
        empty.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        empty.body
    );
    assert!(empty.body.contains("Reason"), "{}", empty.body);
    let long = "x".repeat(1001);
    let oversized = app
        .send(call(
            "/api/version_action",
            &action("v1", "start", "stopped", &long),
            Some(&cookie),
        ))
        .await;
    assert_eq!(oversized.status, StatusCode::UNPROCESSABLE_ENTITY);
    let ghost = app
        .send(call(
            "/api/version_action",
            &action("ghost", "start", "stopped", "why"),
            Some(&cookie),
        ))
        .await;
    assert_eq!(ghost.status, StatusCode::NOT_FOUND);
    let bogus = app
        .send(call(
            "/api/version_action",
            &action("v1", "explode", "stopped", "why"),
            Some(&cookie),
        ))
        .await;
    // Undecodable arguments are refused before the function runs: 400,
    // with the safe "malformed" message.
    assert_eq!(bogus.status, StatusCode::BAD_REQUEST);
    assert!(bogus.body.contains("malformed"), "{}", bogus.body);

    // Publishing a stopped version is refused with the lifecycle's words.
    let refused = app
        .send(call(
            "/api/version_action",
            &action("v1", "publish", "stopped", "why"),
            Some(&cookie),
        ))
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert!(refused.body.contains("start it first"), "{}", refused.body);

    // Two operators start from the same view: the second is told who won.
    let first = app
        .send(call(
            "/api/version_action",
            &action("v2", "start", "stopped", "first"),
            Some(&cookie),
        ))
        .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let admin = app.sign_in("admin@example.com").await;
    let second = app
        .send(call(
            "/api/version_action",
            &action("v2", "start", "stopped", "second"),
            Some(&admin),
        ))
        .await;
    assert_eq!(second.status, StatusCode::CONFLICT);
    assert!(
        second.body.contains("manager@example.com"),
        "{}",
        second.body
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_open_stream_sees_every_status_change() {
    // 300 streams on one version through a start and a stop: not one may
    // reorder a status or miss one but a quick stop's brief `stopping`.
    const STREAMS: usize = 300;
    let (app, _emulator) = app_on_emulator().await;
    let cookie = app.sign_in("manager@example.com").await;
    let expected = [
        Status::Stopped,
        Status::Starting,
        Status::Started,
        Status::Stopping,
        Status::Stopped,
    ];
    let mut readers = Vec::new();
    let mut first_events = Vec::new();
    for _ in 0..STREAMS {
        let response = app
            .open(get("/api/live/runtimes/demo/versions/v1", Some(&cookie)))
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        let (opened, ready) = tokio::sync::oneshot::channel();
        first_events.push(ready);
        readers.push(tokio::spawn(async move {
            let mut body = response.into_body();
            let mut buffer = String::new();
            // The state on connect arrives before anything changes.
            let mut seen = vec![until_event(&mut body, &mut buffer, |_| true).await.status];
            let _ = opened.send(());
            // Until the stream shows the end: stopped again after started.
            let ended = |seen: &[Status]| seen.len() > 1 && seen.last() == Some(&Status::Stopped);
            while !ended(&seen) {
                let Some(Ok(frame)) = body.frame().await else {
                    break;
                };
                if let Ok(bytes) = frame.into_data() {
                    buffer.push_str(&String::from_utf8_lossy(&bytes));
                }
                while let Some(live) = wire::next_version_event(&mut buffer) {
                    if seen.last() != Some(&live.status) {
                        seen.push(live.status);
                    }
                }
            }
            seen
        }));
    }
    for ready in first_events {
        ready.await.expect("stream opened");
    }
    for (action, from, settled) in [
        ("start", "stopped", Status::Started),
        ("stop", "started", Status::Stopped),
    ] {
        let answer = app
            .send(call(
                "/api/version_action",
                &action_form(action, from),
                Some(&cookie),
            ))
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        let settle = async {
            while backend::versions::get(&app.db, "demo", "v1")
                .await
                .expect("v1")
                .status
                != settled
            {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        };
        tokio::time::timeout(DEADLINE, settle)
            .await
            .expect("settled");
    }
    for reader in readers {
        let seen = tokio::time::timeout(DEADLINE, reader)
            .await
            .expect("the stream showed every status")
            .expect("reader");
        // Nothing reordered or repeated, and every status a person acts on
        // or waits for is shown. A quick stop's `stopping` can last less
        // than 300 streams' re-reads on a busy 2-core machine, so one may
        // go straight from started to stopped; one read shared per change
        // (#26) is what will make that strict again.
        let coalesced = [
            Status::Stopped,
            Status::Starting,
            Status::Started,
            Status::Stopped,
        ];
        assert!(seen == expected || seen == coalesced, "{seen:?}");
    }
}

fn action_form(action_name: &str, from: &str) -> String {
    action("v1", action_name, from, "fan-out test")
}

/// Reads the SSE body until the stream ends; answers everything it said.
async fn until_end(body: &mut axum::body::Body, buffer: &mut String) -> String {
    let read = async {
        while let Some(frame) = body.frame().await {
            if let Ok(bytes) = frame.expect("frame reads").into_data() {
                buffer.push_str(&String::from_utf8_lossy(&bytes));
            }
        }
    };
    tokio::time::timeout(DEADLINE, read)
        .await
        .expect("the stream ended within the deadline");
    buffer.clone()
}

// The stream checks its caller again while it runs: signing out, a revoked
// session or a disabled user ends it with a final `ended` event at the next
// change (and within 10 s without one), instead of updates for nobody.
#[tokio::test]
async fn a_stream_ends_when_its_access_does() {
    let (app, _emulator) = app_on_emulator().await;
    let admin = app.sign_in("admin@example.com").await;
    let viewer_id = backend::users::find_by_email(&app.db, "viewer@example.com")
        .await
        .expect("lookup")
        .expect("viewer")
        .user
        .id;
    let reason = lifecycle::Reason::parse("the stream must end").expect("reason");
    let actor = backend::audit::Actor::System;
    for (case, expected) in [
        ("sign-out", Status::Starting),
        ("revoked", Status::Stopping),
        ("disabled", Status::Starting),
    ] {
        let viewer = app.sign_in("viewer@example.com").await;
        let response = app
            .open(get("/api/live/runtimes/demo/versions/v1", Some(&viewer)))
            .await;
        assert_eq!(response.status(), StatusCode::OK, "{case}");
        let mut body = response.into_body();
        let mut buffer = String::new();
        until_event(&mut body, &mut buffer, |_| true).await;
        match case {
            "sign-out" => {
                let out = app.send(call("/api/logout", "", Some(&viewer))).await;
                assert!(
                    out.status.is_success() || out.status.is_redirection(),
                    "{}",
                    out.body
                );
            }
            "revoked" => {
                backend::users::revoke_sessions(&app.db, &actor, viewer_id, &reason)
                    .await
                    .expect("revoked");
            }
            _ => {
                backend::users::set_disabled(&app.db, &actor, viewer_id, true, &reason)
                    .await
                    .expect("disabled");
            }
        }
        // A change of the version wakes the stream at once.
        let status = if expected == Status::Starting {
            "stopped"
        } else {
            "started"
        };
        let verb = if expected == Status::Starting {
            "start"
        } else {
            "stop"
        };
        let acted = app
            .send(call(
                "/api/version_action",
                &action("v1", verb, status, "wake the stream"),
                Some(&admin),
            ))
            .await;
        assert!(acted.status.is_success(), "{case}: {}", acted.body);
        let said = until_end(&mut body, &mut buffer).await;
        assert!(said.contains("event: ended"), "{case}: {said}");
        // Settle before the next case, so its action is allowed.
        let settled = if expected == Status::Starting {
            Status::Started
        } else {
            Status::Stopped
        };
        testkit::eventually("v1 settles", DEADLINE, || async {
            backend::versions::get(&app.db, "demo", "v1")
                .await
                .is_ok_and(|v| v.status == settled)
        })
        .await;
        if case == "disabled" {
            backend::users::set_disabled(&app.db, &actor, viewer_id, false, &reason)
                .await
                .expect("enabled");
        }
    }
}

// A publish is durable before it is answered, and the leader's routing
// carries it out: a client that goes away right after sending it (the
// request dropped mid-flight) still gets its version served.
#[tokio::test]
async fn a_publish_whose_client_goes_away_still_switches_the_traffic() {
    use tower::ServiceExt;

    let (app, emulator) = app_on_emulator().await;
    let cookie = app.sign_in("manager@example.com").await;
    let started = app
        .send(call(
            "/api/version_action",
            &action("v1", "start", "stopped", "to publish it"),
            Some(&cookie),
        ))
        .await;
    assert!(started.status.is_success(), "{}", started.body);
    let status_is = |wanted: Status| {
        let db = app.db.clone();
        move || {
            let db = db.clone();
            async move {
                backend::versions::get(&db, "demo", "v1")
                    .await
                    .is_ok_and(|v| v.status == wanted)
            }
        }
    };
    testkit::eventually("v1 started", DEADLINE, status_is(Status::Started)).await;

    // A slow API server: an Ingress write made inside the request would
    // still be under way when the client goes.
    let slow = reqwest::Client::new()
        .post(format!("{}/emulator/faults", emulator.url()))
        .json(&serde_json::json!({"latency_ms": 300}))
        .send()
        .await
        .expect("faults");
    assert!(slow.status().is_success());
    let request = call(
        "/api/version_action",
        &action("v1", "publish", "started", "then gone"),
        Some(&cookie),
    );
    let sent = tokio::spawn(app.router.clone().oneshot(request));
    testkit::eventually(
        "the publish is recorded",
        DEADLINE,
        status_is(Status::Published),
    )
    .await;
    sent.abort();

    let client = kube::Client::try_from(kube::Config::new(emulator.url().parse().expect("url")))
        .expect("client");
    let ingresses: kube::Api<k8s_openapi::api::networking::v1::Ingress> =
        kube::Api::namespaced(client, "demo");
    testkit::eventually("the Ingress points at v1", DEADLINE, || async {
        ingresses
            .get_opt("demo")
            .await
            .ok()
            .flatten()
            .is_some_and(|i| format!("{:?}", i.spec).contains("v1-entrypoint"))
    })
    .await;
}
