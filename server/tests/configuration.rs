//! Version configuration through the server functions, as the version
//! screen calls them: a start refused with every missing name, bad values
//! refused as field errors with nothing saved, and a secret that reaches
//! the cluster's Secret but no page, answer, export or log line of a whole
//! flow (searched for a random marker, the log captured at debug level).

use std::{
    io::Write,
    sync::{Arc, Mutex, OnceLock},
    time::Duration,
};

use axum::http::StatusCode;
use base64::{Engine as _, engine::general_purpose::STANDARD};
use lifecycle::Status;

mod common;
use common::{TestApp, action, app_on_emulator, call, form, get};

const DEADLINE: Duration = Duration::from_secs(30);

/// Everything the server logs in this test binary, from its first test on.
fn captured_log() -> Arc<Mutex<Vec<u8>>> {
    static LOG: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOG.get_or_init(|| {
        let log = Arc::new(Mutex::new(Vec::new()));
        let sink = log.clone();
        struct Sink(Arc<Mutex<Vec<u8>>>);
        impl Write for Sink {
            fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
                if let Ok(mut log) = self.0.lock() {
                    log.extend_from_slice(bytes);
                }
                Ok(bytes.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(
                "debug,hyper=info,h2=info",
            ))
            .with_writer(move || Sink(sink.clone()))
            .try_init();
        log
    })
    .clone()
}

async fn configured_app() -> (TestApp, kube_emulator::Running) {
    captured_log();
    let settings = backend::runtime::Settings {
        keyring: backend::configuration::Keyring::generate().expect("key"),
        failure_grace: Duration::from_secs(1),
        ..backend::runtime::Settings::default()
    };
    app_on_emulator(Duration::from_millis(50), settings).await
}

fn configure(fields: &[(&str, &str)]) -> String {
    let mut all = vec![
        ("runtime", "demo"),
        ("version", "v4"),
        ("reason", "configuring v4"),
    ];
    all.extend_from_slice(fields);
    form(&all)
}

async fn settles(app: &TestApp, status: Status) {
    testkit::eventually("v4 settles", DEADLINE, || async {
        backend::versions::get(&app.db, "demo", "v4")
            .await
            .is_ok_and(|v| v.status == status)
    })
    .await;
}

#[tokio::test]
async fn start_waits_for_its_configuration_and_bad_values_are_refused_by_name() {
    let (app, _emulator) = configured_app().await;
    let manager = app.sign_in("manager@example.com").await;
    let start = action("v4", "start", "stopped", "first start");
    let refused = app
        .send(call("/api/version_action", &start, Some(&manager)))
        .await;
    refused.assert_says(StatusCode::CONFLICT, "configuration");
    assert!(
        refused.body.contains("DATABASE_URL, RULES_API_KEY"),
        "{}",
        refused.body
    );

    let bad = configure(&[
        ("values[DATABASE_URL]", "postgres://db/fraud"),
        ("values[GHOST]", "x"),
        ("secrets[SCORE_THRESHOLD]", "0.9"),
        ("values[RULES]", "nul\u{0}"),
    ]);
    let answer = app
        .send(call("/api/versions/configure", &bad, Some(&manager)))
        .await;
    assert_eq!(
        answer.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        answer.body
    );
    for words in ["GHOST", "not declared", "not a secret", "binary"] {
        assert!(answer.body.contains(words), "{words}: {}", answer.body);
    }
    let set = backend::configuration::set_names(&app.db, "demo", "v4")
        .await
        .expect("names");
    assert!(set.is_empty(), "nothing saved: {set:?}");
    let no_reason = form(&[
        ("runtime", "demo"),
        ("version", "v4"),
        ("values[DATABASE_URL]", "postgres://db/fraud"),
    ]);
    let answer = app
        .send(call("/api/versions/configure", &no_reason, Some(&manager)))
        .await;
    assert!(
        answer.status.is_client_error(),
        "a reason is required: {}",
        answer.status
    );

    let viewer = app.sign_in("viewer@example.com").await;
    let good = configure(&[
        ("values[DATABASE_URL]", "postgres://db/fraud"),
        ("secrets[RULES_API_KEY]", "k-1"),
    ]);
    let answer = app
        .send(call("/api/versions/configure", &good, Some(&viewer)))
        .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    let answer = app
        .send(call("/api/versions/configure", &good, Some(&manager)))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let fields = answer.json();
    let key = fields
        .as_array()
        .and_then(|f| f.iter().find(|f| f["name"] == "RULES_API_KEY"))
        .cloned()
        .expect("declared");
    assert_eq!(
        (key["set"].clone(), key["value"].clone()),
        (true.into(), serde_json::Value::Null)
    );
    let started = app
        .send(call("/api/version_action", &start, Some(&manager)))
        .await;
    assert_eq!(started.status, StatusCode::OK, "{}", started.body);
    settles(&app, Status::Started).await;
}

#[tokio::test]
async fn a_secret_reaches_the_cluster_and_nothing_else() {
    let (app, emulator) = configured_app().await;
    let manager = app.sign_in("manager@example.com").await;
    let admin = app.sign_in("admin@example.com").await;
    let marker = |n: u32| format!("marker-{n}-{:016x}", rand_u64());
    let (first, second, file) = (marker(1), marker(2), marker(3));
    let saved = app
        .send(call(
            "/api/versions/configure",
            &configure(&[
                ("values[DATABASE_URL]", "postgres://db/fraud"),
                ("secrets[RULES_API_KEY]", &first),
                ("secrets[SIGNING_KEY]", &file),
            ]),
            Some(&manager),
        ))
        .await;
    assert_eq!(saved.status, StatusCode::OK, "{}", saved.body);
    let dry_run = app
        .send(call(
            "/api/versions/dry_run",
            &form(&[("runtime", "demo"), ("version", "v4"), ("action", "start")]),
            Some(&manager),
        ))
        .await;
    let start = action("v4", "start", "stopped", "start with secrets");
    let started = app
        .send(call("/api/version_action", &start, Some(&manager)))
        .await;
    assert_eq!(started.status, StatusCode::OK, "{}", started.body);
    settles(&app, Status::Started).await;
    // Replaced while it runs: the pods roll with the new one.
    let replaced = app
        .send(call(
            "/api/versions/configure",
            &configure(&[("secrets[RULES_API_KEY]", &second)]),
            Some(&manager),
        ))
        .await;
    assert_eq!(replaced.status, StatusCode::OK, "{}", replaced.body);

    // The cluster has it: the marker is real and went where it belongs.
    let client = {
        let config = kube::Config::new(emulator.url().parse().expect("url"));
        kube::Client::try_from(config).expect("client")
    };
    let secrets: kube::Api<k8s_openapi::api::core::v1::Secret> =
        kube::Api::namespaced(client, "demo");
    testkit::eventually("the Secret holds the new value", DEADLINE, || async {
        secrets
            .get(&backend::configuration::secret_name("v4"))
            .await
            .ok()
            .and_then(|s| s.data)
            .is_some_and(|d| {
                d.get("RULES_API_KEY")
                    .is_some_and(|v| v.0 == second.as_bytes())
            })
    })
    .await;

    let mut seen = vec![
        ("the first save's answer", saved.body),
        ("the replacement's answer", replaced.body),
        ("the dry run", dry_run.body),
        ("the start's answer", started.body),
    ];
    let pages = [
        "/runtimes/demo/versions/v4",
        "/audit",
        "/audit?version=v4",
        "/api/audit/export?format=json",
        "/api/audit/export?format=csv",
        "/runtimes/demo/diff?from=v1&to=v4",
        "/api/runtimes/demo/diff?from=v1&to=v4",
        "/api/runtimes/demo/change-requests",
    ];
    for page in pages {
        let answer = app.send(get(page, Some(&admin))).await;
        assert!(answer.status.is_success(), "{page}: {}", answer.status);
        seen.push((page, answer.body));
    }
    for function in [
        "/api/version_details",
        "/api/version_timeline",
        "/api/version",
    ] {
        let answer = app
            .send(call(
                function,
                &form(&[("runtime", "demo"), ("version", "v4")]),
                Some(&admin),
            ))
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{function}");
        seen.push((function, answer.body));
    }
    let log = String::from_utf8_lossy(&captured_log().lock().expect("log")).into_owned();
    assert!(
        log.contains("v4"),
        "the log was captured: {} bytes",
        log.len()
    );
    seen.push(("the server's log", log));
    for secret in [&first, &second, &file] {
        let encoded = STANDARD.encode(secret);
        for (what, text) in &seen {
            assert!(!text.contains(secret.as_str()), "{what} shows a secret");
            assert!(!text.contains(&encoded), "{what} shows a secret in base64");
        }
    }
    let details = seen
        .iter()
        .find(|(w, _)| *w == "/runtimes/demo/versions/v4")
        .expect("page");
    assert!(
        details.1.contains(r#"data-config-secret-set="true""#),
        "the page says it is set"
    );
}

fn rand_u64() -> u64 {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).expect("random");
    u64::from_le_bytes(bytes)
}
