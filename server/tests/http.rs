//! The router in-process: probes, pages, server functions, static files.

use axum::http::{StatusCode, header};
use backend::{Cluster, ClusterMode, Database};

mod common;
use common::{Options, TestApp, call, get};

#[tokio::test]
async fn healthz_answers_while_the_process_is_up() {
    let app = TestApp::new().await;
    let answer = app.send(get("/healthz", None)).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.content_type(), Some("application/json"));
    let body = answer.json();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
}

#[tokio::test]
async fn readyz_is_ready_with_a_database_and_no_cluster_configured() {
    let app = TestApp::new().await;
    let answer = app.send(get("/readyz", None)).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(
        answer.json(),
        serde_json::json!({
            "ready": true,
            "database": {"state": "ok", "detail": "sqlite"},
            "cluster": {"state": "not_configured"}
        })
    );
}

#[tokio::test]
async fn readyz_is_unavailable_when_the_database_is_down_and_says_nothing_internal() {
    let db = Database::connect_lazy("postgres://console:hunter2@127.0.0.1:1/console")
        .expect("lazy pool");
    let app = TestApp::with(Options {
        db: Some(db),
        ..Options::default()
    })
    .await;
    let answer = app.send(get("/readyz", None)).await;
    assert_eq!(
        answer.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        answer.body
    );
    let parsed = answer.json();
    assert_eq!(parsed["ready"], false);
    assert_eq!(parsed["database"]["state"], "unreachable");
    for secret in ["hunter2", "127.0.0.1", "Connection refused"] {
        assert!(
            !answer.body.contains(secret),
            "readyz leaked {secret:?}: {}",
            answer.body
        );
    }
}

#[tokio::test]
async fn readyz_is_unavailable_when_the_cluster_does_not_answer() {
    let config = kube::Config::new("http://127.0.0.1:1".parse().expect("uri"));
    let cluster = Cluster::from_config(config, ClusterMode::Kubeconfig).expect("client");
    let app = TestApp::with(Options {
        cluster: Some(cluster),
        ..Options::default()
    })
    .await;
    let answer = app.send(get("/readyz", None)).await;
    assert_eq!(
        answer.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        answer.body
    );
    let parsed = answer.json();
    assert_eq!(parsed["database"]["state"], "ok");
    assert_eq!(parsed["cluster"]["state"], "unreachable");
}

