//! The router in-process over a fresh database seeded in demo mode, with
//! helpers to sign in and call server functions as a browser would.
#![allow(dead_code)] // each test file uses its own subset

/// The console binary these tests start as a child process.
pub const SERVER_BIN: &str = env!("CARGO_BIN_EXE_server");

use axum::{
    Router,
    body::Body,
    http::{HeaderMap, Request, StatusCode, header},
};
use backend::{Cluster, Database, Services};
use http_body_util::BodyExt;
use server::{
    startup::{leptos_options, router},
    state::{AppState, SessionSettings},
};
use std::time::Duration;
use tower::ServiceExt;

pub const PASSWORD: &str = backend::demo::DEFAULT_PASSWORD;

pub struct TestApp {
    pub router: Router,
    pub db: Database,
    /// The app's services, for what a test drives itself (a clock).
    pub services: Services,
    _dir: tempfile::TempDir,
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }

    pub fn content_type(&self) -> Option<&str> {
        self.headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
    }

    /// The status is `status` and the body says `words`.
    pub fn assert_says(&self, status: StatusCode, words: &str) {
        assert_eq!(self.status, status, "{}", self.body);
        assert!(self.body.contains(words), "{}", self.body);
    }

    /// `name=value` of the session cookie this answer sets, if any.
    pub fn session_cookie(&self) -> Option<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.starts_with("console_session="))
            .and_then(|c| c.split(';').next())
            .map(str::to_owned)
    }
}

#[derive(Default)]
pub struct Options {
    pub db: Option<Database>,
    pub cluster: Option<Cluster>,
    /// Carry lifecycle actions out in `cluster` with these settings.
    pub runtime: Option<backend::runtime::Settings>,
    pub sessions: SessionSettings,
    pub trusted_proxy_hops: usize,
}

impl TestApp {
    pub async fn new() -> Self {
        Self::with(Options::default()).await
    }

    /// An app whose actions answer with receipts signed by `key`.
    pub async fn with_audit_key(options: Options, key: backend::audit::receipt::AuditKey) -> Self {
        Self::build(options, Some(key)).await
    }

    pub async fn with(options: Options) -> Self {
        Self::build(options, None).await
    }

    async fn build(options: Options, audit_key: Option<backend::audit::receipt::AuditKey>) -> Self {
        // RUST_LOG=debug shows the server's logs for a failing test.
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join("favicon.svg"),
            "<svg xmlns='http://www.w3.org/2000/svg'/>",
        )
        .expect("write favicon");
        let local = Database::connect(&format!("sqlite://{}/console.db", dir.path().display()))
            .await
            .expect("sqlite opens");
        local.migrate().await.expect("migrates");
        backend::demo::seed(&local, PASSWORD)
            .await
            .expect("demo seed");
        // Sessions live in the local database even when the services get
        // another one (an unreachable one, say).
        let session_store = backend::auth::Sessions::new(&local)
            .await
            .expect("session store");
        let db = options.db.unwrap_or_else(|| local.clone());
        let services = match options.runtime {
            Some(settings) => Services::with_runtime(db.clone(), options.cluster, settings),
            None => Services::new(db.clone(), options.cluster),
        };
        let state = AppState::with_session_store(
            leptos_options(dir.path(), "127.0.0.1:0".parse().expect("addr")),
            services.clone(),
            options.sessions,
            options.trusted_proxy_hops,
            session_store,
        )
        .with_audit_key(audit_key);
        Self {
            router: router(state),
            db,
            services,
            _dir: dir,
        }
    }

    /// The response as it starts, for streams that do not end.
    pub async fn open(&self, request: Request<Body>) -> axum::response::Response {
        self.router
            .clone()
            .oneshot(request)
            .await
            .expect("router answers")
    }

    /// The whole answer. A stalled response fails the test with what had
    /// arrived instead of hanging the run: the deadlines are far above any
    /// render and only there to turn a hang into a message.
    pub async fn send(&self, request: Request<Body>) -> Answer {
        const STALL: Duration = Duration::from_secs(20);
        let uri = request.uri().clone();
        let response = tokio::time::timeout(STALL, self.router.clone().oneshot(request))
            .await
            .unwrap_or_else(|_| panic!("{uri}: no response head within {STALL:?}"))
            .expect("router answers");
        let status = response.status();
        let headers = response.headers().clone();
        let mut body = response.into_body();
        let mut bytes = Vec::new();
        loop {
            match tokio::time::timeout(STALL, body.frame()).await {
                Ok(Some(frame)) => {
                    if let Ok(data) = frame.expect("body reads").into_data() {
                        bytes.extend_from_slice(&data);
                    }
                }
                Ok(None) => break,
                Err(_) => panic!(
                    "{uri}: the body stalled after {}",
                    String::from_utf8_lossy(&bytes)
                ),
            }
        }
        Answer {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    /// Signs in through the login server function; answers the cookie.
    pub async fn sign_in(&self, email: &str) -> String {
        let answer = self.login(email, PASSWORD).await;
        assert!(
            answer.status.is_success() || answer.status.is_redirection(),
            "{email} could not sign in: {} {}",
            answer.status,
            answer.body
        );
        answer.session_cookie().expect("a session cookie")
    }

    pub async fn login(&self, email: &str, password: &str) -> Answer {
        self.send(call(
            "/api/login",
            &form(&[("email", email), ("password", password)]),
            None,
        ))
        .await
    }
}

pub fn form(fields: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish()
}

pub fn get(uri: &str, cookie: Option<&str>) -> Request<Body> {
    let mut request = Request::get(uri);
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    request.body(Body::empty()).expect("request")
}

/// A server function call as the browser's wasm makes it.
pub fn call(path: &str, body: &str, cookie: Option<&str>) -> Request<Body> {
    let mut request = Request::post(path)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "application/json");
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    request.body(Body::from(body.to_owned())).expect("request")
}

