//! Signing in and out, sessions and the role table, over HTTP in-process:
//! every server function against every role, session fixation, logout,
//! forged and stale sessions, cross-site refusal and throttling.

use axum::http::{HeaderValue, StatusCode, header};
use backend::{
    audit::{self, Filter},
    users,
};
use lifecycle::{AuditAction, Outcome, Reason, Role};
use server::state::SessionSettings;

mod common;
use common::{Answer, Options, PASSWORD, TestApp, call, form, get};

const MANIFEST: &str = "name: NAME\nentrypoint: {image: registry.example.com/entry:1, port: 8080}\nprocesses:\n  - {name: worker, image: registry.example.com/worker:1}\n";

fn register_body(runtime: &str, version: &str) -> String {
    form(&[
        ("runtime", runtime),
        ("manifest", &MANIFEST.replace("NAME", version)),
    ])
}

/// A version registered through the server function as `cookie`.
async fn register(app: &TestApp, cookie: &str, body: &str) -> Answer {
    app.send(call("/api/register_version", body, Some(cookie)))
        .await
}

async fn user_id(app: &TestApp, email: &str) -> i64 {
    users::find_by_email(&app.db, email)
        .await
        .expect("lookup")
        .unwrap_or_else(|| panic!("{email} exists"))
        .user
        .id
}

/// A server function's form body for a role.
type BodyFor = Box<dyn Fn(&str) -> String>;

