//! `/metrics`: what a Prometheus scrape of a console that has served pages,
//! taken actions and lost a watch reads. Its own test binary: the counters
//! are per process.

use std::{collections::HashMap, time::Duration};

use axum::{body::Body, http::Request};
use tower::ServiceExt;

mod common;
use common::{TestApp, app_on_emulator, call, get};
use testkit::eventually;

const DEADLINE: Duration = Duration::from_secs(30);

fn action(version: &str, name: &str, expected: &str) -> String {
    common::action(version, name, expected, "metrics test")
}

/// Every sample of the exposition: `name{labels}` → value.
async fn scrape(app: &TestApp) -> HashMap<String, f64> {
    let response = server::routes::metrics::router(app.db.clone())
        .oneshot(
            Request::get("/metrics")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("metrics answer");
    assert!(response.status().is_success());
    let content_type = response.headers()["content-type"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    let body = http_body_util::BodyExt::collect(response.into_body())
        .await
        .expect("body")
        .to_bytes();
    let text = String::from_utf8(body.to_vec()).expect("utf-8");
    assert!(text.ends_with("# EOF\n"), "a complete exposition");
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (name, value) = l.rsplit_once(' ').expect("name value");
            (name.to_owned(), value.parse().expect("a number"))
        })
        .collect()
}

fn sample(samples: &HashMap<String, f64>, name: &str) -> f64 {
    *samples
        .get(name)
        .unwrap_or_else(|| panic!("{name} missing from:\n{:#?}", samples.keys()))
}

#[tokio::test]
async fn a_scrape_reports_requests_actions_transitions_versions_watches_and_the_audit_log() {
    let (app, emulator) = app_on_emulator(
        Duration::from_millis(300),
        backend::runtime::Settings::default(),
    )
    .await;
    let manager = app.sign_in("manager@example.com").await;
    let viewer = app.sign_in("viewer@example.com").await;

    let page = app
        .send(get("/runtimes/demo/versions/v1", Some(&manager)))
        .await;
    assert!(page.status.is_success());
    let accepted = app
        .send(call(
            "/api/version_action",
            &action("v1", "start", "stopped"),
            Some(&manager),
        ))
        .await;
    assert!(accepted.status.is_success(), "{}", accepted.body);
    let stale = app
        .send(call(
            "/api/version_action",
            &action("v1", "start", "stopped"),
            Some(&manager),
        ))
        .await;
    assert_eq!(stale.status.as_u16(), 409, "{}", stale.body);
    let denied = app
        .send(call(
            "/api/version_action",
            &action("v2", "start", "stopped"),
            Some(&viewer),
        ))
        .await;
    assert_eq!(denied.status.as_u16(), 403, "{}", denied.body);
    // Counted once the start has ended in the cluster and been recorded.
    let started =
        r#"console_transition_duration_seconds_count{transition="start",outcome="started"}"#;
    eventually("v1 started", DEADLINE, || async {
        scrape(&app).await.contains_key(started)
    })
    .await;

    // A watch that breaks and has to be restarted: the emulator drops every
    // watch and fails the requests that follow.
    let faults = reqwest::Client::new();
    let fault = |body: serde_json::Value| {
        faults
            .post(format!("{}/emulator/faults", emulator.url()))
            .json(&body)
            .send()
    };
    fault(serde_json::json!({"fail_requests": 20, "drop_watches": true}))
        .await
        .expect("faults set");
    eventually("the watch restart was counted", DEADLINE, || async {
        sample(&scrape(&app).await, "console_pod_watch_restarts_total") >= 1.0
    })
    .await;
    fault(serde_json::json!({"fail_requests": 0}))
        .await
        .expect("faults cleared");

    let samples = scrape(&app).await;
    let page = r#"console_http_requests_total{method="GET",route="/runtimes/{runtime}/versions/{version}",status="200"}"#;
    assert_eq!(
        sample(&samples, page),
        1.0,
        "counted under its route, not its path"
    );
    assert!(
        samples
            .keys()
            .any(|k| k.starts_with("console_http_request_duration_seconds_count{method=\"POST\"")),
        "server functions are timed"
    );
    for (outcome, count) in [("accepted", 1.0), ("conflict", 1.0)] {
        assert_eq!(
            sample(
                &samples,
                &format!(r#"console_actions_total{{action="start",outcome="{outcome}"}}"#)
            ),
            count,
            "{outcome}"
        );
    }
    assert_eq!(
        sample(
            &samples,
            r#"console_actions_total{action="start",outcome="denied"}"#
        ),
        1.0
    );
    assert_eq!(sample(&samples, started), 1.0);
    assert!(
        sample(
            &samples,
            r#"console_transition_duration_seconds_sum{transition="start",outcome="started"}"#
        ) > 0.3,
        "a start takes at least the emulator's readiness delay"
    );
    assert_eq!(
        sample(&samples, r#"console_versions{status="started"}"#),
        1.0
    );
    let registered = backend::versions::list(&app.db, "demo")
        .await
        .expect("versions");
    assert_eq!(
        sample(&samples, r#"console_versions{status="stopped"}"#),
        (registered.len() - 1) as f64
    );
    assert_eq!(sample(&samples, r#"console_versions{status="error"}"#), 0.0);
    let last_id: i64 = match &app.db {
        backend::Database::Sqlite(pool) => sqlx::query_scalar("SELECT MAX(id) FROM audit_log")
            .fetch_one(pool)
            .await
            .expect("max id"),
        backend::Database::Postgres(_) => unreachable!("the test app runs on SQLite"),
    };
    assert_eq!(
        sample(&samples, "console_audit_entries_total"),
        last_id as f64
    );
    assert_eq!(sample(&samples, "console_leader"), 1.0);
}