#[tokio::test]
async fn home_page_is_rendered_on_the_server_with_the_hydration_scripts() {
    let app = TestApp::new().await;
    let cookie = app.sign_in("viewer@example.com").await;
    let answer = app.send(get("/", Some(&cookie))).await;
    let body = &answer.body;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(
        answer
            .content_type()
            .is_some_and(|c| c.starts_with("text/html"))
    );
    assert!(body.contains("Runtime Console"), "{body}");
    assert!(body.contains("Runtime versions on Kubernetes"), "{body}");
    // The page loads its bundle and starts hydrating it.
    assert!(body.contains("/pkg/console.js"), "{body}");
    assert!(body.contains("/pkg/console.css"), "{body}");
    // Before hydration the page says so, and wasm-only controls are disabled.
    assert!(body.contains(r#"data-hydrated="false""#), "{body}");
    assert!(body.contains("disabled"), "{body}");
    // The header names who is signed in.
    assert!(body.contains("viewer@example.com"), "{body}");
}

#[tokio::test]
async fn unknown_pages_answer_404_with_a_readable_page() {
    let app = TestApp::new().await;
    let cookie = app.sign_in("viewer@example.com").await;
    let answer = app.send(get("/no/such/page", Some(&cookie))).await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert!(
        answer
            .content_type()
            .is_some_and(|c| c.starts_with("text/html"))
    );
    assert!(answer.body.contains("Page not found"), "{}", answer.body);
    assert!(
        answer.body.contains("Runtime Console"),
        "the 404 keeps the layout: {}",
        answer.body
    );
}

#[tokio::test]
async fn static_assets_are_served_from_the_site_root_without_signing_in() {
    let app = TestApp::new().await;
    let answer = app.send(get("/favicon.svg", None)).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(answer.body.contains("<svg"), "{}", answer.body);
}

#[tokio::test]
async fn status_server_function_reports_dependencies() {
    let app = TestApp::new().await;
    let cookie = app.sign_in("viewer@example.com").await;
    let answer = app.send(call("/api/status", "", Some(&cookie))).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let report = answer.json();
    assert_eq!(report["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(report["database"]["state"], "Ok");
    assert_eq!(report["database"]["detail"], "sqlite");
    assert_eq!(report["cluster"]["state"], "NotConfigured");
}

#[tokio::test]
async fn responses_carry_protective_headers() {
    let app = TestApp::new().await;
    let answer = app.send(get("/login", None)).await;
    assert_eq!(answer.headers["x-content-type-options"], "nosniff");
    assert_eq!(answer.headers["x-frame-options"], "DENY");
    assert!(
        answer.headers["permissions-policy"]
            .to_str()
            .expect("ascii")
            .contains("camera=()")
    );
    assert!(
        answer.headers.get("strict-transport-security").is_none(),
        "plain HTTP by default"
    );

    // The page's one inline script carries the nonce its policy allows, and
    // the policy allows no other inline script.
    let csp = answer.headers["content-security-policy"]
        .to_str()
        .expect("ascii")
        .to_owned();
    let nonce = csp
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .expect("a nonce in the policy");
    assert!(nonce.len() >= 16, "{nonce}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert!(
        answer.body.contains(&format!("nonce=\"{nonce}\"")),
        "{}",
        answer.body
    );
    let again = app.send(get("/login", None)).await;
    assert_ne!(
        again.headers["content-security-policy"],
        csp.as_str(),
        "a nonce per response"
    );

    // Signed-in pages and API answers are never cached; the bundle may be.
    let cookie = app.sign_in("admin@example.com").await;
    for path in ["/audit", "/users", "/runtimes/demo/versions/v1"] {
        let page = app.send(get(path, Some(&cookie))).await;
        assert_eq!(page.headers[header::CACHE_CONTROL], "no-store", "{path}");
    }
    let api = app.send(call("/api/audit", "", Some(&cookie))).await;
    assert_eq!(api.headers[header::CACHE_CONTROL], "no-store");
    let favicon = app.send(get("/favicon.svg", None)).await;
    assert_eq!(favicon.status, StatusCode::OK);
    assert_ne!(
        favicon
            .headers
            .get(header::CACHE_CONTROL)
            .map(|v| v.as_bytes()),
        Some(&b"no-store"[..])
    );
}

#[tokio::test]
async fn secure_cookies_bring_strict_transport_security() {
    let app = TestApp::with(Options {
        sessions: server::state::SessionSettings {
            secure_cookies: true,
            ..server::state::SessionSettings::default()
        },
        ..Options::default()
    })
    .await;
    let answer = app.send(get("/login", None)).await;
    assert_eq!(
        answer.headers["strict-transport-security"],
        "max-age=31536000"
    );
}

#[tokio::test]
async fn browsers_report_policy_violations_to_the_console() {
    let app = TestApp::new().await;
    let report = serde_json::json!({"csp-report": {
        "document-uri": "http://console.test/audit",
        "violated-directive": "script-src-elem",
        "blocked-uri": "inline",
    }});
    let mut request = call("/api/csp-report", &report.to_string(), None);
    request.headers_mut().insert(
        header::CONTENT_TYPE,
        "application/csp-report".parse().expect("type"),
    );
    assert_eq!(app.send(request).await.status, StatusCode::NO_CONTENT);
    // Junk is no error either: reports come from anyone.
    assert_eq!(
        app.send(call("/api/csp-report", "\u{0}not json", None))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
}

/// Oversized bodies are refused with 413 before the session or any server
/// function reads them, whether the length is declared or the body is
/// chunked; a body under the limit still reaches its server function, which
/// applies its own, smaller caps (the manifest's 256 KiB).
#[tokio::test]
async fn oversized_bodies_are_refused_early_with_413() {
    use axum::{body::Body, http::Request};
    use server::security::MAX_BODY_BYTES;
    let app = TestApp::new().await;
    let cookie = app.sign_in("manager@example.com").await;
    let huge = "a".repeat(MAX_BODY_BYTES + 1);

    // Declared: refused even for an anonymous caller, without a session.
    let answer = app
        .send(call(
            "/api/login",
            &format!("email={huge}&password=x"),
            None,
        ))
        .await;
    answer.assert_says(StatusCode::PAYLOAD_TOO_LARGE, "larger than the 1024 KiB");
    assert!(answer.session_cookie().is_none());

    // Chunked, no length: read up to the limit and refused.
    let chunks = huge
        .into_bytes()
        .chunks(64 * 1024)
        .map(|c| Ok::<_, std::io::Error>(axum::body::Bytes::copy_from_slice(c)))
        .collect::<Vec<_>>();
    let request = Request::post("/api/register_version")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "application/json")
        .header("cookie", &cookie)
        .body(Body::from_stream(futures::stream::iter(chunks)))
        .expect("request");
    assert!(request.headers().get("content-length").is_none());
    app.send(request)
        .await
        .assert_says(StatusCode::PAYLOAD_TOO_LARGE, "larger than the 1024 KiB");

    // Under the limit: the server function's own cap answers, nothing is kept.
    let manifest = format!("name: big\ndescription: {}\n", "d".repeat(300 * 1024));
    let body = common::form(&[("runtime", "demo"), ("manifest", &manifest)]);
    assert!(body.len() < MAX_BODY_BYTES);
    let answer = app
        .send(call("/api/register_version", &body, Some(&cookie)))
        .await;
    answer.assert_says(
        StatusCode::UNPROCESSABLE_ENTITY,
        "at most 262144 are accepted",
    );
    let page = app.send(get("/runtimes", Some(&cookie))).await;
    assert!(!page.body.contains(r#"data-version="big""#));
}
