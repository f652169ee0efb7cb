//! The REST API's OpenAPI document: valid OpenAPI 3.1 by
//! `openapi-spec-validator`, and true of the running server by
//! `schemathesis` (both from PyPI, installed into `.tools/api-venv` by
//! `scripts/tools.sh test`): a fixed budget of generated requests with an
//! admin's token, and no answer a 5xx or off its documented status, content
//! type or schema.

use std::{path::PathBuf, time::Duration};

use axum::http::StatusCode;

mod common;
use common::{TestApp, api_token, app_on_emulator, get, serve};

fn tool(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../.tools/api-venv/bin")
        .join(name)
}

#[tokio::test]
async fn the_document_is_valid_openapi_3_1_and_public() {
    let app = TestApp::new().await;
    let answer = app.send(get("/api/v1/openapi.json", None)).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let document = answer.json();
    assert_eq!(document["openapi"], "3.1.0");
    for path in [
        "/api/v1/runtimes",
        "/api/v1/runtimes/{runtime}/versions",
        "/api/v1/runtimes/{runtime}/versions/{version}",
        "/api/v1/runtimes/{runtime}/versions/{version}/actions",
        "/api/v1/runtimes/{runtime}/versions/{version}/nodes/{node}/logs",
        "/api/v1/audit",
        "/api/v1/tokens",
    ] {
        assert!(document["paths"][path].is_object(), "{path} is described");
    }
    assert_eq!(
        document["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, &answer.body).expect("write");
    let output = tokio::process::Command::new(tool("openapi-spec-validator"))
        .arg(&file)
        .output()
        .await
        .expect("openapi-spec-validator runs (scripts/tools.sh test installs it)");
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test]
async fn schemathesis_finds_no_server_error_and_no_answer_off_the_document() {
    let settings = backend::runtime::Settings {
        failure_grace: Duration::from_secs(1),
        ..backend::runtime::Settings::default()
    };
    let (app, _emulator) = app_on_emulator(Duration::from_millis(50), settings).await;
    let url = serve(&app).await;
    let admin = app.sign_in("admin@example.com").await;
    let (_, token) = api_token(&app, &admin, "schemathesis", "admin").await;

    let dir = tempfile::tempdir().expect("tempdir");
    let output = tokio::process::Command::new(tool("schemathesis"))
        .current_dir(dir.path())
        .env("SCHEMATHESIS_HOOKS", "")
        .env("NO_COLOR", "1")
        .args(["run", &format!("{url}/api/v1/openapi.json")])
        .args(["--header", &format!("Authorization: Bearer {token}")])
        // A fixed budget, and a fixed seed: the same requests every run.
        .args(["--max-examples", "30", "--seed", "20261207"])
        .args(["--phases", "examples,coverage,fuzzing"])
        .args(["--workers", "1", "--request-timeout", "20"])
        .args([
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance",
        ])
        .kill_on_drop(true)
        .output()
        .await
        .expect("schemathesis runs (scripts/tools.sh test installs it)");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{report}");
    println!("{report}");
}
