//! The database locked for longer than the console's busy timeout, in the
//! middle of a start: actions meanwhile get a clear, retryable error and
//! change nothing; the start the cluster finished meanwhile is recorded once
//! the lock goes; the audit chain stays intact.

use std::time::Duration;

use axum::http::StatusCode;
use backend::{Database, versions};
use lifecycle::Status;

mod common;
use common::{app_on_emulator, assert_audit_intact, call, get, recorded_statuses};

const DEADLINE: Duration = Duration::from_secs(30);
/// Longer than the pool's 5 s busy timeout: writes fail, not just wait.
const LOCKED_FOR: Duration = Duration::from_secs(7);

fn action(version: &str, name: &str, expected: &str) -> String {
    common::action(version, name, expected, "fault test")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_database_gives_clear_errors_and_the_console_catches_up_after() {
    let (app, _emulator) = app_on_emulator(
        Duration::from_millis(300),
        backend::runtime::Settings::default(),
    )
    .await;
    let cookie = app.sign_in("manager@example.com").await;
    let Database::Sqlite(pool) = &app.db else {
        unreachable!("the test app runs on SQLite")
    };

    let started = app
        .send(call(
            "/api/version_action",
            &action("v1", "start", "stopped"),
            Some(&cookie),
        ))
        .await;
    assert_eq!(started.status, StatusCode::OK, "{}", started.body);
    // Another connection takes the write lock and keeps it while v1's pods
    // become ready, so recording `started` fails until it is released.
    let mut locker = pool.acquire().await.expect("connection");
    sqlx::query("BEGIN EXCLUSIVE")
        .execute(&mut *locker)
        .await
        .expect("locked");
    let locked_at = tokio::time::Instant::now();

    let refused = app
        .send(call(
            "/api/version_action",
            &action("v2", "start", "stopped"),
            Some(&cookie),
        ))
        .await;
    refused.assert_says(StatusCode::SERVICE_UNAVAILABLE, "Unavailable");
    assert!(
        !refused.body.to_lowercase().contains("sqlite"),
        "{}",
        refused.body
    );
    assert!(
        !refused.body.contains("locked"),
        "no internals: {}",
        refused.body
    );
    // Reading still works (WAL): the details page renders meanwhile.
    let page = app
        .send(get("/runtimes/demo/versions/v1", Some(&cookie)))
        .await;
    assert_eq!(page.status, StatusCode::OK);

    // The fault lasts its set time (a deliberate duration, not a wait for
    // some state), then goes.
    tokio::time::sleep_until(locked_at + LOCKED_FOR).await;
    sqlx::query("ROLLBACK")
        .execute(&mut *locker)
        .await
        .expect("unlocked");
    drop(locker);

    let settled = async {
        loop {
            let status = versions::get(&app.db, "demo", "v1")
                .await
                .expect("v1")
                .status;
            if !status.is_in_flight() {
                return status;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    let status = tokio::time::timeout(DEADLINE, settled)
        .await
        .expect("v1 settled after the lock went");
    assert_eq!(status, Status::Started);
    assert_eq!(
        versions::get(&app.db, "demo", "v2")
            .await
            .expect("v2")
            .status,
        Status::Stopped,
        "the refused action changed nothing"
    );
    assert_audit_intact(&app.db).await;
    // v1: registered, started by the manager, started by the system. Once.
    assert_eq!(
        recorded_statuses(&app.db, "v1").await,
        ["started", "starting", "stopped"],
        "newest first"
    );
    // The same session still works: nothing was lost on the user's side.
    let again = app
        .send(call(
            "/api/version_action",
            &action("v2", "start", "stopped"),
            Some(&cookie),
        ))
        .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
}