/// A lifecycle action's form body for the demo runtime.
pub fn action(version: &str, action: &str, expected: &str, reason: &str) -> String {
    form(&[
        ("runtime", "demo"),
        ("version", version),
        ("action", action),
        ("expected", expected),
        ("reason", reason),
    ])
}

/// The console in-process on the emulator, carrying actions out there.
pub async fn app_on_emulator(
    ready_after: Duration,
    settings: backend::runtime::Settings,
) -> (TestApp, kube_emulator::Running) {
    let emulator = testkit::emulator(ready_after).await;
    let config = kube::Config::new(emulator.url().parse().expect("url"));
    let cluster = Cluster::from_config(config, backend::ClusterMode::Kubeconfig).expect("client");
    let app = TestApp::with(Options {
        cluster: Some(cluster),
        runtime: Some(settings),
        ..Options::default()
    })
    .await;
    (app, emulator)
}

/// The audit hash chain verifies.
pub async fn assert_audit_intact(db: &Database) {
    let verification = backend::audit::verify(db).await.expect("verify runs");
    assert!(
        matches!(verification, backend::audit::Verification::Intact { .. }),
        "{verification:?}"
    );
}

/// The statuses the audit log records for a demo version, newest first.
pub async fn recorded_statuses(db: &Database, version: &str) -> Vec<String> {
    let filter = backend::audit::Filter {
        version: Some(version.into()),
        ..backend::audit::Filter::default()
    };
    testkit::db::audit_entries(db, filter)
        .await
        .iter()
        .filter_map(|e| e.status_after.clone())
        .collect()
}

/// The app on a loopback socket of its own, for clients that need a real
/// connection (a child process); answers its base URL.
pub async fn serve(app: &TestApp) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let router = app.router.clone();
    tokio::spawn(async move {
        let service = router.into_make_service_with_connect_info::<std::net::SocketAddr>();
        let _ = axum::serve(listener, service).await;
    });
    format!("http://{addr}")
}

/// Saves the demo runtime's settings as its form does, by an admin signed in
/// with `admin`: `fields` on top of the demo's base domain.
pub async fn save_settings(app: &TestApp, admin: &str, fields: &[(&str, &str)]) {
    let mut all = vec![
        ("runtime", "demo"),
        ("fields[base_domain]", "demo.localhost"),
        ("reason", "change control on demo"),
    ];
    all.extend_from_slice(fields);
    let saved = app
        .send(call("/api/runtimes/update", &form(&all), Some(admin)))
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
}

/// An API token made through `/profile`'s server function for the user
/// signed in with `cookie`: its id and the secret.
pub async fn api_token(app: &TestApp, cookie: &str, name: &str, scope: &str) -> (i64, String) {
    let answer = app
        .send(call(
            "/api/tokens/create",
            &form(&[("name", name), ("scope", scope), ("days", "30")]),
            Some(cookie),
        ))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let json = answer.json();
    let token = json["token"].as_str().expect("the secret").to_owned();
    (json["row"]["id"].as_i64().expect("an id"), token)
}