async fn denied_entries(app: &TestApp) -> Vec<audit::Entry> {
    let filter = Filter {
        outcome: Some(Outcome::Denied),
        ..Filter::default()
    };
    testkit::db::audit_entries(&app.db, filter).await
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

async fn target_user(app: &TestApp) -> i64 {
    users::create(
        &app.db,
        &backend::audit::Actor::System,
        "target@example.com",
        Role::Viewer,
        "a long enough password",
        &Reason::parse("test target").expect("reason"),
    )
    .await
    .expect("target user")
    .id
}

#[tokio::test]
async fn every_server_function_against_every_role() {
    use StatusCode as S;
    let app = TestApp::new().await;
    let target = target_user(&app).await.to_string();
    let admin_only = [S::FORBIDDEN, S::FORBIDDEN, S::OK];
    let on_target = move |fields: &[(&str, &str)]| -> String {
        let mut all = vec![("id", target.as_str()), ("reason", "matrix test")];
        all.extend_from_slice(fields);
        form(&all)
    };
    let on_target = std::sync::Arc::new(on_target);
    let body_on = |fields: &'static [(&'static str, &'static str)]| -> BodyFor {
        let on_target = on_target.clone();
        Box::new(move |_| on_target(fields))
    };
    // (function, body for the role, expected status for viewer, manager, admin)
    let matrix: Vec<(&str, BodyFor, [StatusCode; 3])> = vec![
        ("/api/me", Box::new(|_| String::new()), [S::OK; 3]),
        ("/api/status", Box::new(|_| String::new()), [S::OK; 3]),
        (
            "/api/register_version",
            Box::new(|role| register_body("demo", &format!("by-{role}"))),
            [S::FORBIDDEN, S::OK, S::OK],
        ),
        (
            "/api/version",
            Box::new(|_| form(&[("runtime", "demo"), ("version", "v1")])),
            [S::OK; 3],
        ),
        ("/api/runtimes", Box::new(|_| String::new()), [S::OK; 3]),
        (
            "/api/version_details",
            Box::new(|_| form(&[("runtime", "demo"), ("version", "v1")])),
            [S::OK; 3],
        ),
        (
            "/api/version_timeline",
            Box::new(|_| form(&[("runtime", "demo"), ("version", "v1")])),
            [S::FORBIDDEN, S::OK, S::OK],
        ),
        (
            "/api/audit",
            Box::new(|_| form(&[("action", "version.register")])),
            [S::FORBIDDEN, S::OK, S::OK],
        ),
        (
            "/api/node_logs",
            Box::new(|_| form(&[("runtime", "demo"), ("version", "v1"), ("node", "score")])),
            [S::OK; 3],
        ),
        (
            // No cluster in this app: allowed roles are told so (503).
            "/api/version_action",
            Box::new(|_| {
                form(&[
                    ("runtime", "demo"),
                    ("version", "v1"),
                    ("action", "start"),
                    ("expected", "stopped"),
                    ("reason", "matrix test"),
                ])
            }),
            [S::FORBIDDEN, S::SERVICE_UNAVAILABLE, S::SERVICE_UNAVAILABLE],
        ),
        (
            "/api/runtimes/get",
            Box::new(|_| form(&[("runtime", "demo")])),
            [S::OK; 3],
        ),
        (
            // The manager marks v1 bad, the admin clears the mark.
            "/api/version_bad_mark",
            Box::new(|role| {
                form(&[
                    ("runtime", "demo"),
                    ("version", "v1"),
                    ("bad", if role == "admin" { "false" } else { "true" }),
                    ("reason", "matrix test"),
                ])
            }),
            [S::FORBIDDEN, S::OK, S::OK],
        ),
        (
            // Nothing has served the demo runtime: no release to go back to.
            "/api/releases/roll_back",
            Box::new(|_| form(&[("runtime", "demo"), ("reason", "matrix test")])),
            [S::FORBIDDEN, S::NOT_FOUND, S::NOT_FOUND],
        ),
        (
            "/api/releases/diff",
            Box::new(|_| form(&[("runtime", "demo"), ("from", "v1"), ("to", "v2")])),
            [S::OK; 3],
        ),
        (
            "/api/approvals/list",
            Box::new(|_| String::new()),
            [S::OK; 3],
        ),
        (
            // No such request.
            "/api/approvals/decide",
            Box::new(|_| {
                form(&[
                    ("id", "999"),
                    ("approve", "true"),
                    ("reason", "matrix test"),
                ])
            }),
            [S::FORBIDDEN, S::NOT_FOUND, S::NOT_FOUND],
        ),
        (
            "/api/approvals/withdraw",
            Box::new(|_| form(&[("id", "999"), ("reason", "matrix test")])),
            [S::FORBIDDEN, S::NOT_FOUND, S::NOT_FOUND],
        ),
        (
            // A schedule is kept without a cluster (the leader runs it).
            "/api/schedules/create",
            Box::new(|_| {
                let at = (chrono::Utc::now() + chrono::Duration::days(30)).to_rfc3339();
                form(&[
                    ("runtime", "demo"),
                    ("version", "v1"),
                    ("action", "start"),
                    ("run_at", &at),
                    ("reason", "matrix test"),
                ])
            }),
            [S::FORBIDDEN, S::OK, S::OK],
        ),
        (
            "/api/schedules/cancel",
            Box::new(|_| form(&[("id", "999"), ("reason", "matrix test")])),
            [S::FORBIDDEN, S::NOT_FOUND, S::NOT_FOUND],
        ),
        (
            // A plain value needs no secret key.
            "/api/versions/configure",
            Box::new(|role| {
                form(&[
                    ("runtime", "demo"),
                    ("version", "v4"),
                    (
                        "values[DATABASE_URL]",
                        &format!("postgres://{role}@db/fraud"),
                    ),
                    ("reason", "matrix test"),
                ])
            }),
            [S::FORBIDDEN, S::OK, S::OK],
        ),
        (
            // No cluster in this app: allowed roles are told so (503).
            "/api/versions/dry_run",
            Box::new(|_| form(&[("runtime", "demo"), ("version", "v1"), ("action", "start")])),
            [S::FORBIDDEN, S::SERVICE_UNAVAILABLE, S::SERVICE_UNAVAILABLE],
        ),
        (
            // Every user makes tokens for themselves, within their role.
            "/api/tokens/create",
            Box::new(|role| {
                form(&[
                    ("name", &format!("{role}-ci")),
                    ("scope", "read"),
                    ("days", "7"),
                ])
            }),
            [S::OK; 3],
        ),
        ("/api/tokens/mine", Box::new(|_| String::new()), [S::OK; 3]),
        ("/api/tokens/all", Box::new(|_| String::new()), admin_only),
        (
            "/api/tokens/revoke",
            Box::new(|_| form(&[("id", "999")])),
            [S::NOT_FOUND; 3],
        ),
        (
            "/api/releases/get",
            Box::new(|_| form(&[("runtime", "demo"), ("at", "2026-12-07T00:00:00Z")])),
            [S::OK; 3],
        ),
        (
            "/api/runtimes/create",
            Box::new(|role| {
                form(&[
                    ("name", &format!("by-{role}")),
                    ("fields[base_domain]", "example.com"),
                    ("reason", "matrix test"),
                ])
            }),
            admin_only,
        ),
        (
            "/api/runtimes/update",
            Box::new(|_| {
                form(&[
                    ("runtime", "demo"),
                    ("fields[base_domain]", "demo.localhost"),
                    ("fields[ingress_class]", "nginx"),
                    ("reason", "matrix test"),
                ])
            }),
            admin_only,
        ),
        (
            // The admin's pass created it just before.
            "/api/runtimes/delete",
            Box::new(|_| form(&[("runtime", "by-admin"), ("reason", "matrix test")])),
            admin_only,
        ),
        (
            "/api/webhooks/list",
            Box::new(|_| form(&[("runtime", "demo")])),
            admin_only,
        ),
        (
            // This app has no secret key to seal the signing secret with.
            "/api/webhooks/create",
            Box::new(|_| {
                form(&[
                    ("runtime", "demo"),
                    ("url", "https://hooks.example.com/console"),
                    ("events[version_status]", "on"),
                ])
            }),
            [S::FORBIDDEN, S::FORBIDDEN, S::SERVICE_UNAVAILABLE],
        ),
        (
            "/api/webhooks/deliveries",
            Box::new(|_| form(&[("runtime", "demo"), ("id", "999")])),
            [S::FORBIDDEN, S::FORBIDDEN, S::NOT_FOUND],
        ),
        (
            "/api/webhooks/resend",
            Box::new(|_| form(&[("runtime", "demo"), ("id", "999"), ("delivery", "1")])),
            [S::FORBIDDEN, S::FORBIDDEN, S::NOT_FOUND],
        ),
        (
            "/api/webhooks/delete",
            Box::new(|_| form(&[("runtime", "demo"), ("id", "999")])),
            [S::FORBIDDEN, S::FORBIDDEN, S::NOT_FOUND],
        ),
        ("/api/users/list", Box::new(|_| String::new()), admin_only),
        (
            "/api/users/create",
            Box::new(|role| {
                form(&[
                    ("email", &format!("new-by-{role}@example.com")),
                    ("role", "viewer"),
                    ("password", "a long enough password"),
                    ("reason", "matrix test"),
                ])
            }),
            admin_only,
        ),
        (
            "/api/users/role",
            body_on(&[("role", "manager")]),
            admin_only,
        ),
        ("/api/users/revoke", body_on(&[]), admin_only),
        (
            "/api/users/password",
            body_on(&[("password", "another long password")]),
            admin_only,
        ),
        (
            "/api/users/disabled",
            body_on(&[("disabled", "true")]),
            admin_only,
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
            if expected[i] == S::FORBIDDEN {
                assert!(answer.body.contains("Only "), "{}", answer.body);
            }
        }
    }
    // Every refused change is audited (reads are not): the viewer's
    // registration, start, bad mark, rollback and configuration, and five
    // user changes, three runtime changes and three webhook changes each
    // from viewer and manager.
    let denied = denied_entries(&app).await;
    assert_eq!(denied.len(), 31, "{denied:?}");
    let register = denied
        .iter()
        .find(|e| e.action == "version.register")
        .expect("the viewer's registration");
    assert_eq!(register.actor_email.as_deref(), Some("viewer@example.com"));
    assert_eq!(register.runtime.as_deref(), Some("demo"));

    let versions = backend::versions::list(&app.db, "demo")
        .await
        .expect("list");
    assert!(
        versions.iter().all(|v| v.name != "by-viewer"),
        "nothing changed for the viewer"
    );
    assert!(versions.iter().any(|v| v.name == "by-manager"));
    let target = users::find_by_email(&app.db, "target@example.com")
        .await
        .expect("lookup")
        .expect("target");
    assert_eq!(target.user.role, Role::Manager, "the admin's change only");
    let runtimes: Vec<String> = backend::runtimes::list(&app.db)
        .await
        .expect("runtimes")
        .into_iter()
        .map(|r| r.name)
        .collect();
    assert_eq!(runtimes, ["demo"], "the admin's runtime came and went");
    let demo = backend::runtimes::get(&app.db, "demo").await.expect("demo");
    assert_eq!(demo.settings.ingress_class.as_deref(), Some("nginx"));
    assert!(target.user.disabled);
    let listed = users::list(&app.db).await.expect("list");
    assert!(listed.iter().any(|u| u.email == "new-by-admin@example.com"));
    assert!(
        !listed
            .iter()
            .any(|u| u.email.starts_with("new-by-viewer") || u.email.starts_with("new-by-manager"))
    );
}

