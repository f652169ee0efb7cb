//! A version marked bad cannot be published, whichever way the publish
//! comes: the server function refuses it (audited as denied) while the
//! details screen shows the mark and says why Publish is disabled; clearing
//! the mark, with a reason, lets it through.

use std::time::Duration;

use axum::http::StatusCode;
use lifecycle::Status;

mod common;
use common::{action, app_on_emulator, call, form, get};

const DEADLINE: Duration = Duration::from_secs(30);

fn mark(bad: bool, reason: &str) -> String {
    form(&[
        ("runtime", "demo"),
        ("version", "v1"),
        ("bad", if bad { "true" } else { "false" }),
        ("reason", reason),
    ])
}

#[tokio::test]
async fn a_version_marked_bad_is_refused_publishing_until_the_mark_is_cleared() {
    let (app, _emulator) = app_on_emulator(
        Duration::from_millis(50),
        backend::runtime::Settings::default(),
    )
    .await;
    let manager = app.sign_in("manager@example.com").await;
    let viewer = app.sign_in("viewer@example.com").await;

    let refused = app
        .send(call(
            "/api/version_bad_mark",
            &mark(true, "nope"),
            Some(&viewer),
        ))
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);

    let started = app
        .send(call(
            "/api/version_action",
            &action("v1", "start", "stopped", "to test"),
            Some(&manager),
        ))
        .await;
    assert_eq!(started.status, StatusCode::OK, "{}", started.body);
    testkit::eventually("v1 started", DEADLINE, || async {
        backend::versions::get(&app.db, "demo", "v1")
            .await
            .is_ok_and(|v| v.status == Status::Started)
    })
    .await;

    let marked = app
        .send(call(
            "/api/version_bad_mark",
            &mark(true, "corrupts carts"),
            Some(&manager),
        ))
        .await;
    assert_eq!(marked.status, StatusCode::OK, "{}", marked.body);
    let twice = app
        .send(call(
            "/api/version_bad_mark",
            &mark(true, "again"),
            Some(&manager),
        ))
        .await;
    assert_eq!(twice.status, StatusCode::CONFLICT, "{}", twice.body);

    // Called directly, not through the (disabled) button.
    let publish = || {
        call(
            "/api/version_action",
            &action("v1", "publish", "started", "ship it"),
            Some(&manager),
        )
    };
    let refused = app.send(publish()).await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);
    assert!(refused.body.contains("marked bad"), "{}", refused.body);
    assert!(refused.body.contains("corrupts carts"), "{}", refused.body);
    assert_eq!(
        backend::versions::get(&app.db, "demo", "v1")
            .await
            .expect("v1")
            .status,
        Status::Started
    );
    let filter = backend::audit::Filter {
        version: Some("v1".into()),
        ..Default::default()
    };
    let entries = testkit::db::audit_entries(&app.db, filter).await;
    let actions: Vec<(&str, &str)> = entries
        .iter()
        .map(|e| (e.action.as_str(), e.outcome.as_str()))
        .collect();
    for expected in [
        ("version.mark_bad", "denied"),
        ("version.mark_bad", "accepted"),
        ("version.publish", "denied"),
    ] {
        assert!(actions.contains(&expected), "{expected:?} in {actions:?}");
    }

    let page = app
        .send(get("/runtimes/demo/versions/v1", Some(&manager)))
        .await;
    assert!(
        page.body.contains("data-version-bad=\"true\""),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("Marked bad: clear the mark"),
        "{}",
        page.body
    );
    assert!(page.body.contains("Clear bad mark"));
    let list = app.send(get("/runtimes", Some(&viewer))).await;
    assert!(list.body.contains("data-version-bad=\"true\""));

    let cleared = app
        .send(call(
            "/api/version_bad_mark",
            &mark(false, "fixed upstream"),
            Some(&manager),
        ))
        .await;
    assert_eq!(cleared.status, StatusCode::OK, "{}", cleared.body);
    let published = app.send(publish()).await;
    assert_eq!(published.status, StatusCode::OK, "{}", published.body);
}

/// The dialogs' dry run, through its server function: each object with the
/// API server's verdict and, for a refusal, its message; nothing changes.
#[tokio::test]
async fn a_dry_run_answers_the_api_servers_refusals_and_changes_nothing() {
    use k8s_openapi::api::core::v1::{Namespace, ResourceQuota};
    use kube::{Api, api::PostParams};

    let (app, emulator) = app_on_emulator(
        Duration::from_millis(50),
        backend::runtime::Settings::default(),
    )
    .await;
    let client = kube::Client::try_from(kube::Config::new(emulator.url().parse().expect("url")))
        .expect("client");
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let namespace = serde_json::from_value(serde_json::json!({"metadata": {"name": "demo"}}))
        .expect("namespace");
    // The demo runtime's namespace may exist already.
    let _ = namespaces.create(&PostParams::default(), &namespace).await;
    let quotas: Api<ResourceQuota> = Api::namespaced(client, "demo");
    let quota = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "no-pods"}, "spec": {"hard": {"pods": "0"}}
    }))
    .expect("quota");
    quotas
        .create(&PostParams::default(), &quota)
        .await
        .expect("quota");
    let manager = app.sign_in("manager@example.com").await;
    let dry_run = |action: &str| {
        call(
            "/api/versions/dry_run",
            &form(&[("runtime", "demo"), ("version", "v1"), ("action", action)]),
            Some(&manager),
        )
    };
    let answer = app.send(dry_run("start")).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let objects = answer.json();
    let pods: Vec<&serde_json::Value> = objects
        .as_array()
        .expect("a list")
        .iter()
        .filter(|o| o["kind"] == "Pod")
        .collect();
    assert!(!pods.is_empty(), "{objects}");
    for pod in pods {
        assert_eq!(pod["verdict"], "refused", "{pod}");
        assert!(
            pod["detail"]
                .as_str()
                .is_some_and(|d| d.contains("exceeded quota: no-pods")),
            "{pod}"
        );
    }
    let stop = app.send(dry_run("stop")).await;
    assert_eq!(
        stop.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        stop.body
    );
    assert_eq!(
        backend::versions::get(&app.db, "demo", "v1")
            .await
            .expect("v1")
            .status,
        Status::Stopped
    );
}
