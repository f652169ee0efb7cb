//! Signing in and out, sessions and the role table, over HTTP in-process:
//! every server function against every role, session fixation, logout,
//! forged and stale sessions, cross-site refusal and throttling.

use axum::http::{StatusCode, header};
use backend::{
    audit::{self, Filter},
    users,
};
use lifecycle::{AuditAction, Outcome, Reason, Role};
use server::startup::SessionSettings;

mod common;
use common::{Options, PASSWORD, TestApp, call, form, get};

const MANIFEST: &str = "name: NAME\nentrypoint: {image: registry.example.com/entry:1, port: 8080}\nprocesses:\n  - {name: worker, image: registry.example.com/worker:1}\n";

fn register_body(runtime: &str, version: &str) -> String {
    form(&[
        ("runtime", runtime),
        ("manifest", &MANIFEST.replace("NAME", version)),
    ])
}

/// A server function's form body for a role.
type BodyFor = Box<dyn Fn(&str) -> String>;

async fn denied_entries(app: &TestApp) -> Vec<audit::Entry> {
    audit::query(
        &app.db,
        &Filter {
            outcome: Some(Outcome::Denied),
            ..Filter::default()
        },
        None,
        100,
    )
    .await
    .expect("query")
    .entries
}

#[tokio::test]
async fn the_anonymous_reach_only_sign_in_probes_and_assets() {
    let app = TestApp::new().await;
    for page in ["/", "/runtimes/demo/versions/v1", "/audit?user=x"] {
        let answer = app.send(get(page, None)).await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{page}");
        let location = answer.headers[header::LOCATION].to_str().expect("location");
        assert!(
            location.starts_with("/login?next=%2F"),
            "{page}: {location}"
        );
    }
    let login = app.send(get("/login", None)).await;
    assert_eq!(login.status, StatusCode::OK);
    for needle in [">Email<", ">Password<", "Sign in"] {
        assert!(login.body.contains(needle), "missing {needle}");
    }
    for function in ["/api/status", "/api/register_version"] {
        let answer = app
            .send(call(function, &register_body("demo", "v9"), None))
            .await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{function}");
        assert_eq!(
            answer.json(),
            serde_json::json!("Unauthenticated"),
            "{function}"
        );
    }
    assert_eq!(app.send(get("/healthz", None)).await.status, StatusCode::OK);
}

#[tokio::test]
async fn wrong_and_unknown_credentials_get_the_same_answer() {
    let app = TestApp::new().await;
    let wrong = app.login("manager@example.com", "not the password").await;
    let unknown = app.login("nobody@example.com", PASSWORD).await;
    let malformed = app.login("<script>alert(1)</script>", PASSWORD).await;
    for answer in [&wrong, &unknown, &malformed] {
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{}", answer.body);
        assert_eq!(
            answer.json(),
            serde_json::json!({"Invalid": "Wrong email or password."})
        );
        assert!(
            answer.session_cookie().is_none(),
            "no session for a failure"
        );
    }
}

#[tokio::test]
async fn every_server_function_against_every_role() {
    let app = TestApp::new().await;
    // (function, body, expected status for viewer, manager, admin)
    let matrix: Vec<(&str, BodyFor, [StatusCode; 3])> = vec![
        ("/api/me", Box::new(|_| String::new()), [StatusCode::OK; 3]),
        (
            "/api/status",
            Box::new(|_| String::new()),
            [StatusCode::OK; 3],
        ),
        (
            "/api/register_version",
            Box::new(|role| register_body("demo", &format!("by-{role}"))),
            [StatusCode::FORBIDDEN, StatusCode::OK, StatusCode::OK],
        ),
    ];
    for (i, role) in ["viewer", "manager", "admin"].into_iter().enumerate() {
        let cookie = app.sign_in(&format!("{role}@example.com")).await;
        for (function, body, expected) in &matrix {
            let answer = app.send(call(function, &body(role), Some(&cookie))).await;
            assert_eq!(
                answer.status, expected[i],
                "{role} {function}: {}",
                answer.body
            );
            if expected[i] == StatusCode::FORBIDDEN {
                assert!(
                    answer.body.contains("Only managers and admins"),
                    "{}",
                    answer.body
                );
            }
        }
    }
    let denied = denied_entries(&app).await;
    assert_eq!(
        denied.len(),
        1,
        "the viewer's refusal is audited: {denied:?}"
    );
    assert_eq!(denied[0].action, "version.register");
    assert_eq!(denied[0].actor_email.as_deref(), Some("viewer@example.com"));
    assert_eq!(denied[0].runtime.as_deref(), Some("demo"));
    let versions = backend::versions::list(&app.db, "demo")
        .await
        .expect("list");
    assert!(
        versions.iter().all(|v| v.name != "by-viewer"),
        "nothing changed for the viewer"
    );
    assert!(versions.iter().any(|v| v.name == "by-manager"));
}

