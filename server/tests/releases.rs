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