#[tokio::test]
async fn registration_reports_every_problem_and_refuses_duplicates_and_unknown_runtimes() {
    let app = TestApp::new().await;
    let cookie = app.sign_in("manager@example.com").await;

    let bad =
        "name: Bad_Name\nentrypoint: {image: e, port: 0}\nprocesses: [{name: w, image: ''}]\n";
    let answer = register(
        &app,
        &cookie,
        &form(&[("runtime", "demo"), ("manifest", bad)]),
    )
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

    let answer = register(
        &app,
        &cookie,
        &form(&[("runtime", "demo"), ("manifest", "{{{ not yaml")]),
    )
    .await;
    assert_eq!(
        answer.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        answer.body
    );

    let answer = register(&app, &cookie, &register_body("demo", "v1")).await;
    assert_eq!(answer.status, StatusCode::CONFLICT, "{}", answer.body);
    assert!(
        answer.body.contains("already has a version named"),
        "{}",
        answer.body
    );

    let answer = register(&app, &cookie, &register_body("nowhere", "v9")).await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND, "{}", answer.body);

    let answer = register(&app, &cookie, &register_body("demo", "v3")).await;
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

// A signed-in cookie planted in a victim's browser must not become the
// victim's session when they sign in over it: the second sign-in is a new
// session with a new id, and the planted one is dead.
#[tokio::test]
async fn a_second_sign_in_over_a_signed_in_session_gets_a_new_id_and_ends_the_old() {
    let app = TestApp::new().await;
    let viewer = app.sign_in("viewer@example.com").await;
    let answer = app
        .send(call(
            "/api/login",
            &form(&[("email", "manager@example.com"), ("password", PASSWORD)]),
            Some(&viewer),
        ))
        .await;
    assert!(
        answer.status.is_success(),
        "{} {}",
        answer.status,
        answer.body
    );
    let manager = answer.session_cookie().expect("a new session cookie");
    assert_ne!(manager, viewer, "session fixation on a second sign-in");
    let me = app.send(call("/api/me", "", Some(&manager))).await;
    assert!(me.body.contains("manager@example.com"), "{}", me.body);
    // The planted cookie is nobody's session now, the manager's least of all.
    let planted = app.send(call("/api/me", "", Some(&viewer))).await;
    assert_eq!(planted.json(), serde_json::json!(null), "{}", planted.body);
}

