//! Change control through the server functions, as the pages call them:
//! an admin turns a policy on in the runtime's settings; a manager's Start
//! becomes a change request; the manager approving it is refused (403,
//! audited as denied); the admin's approval carries it out. A freeze
//! refuses a publish until an admin breaks the glass; scheduled actions run
//! once when their instant comes (the clock is the test's).

use std::time::Duration;

use axum::http::StatusCode;
use chrono::Utc;
use lifecycle::Status;

mod common;
use common::{TestApp, action, app_on_emulator, call, form, get, save_settings};

const DEADLINE: Duration = Duration::from_secs(30);

/// Saves the demo runtime's settings form with `fields` besides its base
/// domain, as an admin.
async fn status_of(app: &TestApp, version: &str) -> Status {
    backend::versions::get(&app.db, "demo", version)
        .await
        .expect("version")
        .status
}

async fn entries(app: &TestApp, action: &str, outcome: &str) -> Vec<serde_json::Value> {
    testkit::db::audit_entries(&app.db, Default::default())
        .await
        .into_iter()
        .filter(|e| e.action == action && e.outcome == outcome)
        .map(|e| serde_json::from_str(&e.details).expect("details"))
        .collect()
}

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

    // The policy's trail reads as one story: who asked, who approved (and
    // who was refused), when it ran.
    let trail = app
        .send(get("/api/runtimes/demo/change-requests", Some(&admin)))
        .await;
    assert_eq!(trail.status, StatusCode::OK, "{}", trail.body);
    let trail = trail.json();
    assert_eq!(trail["policy"]["approvals"], 1);
    let told = &trail["requests"][0];
    assert_eq!(told["requested_by"], "manager@example.com");
    assert_eq!(told["reason"], "release 1.0");
    assert_eq!(told["state"], "done");
    assert_eq!(told["decisions"][0]["by"], "admin@example.com");
    assert_eq!(told["decisions"][0]["approve"], true);
    assert!(told["closed_at"].is_string(), "when it ran: {told}");
    let viewer = app.sign_in("viewer@example.com").await;
    let hidden = app
        .send(get("/api/runtimes/demo/change-requests", Some(&viewer)))
        .await;
    assert_eq!(hidden.status, StatusCode::FORBIDDEN);
    common::assert_audit_intact(&app.db).await;
}

#[tokio::test]
async fn a_freeze_refuses_a_publish_until_an_admin_breaks_the_glass() {
    let (app, _emulator) = app_on_emulator(
        Duration::from_millis(50),
        backend::runtime::Settings::default(),
    )
    .await;
    let admin = app.sign_in("admin@example.com").await;
    let manager = app.sign_in("manager@example.com").await;
    let hour = chrono::Duration::hours(1);
    let windows = format!(
        "windows:\n- kind: freeze\n  title: Launch freeze\n  from: {}\n  to: {}\n",
        (Utc::now() - hour).to_rfc3339(),
        (Utc::now() + hour).to_rfc3339()
    );
    save_settings(&app, &admin, &[("fields[windows]", &windows)]).await;
    let page = app.send(get("/runtimes/demo/settings", Some(&admin))).await;
    assert!(
        page.body.contains("Launch freeze"),
        "the form shows the windows"
    );

    // Starting is not governed by default; publishing is.
    let started = app
        .send(call(
            "/api/version_action",
            &action("v1", "start", "stopped", "warm up"),
            Some(&manager),
        ))
        .await;
    assert_eq!(started.status, StatusCode::OK, "{}", started.body);
    testkit::eventually("v1 starts", DEADLINE, || async {
        status_of(&app, "v1").await == Status::Started
    })
    .await;
    let publish = action("v1", "publish", "started", "ship it");
    let refused = app
        .send(call("/api/version_action", &publish, Some(&manager)))
        .await;
    refused.assert_says(StatusCode::CONFLICT, "Launch freeze");
    assert!(refused.body.contains("The freeze"), "{}", refused.body);
    assert!(
        refused.body.contains("changes reopen at"),
        "{}",
        refused.body
    );
    let screen = app
        .send(get(
            "/runtimes/demo/versions/v1?action=publish",
            Some(&manager),
        ))
        .await;
    assert!(
        screen.body.contains("data-window-closed"),
        "the dialog says so"
    );
    assert!(
        !screen.body.contains("Override the window"),
        "managers may not override by default"
    );

    let glass = format!("{publish}&break_glass=on");
    let not_theirs = app
        .send(call("/api/version_action", &glass, Some(&manager)))
        .await;
    not_theirs.assert_says(StatusCode::FORBIDDEN, "may not override");
    assert_eq!(status_of(&app, "v1").await, Status::Started);
    let denied = entries(&app, "version.publish", "denied").await;
    assert_eq!(denied.len(), 2, "both refusals are audited: {denied:?}");
    assert!(denied.iter().all(|d| d["window"] == "Launch freeze"));

    let screen = app
        .send(get(
            "/runtimes/demo/versions/v1?action=publish",
            Some(&admin),
        ))
        .await;
    assert!(screen.body.contains("Override the window"), "an admin may");
    let overridden = app
        .send(call("/api/version_action", &glass, Some(&admin)))
        .await;
    assert_eq!(overridden.status, StatusCode::OK, "{}", overridden.body);
    assert_eq!(status_of(&app, "v1").await, Status::Published);
    let accepted = entries(&app, "version.publish", "accepted").await;
    assert_eq!(accepted.len(), 1);
    assert_eq!(accepted[0]["break_glass"], true);
    assert_eq!(accepted[0]["window"], "Launch freeze");
    let screen = app
        .send(get("/runtimes/demo/versions/v1", Some(&manager)))
        .await;
    assert!(
        screen.body.contains("data-break-glass"),
        "the screen shows the override"
    );

    // Bad windows are refused field by field, and nothing is saved.
    let bad = app
        .send(call(
            "/api/runtimes/update",
            &form(&[
                ("runtime", "demo"),
                ("fields[base_domain]", "demo.localhost"),
                ("fields[windows]", "windows:\n- kind: allow\n  title: Office\n  days: [mon]\n  from: \"9am\"\n  to: \"17:00\"\n  time_zone: Mars/Olympus\n"),
                ("reason", "typo"),
            ]),
            Some(&admin),
        ))
        .await;
    bad.assert_says(
        StatusCode::UNPROCESSABLE_ENTITY,
        "change_windows.windows[0].time_zone",
    );
    assert!(
        bad.body.contains("change_windows.windows[0].from"),
        "{}",
        bad.body
    );
    let kept = backend::runtimes::get(&app.db, "demo").await.expect("demo");
    assert_eq!(
        kept.settings.change_windows.expect("windows kept").windows[0].title(),
        "Launch freeze"
    );
    common::assert_audit_intact(&app.db).await;
}

