//! The REST API under `/api/v1` with API tokens: each scope enforced on
//! every endpoint (a table, like the role matrix), a token narrowed the
//! moment its owner is demoted, one uniform 401 for bad, expired and
//! revoked tokens (a revocation seen by another replica on the next
//! request), problem details on every error, audit entries naming the
//! token, and keyset paging by opaque cursor.

use std::time::Duration;

use axum::{
    body::Body,
    http::{Request, StatusCode, header},
};

mod common;
use common::{Answer, Options, TestApp, api_token, app_on_emulator, call, form};

/// A request with `token` as its bearer (and no cookie).
fn bearer(method: &str, uri: &str, token: &str, body: Option<&str>) -> Request<Body> {
    let mut request = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Bearer {token}"));
    if body.is_some() {
        request = request.header(header::CONTENT_TYPE, "application/json");
    }
    request
        .body(Body::from(body.unwrap_or_default().to_owned()))
        .expect("request")
}

/// The answer is problem details with this status and kind.
fn assert_problem(answer: &Answer, status: StatusCode, kind: &str) {
    assert_eq!(answer.status, status, "{}", answer.body);
    assert_eq!(
        answer.content_type(),
        Some("application/problem+json"),
        "{}",
        answer.body
    );
    let json = answer.json();
    assert_eq!(
        json["type"],
        format!("urn:console:problem:{kind}"),
        "{json}"
    );
    assert_eq!(json["status"], status.as_u16(), "{json}");
    assert!(
        json["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{json}"
    );
}

fn manifest(name: &str) -> String {
    include_str!("../../examples/manifests/v1.yaml").replacen(
        "name: v1",
        &format!("name: {name}"),
        1,
    )
}

fn start_body(expected: &str) -> String {
    serde_json::json!({"action": "start", "expected": expected, "reason": "pipeline run 17"})
        .to_string()
}

#[tokio::test]
async fn each_scope_reaches_what_it_grants_on_every_endpoint() {
    let settings = backend::runtime::Settings {
        failure_grace: Duration::from_secs(1),
        // Webhook secrets are sealed with it.
        keyring: backend::configuration::Keyring::generate().expect("a key"),
        ..backend::runtime::Settings::default()
    };
    let (app, _emulator) = app_on_emulator(Duration::from_millis(50), settings).await;
    let admin = app.sign_in("admin@example.com").await;
    let mut tokens = Vec::new();
    for scope in ["read", "operate", "admin"] {
        tokens.push((
            scope,
            api_token(&app, &admin, &format!("ci-{scope}"), scope)
                .await
                .1,
        ));
    }

    use StatusCode as S;
    // (method, path, body for the scope, expected for read / operate / admin)
    type Body = fn(&str) -> Option<String>;
    let none: Body = |_| None;
    let table: Vec<(&str, &str, Body, [S; 3])> = vec![
        ("GET", "/api/v1/runtimes", none, [S::OK; 3]),
        ("GET", "/api/v1/runtimes/demo/versions", none, [S::OK; 3]),
        ("GET", "/api/v1/runtimes/demo/versions/v1", none, [S::OK; 3]),
        (
            "GET",
            "/api/v1/runtimes/demo/versions/v1/nodes/entrypoint/logs",
            none,
            [S::OK; 3],
        ),
        ("GET", "/api/v1/tokens", none, [S::OK; 3]),
        ("GET", "/api/v1/audit", none, [S::FORBIDDEN, S::OK, S::OK]),
        (
            "GET",
            "/api/v1/audit/export?format=json",
            none,
            [S::FORBIDDEN, S::OK, S::OK],
        ),
        ("GET", "/api/v1/runtimes/demo/releases", none, [S::OK; 3]),
        ("GET", "/api/v1/approvals", none, [S::OK; 3]),
        (
            "POST",
            "/api/v1/approvals/999/decision",
            |_| Some(r#"{"approve": true, "reason": "scope table"}"#.to_owned()),
            [S::FORBIDDEN, S::NOT_FOUND, S::NOT_FOUND],
        ),
        (
            "GET",
            "/api/v1/runtimes/demo/webhooks",
            none,
            [S::FORBIDDEN, S::FORBIDDEN, S::OK],
        ),
        (
            "POST",
            "/api/v1/runtimes/demo/webhooks",
            |_| {
                Some(
                    r#"{"url": "https://hooks.example.com/console", "events": ["version.status"]}"#
                        .to_owned(),
                )
            },
            [S::FORBIDDEN, S::FORBIDDEN, S::CREATED],
        ),
        (
            "GET",
            "/api/v1/runtimes/demo/webhooks/999/deliveries",
            none,
            [S::FORBIDDEN, S::FORBIDDEN, S::NOT_FOUND],
        ),
        (
            "DELETE",
            "/api/v1/runtimes/demo/webhooks/999",
            none,
            [S::FORBIDDEN, S::FORBIDDEN, S::NOT_FOUND],
        ),
        (
            "POST",
            "/api/v1/runtimes/demo/versions",
            |scope| Some(manifest(&format!("api-{scope}"))),
            [S::FORBIDDEN, S::CREATED, S::CREATED],
        ),
        // The operate token starts v1; the admin token, which saw it
        // stopped, is told who moved it meanwhile.
        (
            "POST",
            "/api/v1/runtimes/demo/versions/v1/actions",
            |_| Some(start_body("stopped")),
            [S::FORBIDDEN, S::ACCEPTED, S::CONFLICT],
        ),
    ];
    for (method, path, body, expected) in table {
        for ((scope, token), want) in tokens.iter().zip(expected) {
            let body = body(scope);
            let answer = app.send(bearer(method, path, token, body.as_deref())).await;
            assert_eq!(
                answer.status, want,
                "{scope} {method} {path}: {}",
                answer.body
            );
            if !want.is_success() {
                let kind = match want {
                    S::FORBIDDEN => "forbidden",
                    S::CONFLICT => "conflict",
                    S::NOT_FOUND => "not-found",
                    _ => unreachable!("no other refusal in the table"),
                };
                assert_problem(&answer, want, kind);
            }
        }
    }

    // The conflict says who did what and when; the start's audit entry
    // names the token it came with.
    let conflict = app
        .send(bearer(
            "POST",
            "/api/v1/runtimes/demo/versions/v1/actions",
            &tokens[2].1,
            Some(&start_body("stopped")),
        ))
        .await;
    let current = &conflict.json()["current"];
    // By the start, or by the system that finished it meanwhile.
    assert_eq!(current["version"], "v1", "{current}");
    assert!(
        ["starting", "started"].contains(&current["status"].as_str().unwrap_or_default()),
        "{current}"
    );
    assert!(
        current["by"].as_str().is_some() && current["action"].as_str().is_some(),
        "{current}"
    );
    assert!(current["at"].as_str().is_some(), "{current}");
    let entries = app
        .send(bearer(
            "GET",
            "/api/v1/audit?action=version.start&outcome=accepted",
            &tokens[1].1,
            None,
        ))
        .await
        .json();
    let start = &entries["entries"][0];
    assert_eq!(start["version"], "v1", "{start}");
    assert_eq!(start["details"]["token"]["name"], "ci-operate", "{start}");
    // A refused attempt with a token is audited, with the token too.
    let denied = app
        .send(bearer(
            "GET",
            "/api/v1/audit?action=version.start&outcome=denied",
            &tokens[1].1,
            None,
        ))
        .await
        .json();
    assert!(
        denied["entries"]
            .as_array()
            .expect("entries")
            .iter()
            .any(|e| e["details"]["token"]["name"] == "ci-read"
                && e["details"]["missing_permission"] == "operate"),
        "{denied}"
    );
    common::assert_audit_intact(&app.db).await;
}

#[tokio::test]
async fn a_token_is_narrowed_the_moment_its_owner_is_demoted_and_stops_when_disabled() {
    let app = TestApp::new().await;
    let admin = app.sign_in("admin@example.com").await;
    let manager = app.sign_in("manager@example.com").await;
    let (_, token) = api_token(&app, &manager, "deploys", "operate").await;
    let audit = || bearer("GET", "/api/v1/audit", &token, None);
    assert_eq!(app.send(audit()).await.status, StatusCode::OK);

    let id = testkit::actors::manager();
    let backend::audit::Actor::User { id: Some(id), .. } = id else {
        panic!("the demo manager has an id")
    };
    let changed = app
        .send(call(
            "/api/users/role",
            &form(&[
                ("id", &id.to_string()),
                ("role", "viewer"),
                ("reason", "left the team"),
            ]),
            Some(&admin),
        ))
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    assert_problem(&app.send(audit()).await, StatusCode::FORBIDDEN, "forbidden");
    // Still a viewer's token: it reads.
    let runtimes = app
        .send(bearer("GET", "/api/v1/runtimes", &token, None))
        .await;
    assert_eq!(runtimes.status, StatusCode::OK, "{}", runtimes.body);

    let disabled = app
        .send(call(
            "/api/users/disabled",
            &form(&[
                ("id", &id.to_string()),
                ("disabled", "true"),
                ("reason", "left the company"),
            ]),
            Some(&admin),
        ))
        .await;
    assert_eq!(disabled.status, StatusCode::OK, "{}", disabled.body);
    assert_problem(
        &app.send(bearer("GET", "/api/v1/runtimes", &token, None))
            .await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );
}

#[tokio::test]
async fn bad_expired_and_revoked_tokens_get_one_answer_on_every_replica() {
    let a = TestApp::new().await;
    // A second replica: its own router and state over the same database.
    let b = TestApp::with(Options {
        db: Some(a.db.clone()),
        trusted_proxy_hops: 1,
        ..Options::default()
    })
    .await;
    let manager = a.sign_in("manager@example.com").await;
    let (revoked_id, revoked) = api_token(&a, &manager, "old laptop", "read").await;
    let (_, expired) = api_token(&a, &manager, "last quarter", "read").await;
    let (_, good) = api_token(&a, &manager, "current", "read").await;
    // Each from its own address (behind B's one trusted proxy), so that
    // throttling waits until the part of the test about it.
    let runtimes_from = |token: &str, client: &str| {
        let mut request = bearer("GET", "/api/v1/runtimes", token, None);
        request
            .headers_mut()
            .insert("x-forwarded-for", client.parse().expect("header"));
        request
    };
    let runtimes = |token: &str| bearer("GET", "/api/v1/runtimes", token, None);
    assert_eq!(b.send(runtimes(&revoked)).await.status, StatusCode::OK);

    let answer = a
        .send(call(
            "/api/tokens/revoke",
            &form(&[("id", &revoked_id.to_string())]),
            Some(&manager),
        ))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    testkit::db::execute(
        &a.db,
        "UPDATE api_tokens SET expires_at = '2020-01-01T00:00:00.000000Z' WHERE name = 'last quarter'",
    )
    .await
    .expect("the token expires");

    let mut bodies = Vec::new();
    for (n, token) in [
        revoked.clone(),
        expired,
        format!("{good}x"),
        "cst_not-a-token".to_owned(),
    ]
    .into_iter()
    .enumerate()
    {
        let answer = b
            .send(runtimes_from(&token, &format!("198.51.100.{n}")))
            .await;
        assert_problem(&answer, StatusCode::UNAUTHORIZED, "unauthenticated");
        assert!(answer.headers.contains_key(header::WWW_AUTHENTICATE));
        bodies.push(answer.body);
    }
    assert!(bodies.windows(2).all(|w| w[0] == w[1]), "{bodies:?}");
    // A scheme other than Bearer is no token either.
    let basic = Request::get("/api/v1/runtimes")
        .header(header::AUTHORIZATION, "Basic YWRtaW46YWRtaW4=")
        .body(Body::empty())
        .expect("request");
    assert_eq!(b.send(basic).await.body, bodies[0]);

    // Failures are throttled like failed sign-ins: soon even the good
    // token waits, with Retry-After.
    let mut throttled = None;
    for _ in 0..10 {
        let answer = b.send(runtimes_from(&revoked, "203.0.113.7")).await;
        if answer.status == StatusCode::TOO_MANY_REQUESTS {
            throttled = Some(answer);
            break;
        }
    }
    let throttled = throttled.expect("bad tokens are throttled");
    assert_problem(&throttled, StatusCode::TOO_MANY_REQUESTS, "throttled");
    assert!(throttled.headers.contains_key(header::RETRY_AFTER));
    assert_eq!(
        b.send(runtimes_from(&good, "203.0.113.7")).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Elsewhere the good token still works.
    let elsewhere = b.send(runtimes_from(&good, "192.0.2.44")).await;
    assert_eq!(elsewhere.status, StatusCode::OK, "{}", elsewhere.body);
}

#[tokio::test]
async fn tokens_are_shown_once_and_never_wider_than_the_role() {
    let app = TestApp::new().await;
    let viewer = app.sign_in("viewer@example.com").await;
    let wider = app
        .send(call(
            "/api/tokens/create",
            &form(&[("name", "sneaky"), ("scope", "operate"), ("days", "30")]),
            Some(&viewer),
        ))
        .await;
    wider.assert_says(StatusCode::FORBIDDEN, "scope read at most");
    for (days, words) in [("0", "1 to 365"), ("366", "1 to 365"), ("soon", "1 to 365")] {
        app.send(call(
            "/api/tokens/create",
            &form(&[("name", "ci"), ("scope", "read"), ("days", days)]),
            Some(&viewer),
        ))
        .await
        .assert_says(StatusCode::UNPROCESSABLE_ENTITY, words);
    }
    let (_, token) = api_token(&app, &viewer, "dashboards", "read").await;
    let mine = app.send(call("/api/tokens/mine", "", Some(&viewer))).await;
    assert_eq!(mine.status, StatusCode::OK, "{}", mine.body);
    assert!(mine.body.contains("dashboards"), "{}", mine.body);
    assert!(!mine.body.contains(&token), "the secret is shown only once");
    let stored = testkit::db::audit_entries(&app.db, backend::audit::Filter::default()).await;
    assert!(stored.iter().all(|e| !e.details.contains(&token)));
    // Another user's token is not theirs to revoke; an admin's list has it.
    let manager = app.sign_in("manager@example.com").await;
    let (manager_token, _) = api_token(&app, &manager, "deploys", "operate").await;
    app.send(call(
        "/api/tokens/revoke",
        &form(&[("id", &manager_token.to_string())]),
        Some(&viewer),
    ))
    .await
    .assert_says(StatusCode::FORBIDDEN, "owner or an admin");
    let admin = app.sign_in("admin@example.com").await;
    let all = app.send(call("/api/tokens/all", "", Some(&admin))).await;
    assert!(
        all.body.contains("deploys") && all.body.contains("dashboards"),
        "{}",
        all.body
    );
    app.send(call("/api/tokens/all", "", Some(&viewer)))
        .await
        .assert_says(StatusCode::FORBIDDEN, "Only admins");
}

#[tokio::test]
async fn every_error_is_problem_details_and_the_audit_pages_by_cursor() {
    let app = TestApp::new().await;
    let manager = app.sign_in("manager@example.com").await;
    let (_, token) = api_token(&app, &manager, "ci", "operate").await;

    let anonymous = Request::get("/api/v1/runtimes")
        .body(Body::empty())
        .expect("request");
    assert_problem(
        &app.send(anonymous).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );
    let bad_name = manifest("Bad Name");
    let cases = [
        (
            "GET",
            "/api/v1/nowhere",
            None,
            StatusCode::NOT_FOUND,
            "not-found",
        ),
        (
            "DELETE",
            "/api/v1/runtimes",
            None,
            StatusCode::METHOD_NOT_ALLOWED,
            "method-not-allowed",
        ),
        (
            "GET",
            "/api/v1/runtimes/nope/versions",
            None,
            StatusCode::NOT_FOUND,
            "not-found",
        ),
        (
            "GET",
            "/api/v1/runtimes/demo/versions/nope",
            None,
            StatusCode::NOT_FOUND,
            "not-found",
        ),
        (
            "GET",
            "/api/v1/audit?cursor=junk",
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
        ),
        (
            "GET",
            "/api/v1/audit?limit=0",
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
        ),
        (
            "GET",
            "/api/v1/audit?action=version.explode",
            None,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
        ),
        (
            "POST",
            "/api/v1/runtimes/demo/versions/v1/actions",
            Some("{not json"),
            StatusCode::BAD_REQUEST,
            "malformed",
        ),
        (
            "POST",
            "/api/v1/runtimes/demo/versions/v1/actions",
            Some(r#"{"action":"explode","expected":"stopped","reason":"x"}"#),
            StatusCode::UNPROCESSABLE_ENTITY,
            "malformed",
        ),
        (
            "POST",
            "/api/v1/runtimes/demo/versions/v1/actions",
            Some(r#"{"action":"start","expected":"stopped","reason":""}"#),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
        ),
        (
            "POST",
            "/api/v1/runtimes/demo/versions",
            Some("name: [unclosed"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
        ),
        (
            "POST",
            "/api/v1/runtimes/demo/versions",
            Some(bad_name.as_str()),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-fields",
        ),
    ];
    for (method, path, body, status, kind) in cases {
        let answer = app.send(bearer(method, path, &token, body)).await;
        assert_problem(&answer, status, kind);
    }
    let fields = app
        .send(bearer(
            "POST",
            "/api/v1/runtimes/demo/versions",
            &token,
            Some(&bad_name),
        ))
        .await
        .json();
    assert!(fields["errors"][0]["path"].as_str().is_some(), "{fields}");

    // Keyset pages: no entry twice, none skipped, newest first.
    let all = testkit::db::audit_entries(&app.db, backend::audit::Filter::default()).await;
    let mut seen = Vec::new();
    let mut uri = "/api/v1/audit?limit=3".to_owned();
    loop {
        let page = app.send(bearer("GET", &uri, &token, None)).await.json();
        for entry in page["entries"].as_array().expect("entries") {
            seen.push(entry["id"].as_i64().expect("id"));
        }
        match page["next_cursor"].as_str() {
            Some(cursor) => uri = format!("/api/v1/audit?limit=3&cursor={cursor}"),
            None => break,
        }
    }
    let mut ids: Vec<i64> = all.iter().map(|e| e.id).collect();
    ids.sort_unstable_by(|a, b| b.cmp(a));
    assert!(seen.len() > 3, "more than one page: {seen:?}");
    assert_eq!(seen, ids);
}

#[tokio::test]
async fn a_session_reaches_the_api_from_its_own_origin_only() {
    let app = TestApp::new().await;
    let manager = app.sign_in("manager@example.com").await;
    let read = app
        .send(common::get("/api/v1/runtimes", Some(&manager)))
        .await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.body);
    assert_eq!(read.json()[0]["name"], "demo", "{}", read.body);
    let cross_site = Request::post("/api/v1/runtimes/demo/versions/v1/actions")
        .header(header::COOKIE, &manager)
        .header(header::ORIGIN, "https://evil.example")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(start_body("stopped")))
        .expect("request");
    assert_eq!(app.send(cross_site).await.status, StatusCode::FORBIDDEN);
}
