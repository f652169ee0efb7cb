//! Every server function's input decoding against hostile forms, for a
//! fixed time budget (`FUZZ_SECONDS`, 5 by default; seeded, so a longer
//! budget goes further down the same sequence): missing, repeated and
//! unknown fields, oversized and control-character values, markup, SQL,
//! numbers out of range, malformed encodings, wrong content types. Every
//! answer is a typed, safe error or a success, never a panic, a leaked
//! internal or a server error; markup comes back escaped on every page, and
//! the audit chain still verifies afterwards.

use std::time::{Duration, Instant};

use axum::{
    body::Body,
    http::{Request, StatusCode, header},
};
use backend::audit::{self, Verification};

mod common;
use common::{TestApp, form, get};
use testkit::Rng;

/// Shows up raw in a page only if something forgot to escape it.
const MARKUP: &str = "<img src=x onerror=alert(1)>";

const VALUES: &[&str] = &[
    "",
    " ",
    "\t\n",
    "demo",
    "v1",
    "v2",
    "broken",
    "score",
    "entrypoint",
    "start",
    "stop",
    "publish",
    "unpublish",
    "stopped",
    "started",
    "starting",
    "error",
    "viewer",
    "manager",
    "admin",
    "true",
    "false",
    "on",
    "a valid reason",
    MARKUP,
    "\"quoted\" & 'single'",
    "'; DROP TABLE audit_log; --",
    "../../etc/passwd",
    "\u{0}",
    "bell\u{7}",
    "rtl\u{202e}",
    "é",
    "-1",
    "0",
    "99999999999999999999",
    "1e309",
    "NaN",
    "a@b",
    "new@example.com",
    "MIXED@Example.COM",
    "a long enough password",
    "2026-13-45T99:99",
    "2026-11-28T10:00",
    "version.start",
    "user.create",
    "denied",
    "allowed",
];

/// Bodies that are not forms at all.
const RAW: &[&str] = &[
    "%ZZ",
    "a=%",
    "&&&=",
    "=",
    "a[]=1&a[]=2",
    "{\"runtime\":1}",
    "\u{fffd}",
];

const FUNCTIONS: &[(&str, &[&str])] = &[
    ("/api/login", &["email", "password"]),
    ("/api/me", &[]),
    ("/api/status", &[]),
    ("/api/runtimes", &[]),
    ("/api/register_version", &["runtime", "manifest"]),
    ("/api/version", &["runtime", "version"]),
    ("/api/version_details", &["runtime", "version"]),
    ("/api/version_timeline", &["runtime", "version"]),
    ("/api/node_logs", &["runtime", "version", "node"]),
    (
        "/api/version_action",
        &[
            "runtime",
            "version",
            "action",
            "expected",
            "reason",
            "break_glass",
        ],
    ),
    (
        "/api/audit",
        &[
            "user", "action", "runtime", "version", "outcome", "from", "to", "before",
        ],
    ),
    ("/api/runtimes/get", &["runtime"]),
    ("/api/releases/get", &["runtime", "before", "at"]),
    (
        "/api/releases/roll_back",
        &["runtime", "to", "reason", "start_first", "break_glass"],
    ),
    ("/api/versions/dry_run", &["runtime", "version", "action"]),
    ("/api/approvals/list", &[]),
    ("/api/approvals/decide", &["id", "approve", "reason"]),
    ("/api/approvals/withdraw", &["id", "reason"]),
    (
        "/api/schedules/create",
        &["runtime", "version", "action", "run_at", "reason"],
    ),
    ("/api/schedules/cancel", &["id", "reason"]),
    (
        "/api/versions/configure",
        &[
            "runtime",
            "version",
            "reason",
            "values[DATABASE_URL]",
            "secrets[RULES_API_KEY]",
        ],
    ),
    ("/api/releases/diff", &["runtime", "from", "to"]),
    (
        "/api/version_bad_mark",
        &["runtime", "version", "bad", "reason"],
    ),
    (
        "/api/runtimes/create",
        &[
            "name",
            "fields[base_domain]",
            "fields[host]",
            "fields[tls]",
            "fields[annotations]",
            "fields[workloads]",
            "reason",
        ],
    ),
    // Deleting is left out: an admin deleting the (empty) demo runtime with
    // a valid reason is no loss, but the pages checked below would be gone.
    (
        "/api/runtimes/update",
        &[
            "runtime",
            "fields[base_domain]",
            "fields[ingress_class]",
            "fields[pull_secrets]",
            "fields[pod_security]",
            "fields[workloads]",
            "fields[windows]",
            "reason",
        ],
    ),
    ("/api/users/list", &[]),
    (
        "/api/users/create",
        &["email", "role", "password", "reason"],
    ),
    ("/api/users/role", &["id", "role", "reason"]),
    ("/api/users/revoke", &["id", "reason"]),
    ("/api/users/password", &["id", "password", "reason"]),
    ("/api/users/disabled", &["id", "disabled", "reason"]),
];