#[tokio::test]
async fn a_scheduled_action_runs_once_when_its_instant_comes() {
    let (app, _emulator) = app_on_emulator(
        Duration::from_millis(50),
        backend::runtime::Settings::default(),
    )
    .await;
    let admin = app.sign_in("admin@example.com").await;
    let manager = app.sign_in("manager@example.com").await;
    let now = Utc::now();
    let at = |hours: i64| (now + chrono::Duration::hours(hours)).to_rfc3339();
    let schedule = |version: &str, action: &str, run_at: &str| {
        form(&[
            ("runtime", "demo"),
            ("version", version),
            ("action", action),
            ("run_at", run_at),
            ("reason", "the release train"),
        ])
    };
    let past = app
        .send(call(
            "/api/schedules/create",
            &schedule("v1", "start", &at(-1)),
            Some(&manager),
        ))
        .await;
    past.assert_says(StatusCode::UNPROCESSABLE_ENTITY, "in the future");
    let start = app
        .send(call(
            "/api/schedules/create",
            &schedule("v1", "start", &at(1)),
            Some(&manager),
        ))
        .await;
    assert_eq!(start.status, StatusCode::OK, "{}", start.body);
    let start_id = start.json()["id"].as_i64().expect("id");
    let stop = app
        .send(call(
            "/api/schedules/create",
            &schedule("v1", "stop", &at(2)),
            Some(&manager),
        ))
        .await;
    let stop_id = stop.json()["id"].as_i64().expect("id");
    let screen = app
        .send(get("/runtimes/demo/versions/v1", Some(&manager)))
        .await;
    assert!(
        screen
            .body
            .contains(&format!("data-scheduled-action=\"{start_id}\"")),
        "listed on the version screen"
    );

    // Not yet: nothing runs.
    assert_eq!(app.services.run_due_schedules(now).await.expect("pass"), 0);
    assert_eq!(status_of(&app, "v1").await, Status::Stopped);

    // The stop is cancelled with a reason; the start's instant comes.
    let cancel = form(&[("id", &stop_id.to_string()), ("reason", "keep it running")]);
    let cancelled = app
        .send(call("/api/schedules/cancel", &cancel, Some(&admin)))
        .await;
    assert_eq!(cancelled.json()["state"], "cancelled", "{}", cancelled.body);
    let again = app
        .send(call("/api/schedules/cancel", &cancel, Some(&admin)))
        .await;
    again.assert_says(StatusCode::CONFLICT, "is cancelled");
    let later = now + chrono::Duration::hours(3);
    assert_eq!(
        app.services.run_due_schedules(later).await.expect("pass"),
        1
    );
    assert_eq!(
        app.services.run_due_schedules(later).await.expect("pass"),
        0,
        "once"
    );
    assert_eq!(status_of(&app, "v1").await, Status::Starting);
    let starts = entries(&app, "version.start", "accepted").await;
    assert_eq!(starts.len(), 1);
    assert_eq!(starts[0]["scheduled"], start_id);
    let done = backend::schedules::get(&app.db, start_id)
        .await
        .expect("start");
    assert_eq!(done.state, lifecycle::ScheduleState::Done);
    assert_eq!(entries(&app, "schedule.create", "accepted").await.len(), 2);
    assert_eq!(entries(&app, "schedule.cancel", "accepted").await.len(), 1);

    // With a time to live, a started version nobody published is stopped
    // by the system once it has run that long, not before.
    testkit::eventually("v1 starts", DEADLINE, || async {
        status_of(&app, "v1").await == Status::Started
    })
    .await;
    save_settings(&app, &admin, &[("fields[stop_unpublished_after]", "2")]).await;
    let idle = |at| app.services.stop_idle_versions(at);
    assert!(idle(Utc::now()).await.expect("pass").is_empty());
    assert_eq!(status_of(&app, "v1").await, Status::Started);
    let stopped = idle(Utc::now() + chrono::Duration::hours(3))
        .await
        .expect("pass");
    assert_eq!(stopped, ["v1"]);
    let stops = testkit::db::audit_entries(&app.db, Default::default())
        .await
        .into_iter()
        .filter(|e| e.action == "version.stop" && e.outcome == "accepted")
        .collect::<Vec<_>>();
    assert_eq!(stops.len(), 1);
    assert_eq!(stops[0].actor_kind, "system");
    assert!(
        stops[0]
            .reason
            .as_deref()
            .is_some_and(|r| r.contains("time to live")),
        "{:?}",
        stops[0].reason
    );

    // Under a policy that holds publishes, or into a freeze, scheduling is
    // refused now rather than failing later.
    save_settings(
        &app,
        &admin,
        &[
            ("fields[approval]", "on"),
            ("fields[approval_actions]", "publish"),
            ("fields[approvals]", "1"),
            ("fields[approver_roles]", "admin"),
            ("fields[open_hours]", "24"),
        ],
    )
    .await;
    let held = app
        .send(call(
            "/api/schedules/create",
            &schedule("v1", "publish", &at(4)),
            Some(&manager),
        ))
        .await;
    held.assert_says(StatusCode::CONFLICT, "needs approval");
    let freeze = format!(
        "windows:\n- kind: freeze\n  title: Night freeze\n  from: {}\n  to: {}\n",
        at(5),
        at(6)
    );
    save_settings(&app, &admin, &[("fields[windows]", &freeze)]).await;
    let frozen = app
        .send(call(
            "/api/schedules/create",
            &schedule(
                "v1",
                "unpublish",
                &(now + chrono::Duration::minutes(330)).to_rfc3339(),
            ),
            Some(&manager),
        ))
        .await;
    frozen.assert_says(StatusCode::CONFLICT, "Night freeze");
    common::assert_audit_intact(&app.db).await;
}

