//! Four-eyes change control through the server functions, as the pages
//! call them: an admin turns a policy on in the runtime's settings; a
//! manager's Start becomes a change request; the manager approving it is
//! refused (403, audited as denied); the admin's approval carries it out.

use std::time::Duration;

use axum::http::StatusCode;
use lifecycle::Status;

mod common;
use common::{action, app_on_emulator, call, form, get};

#[tokio::test]
async fn a_held_start_waits_for_another_persons_approval() {
    let (app, _emulator) = app_on_emulator(
        Duration::from_millis(50),
        backend::runtime::Settings::default(),
    )
    .await;
    let admin = app.sign_in("admin@example.com").await;
    let manager = app.sign_in("manager@example.com").await;
    let settings = app
        .send(call(
            "/api/runtimes/update",
            &form(&[
                ("runtime", "demo"),
                ("fields[base_domain]", "demo.localhost"),
                ("fields[approval]", "on"),
                ("fields[approval_actions]", "start, publish"),
                ("fields[approvals]", "1"),
                ("fields[approver_roles]", "admin"),
                ("fields[open_hours]", "24"),
                ("reason", "four eyes on demo"),
            ]),
            Some(&admin),
        ))
        .await;
    assert_eq!(settings.status, StatusCode::OK, "{}", settings.body);
    let page = app.send(get("/runtimes/demo/settings", Some(&admin))).await;
    assert!(
        page.body.contains("value=\"start, publish\""),
        "the form shows the policy"
    );

    let asked = app
        .send(call(
            "/api/version_action",
            &action("v1", "start", "stopped", "release 1.0"),
            Some(&manager),
        ))
        .await;
    assert_eq!(asked.status, StatusCode::OK, "{}", asked.body);
    let v1 = || async {
        backend::versions::get(&app.db, "demo", "v1")
            .await
            .expect("v1")
            .status
    };
    assert_eq!(v1().await, Status::Stopped, "held for approval");
    let listed = app
        .send(call("/api/approvals/list", "", Some(&manager)))
        .await
        .json();
    let request = &listed[0];
    assert_eq!(request["state"], "open");
    assert_eq!(
        request["may_decide"], false,
        "not the requester's to approve"
    );
    assert_eq!(request["may_withdraw"], true);
    let id = request["id"].as_i64().expect("id").to_string();
    let screen = app
        .send(get("/runtimes/demo/versions/v1", Some(&manager)))
        .await;
    assert!(
        screen
            .body
            .contains(&format!("data-change-request=\"{id}\"")),
        "{}",
        screen.body
    );
    assert!(
        screen
            .body
            .contains("waiting for 1 approval, requested by manager@example.com")
    );

    let decide = |who| {
        call(
            "/api/approvals/decide",
            &form(&[("id", &id), ("approve", "true"), ("reason", "fine by me")]),
            Some(who),
        )
    };
    let own = app.send(decide(&manager)).await;
    assert_eq!(own.status, StatusCode::FORBIDDEN, "{}", own.body);
    assert!(own.body.contains("your own request"), "{}", own.body);
    let denied = testkit::db::audit_entries(&app.db, Default::default())
        .await
        .into_iter()
        .any(|e| e.action == "change.approve" && e.outcome == "denied");
    assert!(denied, "the refusal is audited");

    let approved = app.send(decide(&admin)).await;
    assert_eq!(approved.status, StatusCode::OK, "{}", approved.body);
    assert_eq!(approved.json()["state"], "done", "{}", approved.body);
    assert_eq!(v1().await, Status::Starting, "carried out as the manager");
    let start = testkit::db::audit_entries(&app.db, Default::default())
        .await
        .into_iter()
        .find(|e| e.action == "version.start" && e.outcome == "accepted")
        .expect("the start");
    assert_eq!(start.actor_email.as_deref(), Some("manager@example.com"));
    assert!(
        start.details.contains("admin@example.com"),
        "{}",
        start.details
    );
    common::assert_audit_intact(&app.db).await;
}