#[tokio::test]
async fn registration_reports_every_problem_and_refuses_duplicates_and_unknown_runtimes() {
    let app = TestApp::new().await;
    let cookie = app.sign_in("manager@example.com").await;

    let bad =
        "name: Bad_Name\nentrypoint: {image: e, port: 0}\nprocesses: [{name: w, image: ''}]\n";
    let answer = app
        .send(call(
            "/api/register_version",
            &form(&[("runtime", "demo"), ("manifest", bad)]),
            Some(&cookie),
        ))
        .await;
    assert_eq!(
        answer.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        answer.body
    );
    let problems = answer.json()["InvalidFields"].clone();
    let paths: Vec<&str> = problems
        .as_array()
        .expect("a list")
        .iter()
        .filter_map(|p| p["path"].as_str())
        .collect();
    for expected in ["name", "entrypoint.port", "processes[0].image"] {
        assert!(
            paths.contains(&expected),
            "{expected} missing from {paths:?}"
        );
    }

    let answer = app
        .send(call(
            "/api/register_version",
            &form(&[("runtime", "demo"), ("manifest", "{{{ not yaml")]),
            Some(&cookie),
        ))
        .await;
    assert_eq!(
        answer.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        answer.body
    );

    let answer = app
        .send(call(
            "/api/register_version",
            &register_body("demo", "v1"),
            Some(&cookie),
        ))
        .await;
    assert_eq!(answer.status, StatusCode::CONFLICT, "{}", answer.body);
    assert!(
        answer.body.contains("already has a version named"),
        "{}",
        answer.body
    );

    let answer = app
        .send(call(
            "/api/register_version",
            &register_body("nowhere", "v9"),
            Some(&cookie),
        ))
        .await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND, "{}", answer.body);

    let answer = app
        .send(call(
            "/api/register_version",
            &register_body("demo", "v3"),
            Some(&cookie),
        ))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(
        answer.json(),
        serde_json::json!({"runtime": "demo", "name": "v3", "status": "stopped", "processes": 1})
    );
}

#[tokio::test]
async fn signing_in_issues_a_new_session_id_and_signing_out_ends_it_on_the_server() {
    let app = TestApp::new().await;
    let planted = "console_session=attacker-chosen-session-id";
    let answer = app
        .send({
            let mut request = call(
                "/api/login",
                &form(&[("email", "viewer@example.com"), ("password", PASSWORD)]),
                Some(planted),
            );
            request
                .headers_mut()
                .insert(header::COOKIE, planted.parse().expect("cookie"));
            request
        })
        .await;
    let cookie = answer.session_cookie().expect("a session cookie");
    assert_ne!(cookie, planted, "session fixation");
    let set_cookie = answer.headers[header::SET_COOKIE]
        .to_str()
        .expect("cookie header");
    assert!(set_cookie.contains("HttpOnly"), "{set_cookie}");
    assert!(set_cookie.contains("SameSite=Lax"), "{set_cookie}");
    assert!(
        !set_cookie.contains("Secure"),
        "plain HTTP by default: {set_cookie}"
    );

    assert_eq!(
        app.send(get("/", Some(&cookie))).await.status,
        StatusCode::OK
    );
    let out = app.send(call("/api/logout", "", Some(&cookie))).await;
    assert!(
        out.status.is_success() || out.status.is_redirection(),
        "{}",
        out.status
    );
    // The old cookie is worthless now, even replayed.
    assert_eq!(
        app.send(get("/", Some(&cookie))).await.status,
        StatusCode::SEE_OTHER
    );
    let logged = audit::query(
        &app.db,
        &Filter {
            action: Some(AuditAction::Logout),
            ..Filter::default()
        },
        None,
        10,
    )
    .await
    .expect("query");
    assert_eq!(logged.entries.len(), 1);
}