fn budget() -> Duration {
    Duration::from_secs(
        std::env::var("FUZZ_SECONDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(5),
    )
}

fn value(rng: &mut Rng, ids: &[String]) -> String {
    match rng.below(10) {
        // Just under, at and far over the 1,000-character reason limit.
        0 => "x".repeat([1000, 1001, 5000][rng.below(3)]),
        1 => ids[rng.below(ids.len())].clone(),
        2 => format!("{}{}", rng.pick(VALUES), rng.pick(VALUES)),
        _ => rng.pick(VALUES).to_owned(),
    }
}

fn hostile_request(rng: &mut Rng, ids: &[String], cookie: Option<&str>) -> (String, Request<Body>) {
    let (path, fields) = FUNCTIONS[rng.below(FUNCTIONS.len())];
    let body = if rng.chance(10) {
        rng.pick(RAW).to_owned()
    } else {
        let mut pairs = Vec::new();
        for field in fields {
            if rng.chance(85) {
                pairs.push((field.to_string(), value(rng, ids)));
            }
            if rng.chance(5) {
                pairs.push((field.to_string(), value(rng, ids)));
            }
        }
        if rng.chance(10) {
            pairs.push((rng.pick(VALUES).to_owned(), value(rng, ids)));
        }
        let pairs = pairs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect::<Vec<_>>();
        form(&pairs)
    };
    let content_type = match rng.below(10) {
        0 => "application/json",
        1 => "text/plain",
        _ => "application/x-www-form-urlencoded",
    };
    let mut request = Request::post(path)
        .header(header::CONTENT_TYPE, content_type)
        .header(header::ACCEPT, "application/json");
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    let described = format!("POST {path} ({content_type}) {body:?}");
    (described, request.body(Body::from(body)).expect("request"))
}

fn assert_safe(described: &str, status: StatusCode, body: &str) {
    for leak in [
        "panicked",
        ".rs:",
        "sqlx",
        "SQLITE",
        "syntax error",
        "stack backtrace",
    ] {
        assert!(!body.contains(leak), "{described} leaked {leak:?}: {body}");
    }
    let acceptable = status.is_success()
        || status.is_client_error()
        // Without a cluster, actions are refused as unavailable.
        || status == StatusCode::SERVICE_UNAVAILABLE;
    assert!(acceptable, "{described}: {status} {body}");
    if !status.is_success() {
        let error: Result<app::ConsoleError, _> = serde_json::from_str(body);
        assert!(error.is_ok(), "{described}: untyped error {status} {body}");
    }
}

#[tokio::test]
async fn hostile_server_function_input_gets_safe_typed_answers_and_loses_nothing() {
    let app = TestApp::new().await;
    let admin = app.sign_in("admin@example.com").await;
    // Users other than the admin, so the admin's own session survives.
    let mut ids = Vec::new();
    for email in ["viewer@example.com", "manager@example.com"] {
        let user = backend::users::find_by_email(&app.db, email)
            .await
            .expect("lookup")
            .expect("seeded");
        ids.push(user.user.id.to_string());
    }
    let mut rng = Rng(0x5eed_cafe_f00d_d00d);
    let deadline = Instant::now() + budget();
    let (mut calls, mut statuses) = (0, std::collections::BTreeMap::new());
    while Instant::now() < deadline {
        // One in five calls comes from nobody.
        let cookie = (!rng.chance(20)).then_some(admin.as_str());
        let (described, request) = hostile_request(&mut rng, &ids, cookie);
        let answer = app.send(request).await;
        assert_safe(&described, answer.status, &answer.body);
        if cookie.is_none() && !described.contains("/api/login") && !described.contains("/api/me") {
            assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{described}");
        }
        *statuses.entry(answer.status.as_u16()).or_insert(0) += 1;
        calls += 1;
    }
    eprintln!("{calls} hostile calls in {:?}: {statuses:?}", budget());
    assert!(
        statuses.len() > 3,
        "the inputs reached past decoding: {statuses:?}"
    );

    // Markup in a reason, for certain (the random calls may not have
    // recorded one).
    let revoke = common::call(
        "/api/users/revoke",
        &form(&[("id", &ids[0]), ("reason", MARKUP)]),
        Some(&admin),
    );
    assert_eq!(app.send(revoke).await.status, StatusCode::OK);

    // Still signed in, and every page shows the markup escaped, never raw.
    let me = app.send(common::call("/api/me", "", Some(&admin))).await;
    assert!(me.body.contains("admin@example.com"), "{}", me.body);
    let mut escaped = 0;
    for path in [
        "/audit",
        "/audit?outcome=denied",
        "/users",
        "/runtimes",
        "/runtimes/demo/versions/v1",
        "/runtimes/demo/settings",
        "/runtimes/demo/releases",
        "/runtimes/demo/diff?from=v1&to=v2",
        "/approvals",
    ] {
        let page = app.send(get(path, Some(&admin))).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert!(!page.body.contains(MARKUP), "{path} shows markup raw");
        escaped += page
            .body
            .matches("&lt;img src=x onerror=alert(1)&gt;")
            .count();
    }
    assert!(
        escaped > 0,
        "the markup was recorded somewhere and shown escaped"
    );
    match audit::verify(&app.db).await.expect("verify") {
        Verification::Intact { entries, .. } => assert!(entries > 0),
        broken => panic!("audit chain broken: {broken:?}"),
    }
}
