//! The router in-process: probes, pages, server functions, static files.

use axum::{
    Router,
    body::Body,
    http::{Request, StatusCode, header},
};
use backend::{Cluster, ClusterMode, Database, Services};
use http_body_util::BodyExt;
use server::startup::{AppState, leptos_options, router};
use tower::ServiceExt;

struct TestApp {
    router: Router,
    _dir: tempfile::TempDir,
}

async fn test_app(db: Option<Database>, cluster: Option<Cluster>) -> TestApp {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join("favicon.svg"),
        "<svg xmlns='http://www.w3.org/2000/svg'/>",
    )
    .expect("write favicon");
    let db = match db {
        Some(db) => db,
        None => Database::connect(&format!("sqlite://{}/console.db", dir.path().display()))
            .await
            .expect("sqlite opens"),
    };
    let state = AppState {
        leptos_options: leptos_options(dir.path(), "127.0.0.1:0".parse().expect("addr")),
        services: Services::new(db, cluster),
    };
    TestApp {
        router: router(state),
        _dir: dir,
    }
}

async fn send(app: &TestApp, request: Request<Body>) -> (StatusCode, String, Option<String>) {
    let response = app
        .router
        .clone()
        .oneshot(request)
        .await
        .expect("router answers");
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body reads")
        .to_bytes();
    (
        status,
        String::from_utf8_lossy(&bytes).into_owned(),
        content_type,
    )
}

fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).expect("request")
}

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

#[tokio::test]
async fn healthz_answers_while_the_process_is_up() {
    let app = test_app(None, None).await;
    let (status, body, content_type) = send(&app, get("/healthz")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type.as_deref(), Some("application/json"));
    let body = json(&body);
    assert_eq!(body["status"], "ok");
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
}

#[tokio::test]
async fn readyz_is_ready_with_a_database_and_no_cluster_configured() {
    let app = test_app(None, None).await;
    let (status, body, _) = send(&app, get("/readyz")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        json(&body),
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
    let app = test_app(Some(db), None).await;
    let (status, body, _) = send(&app, get("/readyz")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    let parsed = json(&body);
    assert_eq!(parsed["ready"], false);
    assert_eq!(parsed["database"]["state"], "unreachable");
    for secret in ["hunter2", "127.0.0.1", "Connection refused"] {
        assert!(!body.contains(secret), "readyz leaked {secret:?}: {body}");
    }
}

#[tokio::test]
async fn readyz_is_unavailable_when_the_cluster_does_not_answer() {
    let config = kube::Config::new("http://127.0.0.1:1".parse().expect("uri"));
    let cluster = Cluster::from_config(config, ClusterMode::Kubeconfig).expect("client");
    let app = test_app(None, Some(cluster)).await;
    let (status, body, _) = send(&app, get("/readyz")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    let parsed = json(&body);
    assert_eq!(parsed["database"]["state"], "ok");
    assert_eq!(parsed["cluster"]["state"], "unreachable");
}

#[tokio::test]
async fn home_page_is_rendered_on_the_server_with_the_hydration_scripts() {
    let app = test_app(None, None).await;
    let (status, body, content_type) = send(&app, get("/")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(content_type.is_some_and(|c| c.starts_with("text/html")));
    assert!(body.contains("Runtime Console"), "{body}");
    assert!(body.contains("Runtime versions on Kubernetes"), "{body}");
    // The page loads its bundle and starts hydrating it.
    assert!(body.contains("/pkg/console.js"), "{body}");
    assert!(body.contains("/pkg/console.css"), "{body}");
    // Before hydration the page says so, and wasm-only controls are disabled.
    assert!(body.contains(r#"data-hydrated="false""#), "{body}");
    assert!(body.contains("disabled"), "{body}");
}

#[tokio::test]
async fn unknown_pages_answer_404_with_a_readable_page() {
    let app = test_app(None, None).await;
    let (status, body, content_type) = send(&app, get("/no/such/page")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(content_type.is_some_and(|c| c.starts_with("text/html")));
    assert!(body.contains("Page not found"), "{body}");
    assert!(
        body.contains("Runtime Console"),
        "the 404 keeps the layout: {body}"
    );
}

#[tokio::test]
async fn static_assets_are_served_from_the_site_root() {
    let app = test_app(None, None).await;
    let (status, body, _) = send(&app, get("/favicon.svg")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("<svg"), "{body}");
}

#[tokio::test]
async fn status_server_function_reports_dependencies() {
    let app = test_app(None, None).await;
    let request = Request::post("/api/status")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "application/json")
        .body(Body::empty())
        .expect("request");
    let (status, body, _) = send(&app, request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let report = json(&body);
    assert_eq!(report["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(report["database"]["state"], "Ok");
    assert_eq!(report["database"]["detail"], "sqlite");
    assert_eq!(report["cluster"]["state"], "NotConfigured");
}