#[tokio::test]
async fn secure_cookies_when_configured() {
    let app = TestApp::with(Options {
        sessions: SessionSettings {
            secure_cookies: true,
            ..SessionSettings::default()
        },
        ..Options::default()
    })
    .await;
    let answer = app.login("viewer@example.com", PASSWORD).await;
    let set_cookie = answer.headers[header::SET_COOKIE]
        .to_str()
        .expect("cookie header");
    assert!(set_cookie.contains("Secure"), "{set_cookie}");
}

#[tokio::test]
async fn forged_expired_and_disabled_sessions_are_anonymous() {
    let app = TestApp::new().await;
    let forged = "console_session=AAAAAAAAAAAAAAAAAAAAAA";
    assert_eq!(
        app.send(call("/api/status", "", Some(forged))).await.status,
        StatusCode::UNAUTHORIZED
    );

    let cookie = app.sign_in("manager@example.com").await;
    assert_eq!(
        app.send(call("/api/status", "", Some(&cookie)))
            .await
            .status,
        StatusCode::OK
    );
    let manager = users::find_by_email(&app.db, "manager@example.com")
        .await
        .expect("lookup")
        .expect("manager");
    let admin = backend::audit::Actor::System;
    users::set_disabled(
        &app.db,
        &admin,
        manager.user.id,
        true,
        &Reason::parse("left the team").expect("reason"),
    )
    .await
    .expect("disable");
    assert_eq!(
        app.send(call("/api/status", "", Some(&cookie)))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    // And they cannot sign in again.
    assert_eq!(
        app.login("manager@example.com", PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );

    let expiring = TestApp::with(Options {
        sessions: SessionSettings {
            absolute: std::time::Duration::ZERO,
            ..SessionSettings::default()
        },
        ..Options::default()
    })
    .await;
    let cookie = expiring.sign_in("viewer@example.com").await;
    assert_eq!(
        expiring
            .send(call("/api/status", "", Some(&cookie)))
            .await
            .status,
        StatusCode::UNAUTHORIZED,
        "past the absolute lifetime"
    );
}

#[tokio::test]
async fn a_role_change_applies_on_the_next_request() {
    let app = TestApp::new().await;
    let cookie = app.sign_in("viewer@example.com").await;
    let viewer = users::find_by_email(&app.db, "viewer@example.com")
        .await
        .expect("lookup")
        .expect("viewer");
    users::change_role(
        &app.db,
        &backend::audit::Actor::System,
        viewer.user.id,
        Role::Manager,
        &Reason::parse("promotion").expect("reason"),
    )
    .await
    .expect("promote");
    let answer = app
        .send(call(
            "/api/register_version",
            &register_body("demo", "v7"),
            Some(&cookie),
        ))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
}

#[tokio::test]
async fn cross_site_posts_are_refused_even_with_a_valid_session() {
    let app = TestApp::new().await;
    let cookie = app.sign_in("manager@example.com").await;
    let with_headers = |headers: &[(&'static str, &str)]| {
        let mut request = call(
            "/api/register_version",
            &register_body("demo", "x1"),
            Some(&cookie),
        );
        request
            .headers_mut()
            .insert(header::HOST, "console.test".parse().expect("host"));
        for (name, value) in headers {
            request
                .headers_mut()
                .insert(*name, value.parse().expect("value"));
        }
        request
    };
    let answer = app
        .send(with_headers(&[("origin", "https://evil.example")]))
        .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN, "{}", answer.body);
    let answer = app
        .send(with_headers(&[("sec-fetch-site", "cross-site")]))
        .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN, "{}", answer.body);
    assert!(
        backend::versions::get(&app.db, "demo", "x1").await.is_err(),
        "nothing registered"
    );

    let answer = app
        .send(with_headers(&[
            ("origin", "http://console.test"),
            ("sec-fetch-site", "same-origin"),
        ]))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
}

#[tokio::test]
async fn repeated_failures_are_throttled_over_http() {
    let app = TestApp::new().await;
    for _ in 0..backend::auth::Throttle::FREE_FAILURES {
        assert_eq!(
            app.login("admin@example.com", "guess guess guess")
                .await
                .status,
            StatusCode::UNAUTHORIZED
        );
    }
    let answer = app.login("admin@example.com", PASSWORD).await;
    assert_eq!(
        answer.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        answer.body
    );
    assert!(
        answer.body.contains("Too many failed sign-ins"),
        "{}",
        answer.body
    );
}