// A role change is a privilege change: the sessions made before it end, and
// the user signs in again into a new session with the new role.
#[tokio::test]
async fn a_role_change_ends_the_users_sessions() {
    let app = TestApp::new().await;
    let admin = app.sign_in("admin@example.com").await;
    let viewer = app.sign_in("viewer@example.com").await;
    let id = user_id(&app, "viewer@example.com").await;
    let changed = app
        .send(call(
            "/api/users/role",
            &form(&[
                ("id", &id.to_string()),
                ("role", "manager"),
                ("reason", "promotion"),
            ]),
            Some(&admin),
        ))
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    let me = app.send(call("/api/me", "", Some(&viewer))).await;
    assert_eq!(me.json(), serde_json::json!(null), "{}", me.body);
    let again = app.sign_in("viewer@example.com").await;
    assert_ne!(again, viewer);
    let me = app.send(call("/api/me", "", Some(&again))).await;
    assert!(me.body.contains("\"manager\""), "{}", me.body);
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
    let manager_id = user_id(&app, "manager@example.com").await;
    let admin = backend::audit::Actor::System;
    users::set_disabled(
        &app.db,
        &admin,
        manager_id,
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

    let idle = TestApp::with(Options {
        sessions: SessionSettings {
            idle: std::time::Duration::ZERO,
            ..SessionSettings::default()
        },
        ..Options::default()
    })
    .await;
    let cookie = idle.sign_in("viewer@example.com").await;
    assert_eq!(
        idle.send(call("/api/status", "", Some(&cookie)))
            .await
            .status,
        StatusCode::UNAUTHORIZED,
        "past the idle lifetime"
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
async fn a_demotion_takes_the_next_request_out_of_the_old_role() {
    let app = TestApp::new().await;
    let cookie = app.sign_in("manager@example.com").await;
    let manager_id = user_id(&app, "manager@example.com").await;
    users::change_role(
        &app.db,
        &backend::audit::Actor::System,
        manager_id,
        Role::Viewer,
        &Reason::parse("demotion").expect("reason"),
    )
    .await
    .expect("demote");
    let answer = register(&app, &cookie, &register_body("demo", "v7")).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{}", answer.body);
    let again = app.sign_in("manager@example.com").await;
    let answer = register(&app, &again, &register_body("demo", "v7")).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN, "{}", answer.body);
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
    let refused = app.login("admin@example.com", PASSWORD).await;
    refused.assert_says(StatusCode::TOO_MANY_REQUESTS, "Too many failed sign-ins");
    let retry_after: u64 = refused.headers[header::RETRY_AFTER]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((1..=900).contains(&retry_after), "{retry_after}");
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_address_is_throttled_not_the_proxy() {
    let app = TestApp::with(Options {
        trusted_proxy_hops: 1,
        ..Options::default()
    })
    .await;
    let login_from = |forwarded: &'static str, email: &str, password: &str| {
        let mut request = call(
            "/api/login",
            &form(&[("email", email), ("password", password)]),
            None,
        );
        request
            .headers_mut()
            .insert("x-forwarded-for", HeaderValue::from_static(forwarded));
        app.send(request)
    };
    // An attacker behind the ingress, guessing at many accounts and
    // putting a forged address first.
    for n in 0..backend::auth::Throttle::ADDRESS_FREE_FAILURES {
        let answer = login_from(
            "198.51.100.1, 203.0.113.9",
            &format!("user{n}@example.com"),
            "guess guess guess",
        )
        .await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    }
    login_from("203.0.113.9", "viewer@example.com", PASSWORD)
        .await
        .assert_says(StatusCode::TOO_MANY_REQUESTS, "Too many failed sign-ins");
    // Everyone else behind the same ingress still signs in, including from
    // the address the attacker forged.
    let other = login_from("198.51.100.1", "viewer@example.com", PASSWORD).await;
    assert_eq!(other.status, StatusCode::OK, "{}", other.body);
}

#[tokio::test]
async fn user_management_refuses_bad_input_and_keeps_the_last_admin() {
    let app = TestApp::new().await;
    let cookie = app.sign_in("admin@example.com").await;
    let admin_id = user_id(&app, "admin@example.com").await.to_string();
    let before = users::list(&app.db).await.expect("list");
    let ok_password = "a long enough password";
    for (function, fields, status, message) in [
        (
            "/api/users/create",
            vec![
                ("email", "x@example.com"),
                ("role", "viewer"),
                ("password", "short"),
                ("reason", "r"),
            ],
            StatusCode::UNPROCESSABLE_ENTITY,
            "at least 12",
        ),
        (
            "/api/users/create",
            vec![
                ("email", "not-an-email"),
                ("role", "viewer"),
                ("password", ok_password),
                ("reason", "r"),
            ],
            StatusCode::UNPROCESSABLE_ENTITY,
            "name@example.com",
        ),
        (
            "/api/users/create",
            vec![
                ("email", "x@example.com"),
                ("role", "root"),
                ("password", ok_password),
                ("reason", "r"),
            ],
            StatusCode::UNPROCESSABLE_ENTITY,
            "viewer, manager or admin",
        ),
        (
            "/api/users/create",
            vec![
                ("email", "x@example.com"),
                ("role", "viewer"),
                ("password", ok_password),
                ("reason", "   "),
            ],
            StatusCode::UNPROCESSABLE_ENTITY,
            "reason is required",
        ),
        (
            "/api/users/create",
            vec![
                ("email", "viewer@example.com"),
                ("role", "viewer"),
                ("password", ok_password),
                ("reason", "r"),
            ],
            StatusCode::CONFLICT,
            "already exists",
        ),
        (
            "/api/users/role",
            vec![
                ("id", admin_id.as_str()),
                ("role", "viewer"),
                ("reason", "r"),
            ],
            StatusCode::CONFLICT,
            "at least one enabled admin",
        ),
        (
            "/api/users/disabled",
            vec![
                ("id", admin_id.as_str()),
                ("disabled", "true"),
                ("reason", "r"),
            ],
            StatusCode::CONFLICT,
            "at least one enabled admin",
        ),
        (
            "/api/users/revoke",
            vec![("id", "999999"), ("reason", "r")],
            StatusCode::NOT_FOUND,
            "does not exist",
        ),
    ] {
        let answer = app
            .send(call(function, &form(&fields), Some(&cookie)))
            .await;
        assert_eq!(
            answer.status, status,
            "{function} {fields:?}: {}",
            answer.body
        );
        assert!(
            answer.body.to_lowercase().contains(&message.to_lowercase()),
            "{function}: {}",
            answer.body
        );
    }
    assert_eq!(
        users::list(&app.db).await.expect("list"),
        before,
        "nothing changed"
    );
}

#[tokio::test]
async fn revoking_or_resetting_ends_the_users_sessions() {
    let app = TestApp::new().await;
    let admin = app.sign_in("admin@example.com").await;
    let manager = app.sign_in("manager@example.com").await;
    let manager_id = user_id(&app, "manager@example.com").await.to_string();
    let revoke = form(&[("id", &manager_id), ("reason", "lost laptop")]);
    let answer = app
        .send(call("/api/users/revoke", &revoke, Some(&admin)))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(
        app.send(call("/api/status", "", Some(&manager)))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );

    let manager = app.sign_in("manager@example.com").await;
    let reset = form(&[
        ("id", &manager_id),
        ("password", "a brand new password"),
        ("reason", "reset on request"),
    ]);
    let answer = app
        .send(call("/api/users/password", &reset, Some(&admin)))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(
        app.send(call("/api/status", "", Some(&manager)))
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.login("manager@example.com", PASSWORD).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert!(
        app.login("manager@example.com", "a brand new password")
            .await
            .session_cookie()
            .is_some()
    );
    // The admin's own session is untouched.
    assert_eq!(
        app.send(call("/api/users/list", "", Some(&admin)))
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn the_users_page_is_for_admins() {
    let app = TestApp::new().await;
    let admin = app.sign_in("admin@example.com").await;
    let page = app.send(get("/users", Some(&admin))).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("manager@example.com"), "{}", page.body);
    assert!(
        page.body.contains(r#"href="/users""#),
        "admins see the link"
    );

    let viewer = app.sign_in("viewer@example.com").await;
    let page = app.send(get("/users", Some(&viewer))).await;
    assert!(
        page.body.contains("Only admins can manage users."),
        "{}",
        page.body
    );
    assert!(
        !page.body.contains("manager@example.com"),
        "no user list for a viewer"
    );
    let home = app.send(get("/", Some(&viewer))).await;
    assert!(
        !home.body.contains(r#"href="/users""#),
        "viewers do not see the link"
    );
}

#[tokio::test]
async fn a_plain_form_failure_goes_back_to_the_form_with_the_error() {
    // What a browser sends before the wasm has loaded.
    let app = TestApp::new().await;
    let request = axum::http::Request::post("/api/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "text/html")
        .header(header::REFERER, "http://console.test/login?next=%2F")
        .body(axum::body::Body::from(form(&[
            ("email", "viewer@example.com"),
            ("password", "wrong one here"),
        ])))
        .expect("request");
    let answer = app.send(request).await;
    assert_eq!(answer.status, StatusCode::FOUND, "{}", answer.body);
    let location = answer.headers[header::LOCATION].to_str().expect("location");
    assert!(
        location.starts_with("http://console.test/login?next=%2F"),
        "{location}"
    );
    assert!(
        location.contains("__err="),
        "the error rides along: {location}"
    );
}