#[tokio::test]
async fn an_approved_request_of_someone_since_disabled_fails() {
    let (app, _emulator) = app_on_emulator(
        Duration::from_millis(50),
        backend::runtime::Settings::default(),
    )
    .await;
    let admin = app.sign_in("admin@example.com").await;
    let manager = app.sign_in("manager@example.com").await;
    save_settings(
        &app,
        &admin,
        &[
            ("fields[approval]", "on"),
            ("fields[approval_actions]", "start"),
            ("fields[approvals]", "1"),
            ("fields[approver_roles]", "admin"),
            ("fields[open_hours]", "24"),
        ],
    )
    .await;
    let asked = app
        .send(call(
            "/api/version_action",
            &action("v1", "start", "stopped", "release"),
            Some(&manager),
        ))
        .await;
    assert_eq!(asked.status, StatusCode::OK, "{}", asked.body);
    let listed = app
        .send(call("/api/approvals/list", "", Some(&admin)))
        .await
        .json();
    let id = listed[0]["id"].as_i64().expect("id").to_string();
    let manager_id = backend::users::find_by_email(&app.db, "manager@example.com")
        .await
        .expect("users")
        .expect("manager")
        .user
        .id;
    let reason = lifecycle::Reason::parse("left the team").expect("reason");
    backend::users::set_disabled(
        &app.db,
        &testkit::actors::admin(),
        manager_id,
        true,
        &reason,
    )
    .await
    .expect("disabled");
    let approved = app
        .send(call(
            "/api/approvals/decide",
            &form(&[("id", &id), ("approve", "true"), ("reason", "fine")]),
            Some(&admin),
        ))
        .await;
    assert_eq!(approved.status, StatusCode::OK, "{}", approved.body);
    assert_eq!(approved.json()["state"], "failed", "{}", approved.body);
    assert!(approved.body.contains("disabled"), "{}", approved.body);
    assert_eq!(status_of(&app, "v1").await, Status::Stopped);
}
