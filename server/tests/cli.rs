//! `consolectl` against a running console (on the emulator, served on a
//! loopback socket): a pipeline's register → start → wait → publish →
//! audit, and the exit codes it branches on (1 refused, 2 usage, 3
//! conflict, 4 timed out).

use std::time::Duration;

mod common;
use common::{api_token, app_on_emulator, serve};

const CONSOLECTL: &str = env!("CARGO_BIN_EXE_consolectl");

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {} / {}", self.stdout, self.stderr))
    }
}

/// Runs consolectl with `args` against `url` as `token`. Async, so the
/// console in this process keeps answering meanwhile.
async fn consolectl(url: &str, token: &str, args: &[&str]) -> Run {
    let output = tokio::process::Command::new(CONSOLECTL)
        .env_clear()
        .env("CONSOLE_URL", url)
        .env("CONSOLE_TOKEN", token)
        .args(args)
        .kill_on_drop(true)
        .output()
        .await
        .expect("consolectl runs");
    Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn assert_exit(run: &Run, code: i32, what: &str) {
    assert_eq!(
        run.code,
        Some(code),
        "{what}: stdout {} stderr {}",
        run.stdout,
        run.stderr
    );
}

#[tokio::test]
async fn a_pipeline_registers_starts_waits_publishes_and_reads_the_audit() {
    let settings = backend::runtime::Settings {
        failure_grace: Duration::from_secs(1),
        ..backend::runtime::Settings::default()
    };
    let (app, _emulator) = app_on_emulator(Duration::from_millis(50), settings).await;
    let url = serve(&app).await;
    let manager = app.sign_in("manager@example.com").await;
    let (_, token) = api_token(&app, &manager, "release-pipeline", "operate").await;

    let dir = tempfile::tempdir().expect("tempdir");
    let manifest = dir.path().join("cli1.yaml");
    std::fs::write(
        &manifest,
        include_str!("../../examples/manifests/v1.yaml").replacen("name: v1", "name: cli1", 1),
    )
    .expect("manifest");
    let file = manifest.to_str().expect("path");

    let run = consolectl(&url, &token, &["register", "-f", file, "--runtime", "demo"]).await;
    assert_exit(&run, 0, "register");
    assert!(
        run.stdout.contains("registered demo/cli1"),
        "{}",
        run.stdout
    );
    let run = consolectl(
        &url,
        &token,
        &["start", "demo/cli1", "--reason", "release 42"],
    )
    .await;
    assert_exit(&run, 0, "start");
    let run = consolectl(
        &url,
        &token,
        &["wait", "demo/cli1", "--for", "started", "--timeout", "60s"],
    )
    .await;
    assert_exit(&run, 0, "wait");
    let run = consolectl(
        &url,
        &token,
        &["publish", "demo/cli1", "--reason", "release 42"],
    )
    .await;
    assert_exit(&run, 0, "publish");

    let run = consolectl(
        &url,
        &token,
        &["versions", "list", "-r", "demo", "-o", "json"],
    )
    .await;
    assert_exit(&run, 0, "versions list");
    let versions = run.json();
    let cli1 = versions
        .as_array()
        .and_then(|v| v.iter().find(|v| v["name"] == "cli1"))
        .expect("cli1 listed");
    assert_eq!(cli1["status"], "published", "{cli1}");
    let table = consolectl(&url, &token, &["versions", "list", "-r", "demo"]).await;
    assert!(table.stdout.starts_with("RUNTIME"), "{}", table.stdout);

    let run = consolectl(
        &url,
        &token,
        &["audit", "--since", "1h", "--version", "cli1", "-o", "json"],
    )
    .await;
    assert_exit(&run, 0, "audit");
    let entries = run.json();
    let actions: Vec<&str> = entries
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| e["actor"] == "manager@example.com")
        .filter_map(|e| e["action"].as_str())
        .collect();
    for action in ["version.register", "version.start", "version.publish"] {
        assert!(actions.contains(&action), "{action} in {actions:?}");
    }
    assert!(
        entries
            .as_array()
            .expect("entries")
            .iter()
            .filter(|e| e["actor"] == "manager@example.com")
            .all(|e| e["details"]["token"]["name"] == "release-pipeline"),
        "{entries}"
    );

    // Someone moved it first: the status it was expected in is gone.
    let run = consolectl(
        &url,
        &token,
        &[
            "publish",
            "demo/cli1",
            "--expected",
            "started",
            "--reason",
            "again",
        ],
    )
    .await;
    assert_exit(&run, 3, "conflict");
    assert!(
        run.stderr.contains("changed while you were looking"),
        "{}",
        run.stderr
    );
    // Never started: the wait gives up.
    let run = consolectl(
        &url,
        &token,
        &["wait", "demo/v2", "--for", "started", "--timeout", "1s"],
    )
    .await;
    assert_exit(&run, 4, "timeout");
    // Refused by the lifecycle: a published version cannot be stopped.
    let run = consolectl(&url, &token, &["stop", "demo/cli1", "--reason", "no"]).await;
    assert_exit(&run, 1, "lifecycle refusal");
    assert!(
        run.stderr.contains("Stop is not possible"),
        "{}",
        run.stderr
    );
    // Usage.
    assert_exit(
        &consolectl(&url, &token, &["start", "demo", "--reason", "x"]).await,
        2,
        "a target without a version",
    );
    assert_exit(
        &consolectl(&url, &token, &["start", "demo/v2"]).await,
        2,
        "no reason",
    );
    assert_exit(
        &consolectl(&url, "", &["runtimes", "list"]).await,
        2,
        "no token",
    );
    // A bad token is refused, and says so.
    let run = consolectl(&url, "cst_wrong", &["runtimes", "list"]).await;
    assert_exit(&run, 1, "bad token");
    assert!(
        run.stderr.contains("The API token is not valid"),
        "{}",
        run.stderr
    );
    let help = consolectl(&url, &token, &["wait", "--help"]).await;
    assert_exit(&help, 0, "help");
    assert!(help.stdout.contains("--timeout"), "{}", help.stdout);
}
