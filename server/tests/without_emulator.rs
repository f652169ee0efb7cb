//! The production build (`--no-default-features`: no embedded emulator)
//! refuses `--cluster emulated` with a clear message instead of pretending,
//! and demo mode without a cluster starts with none. Run by `make test` as
//! `cargo test -p server --no-default-features --test without_emulator`;
//! in a default build (emulator included) there is nothing to test here.
#![cfg(not(feature = "emulator"))]

use std::process::{Command, Stdio};

use testkit::binary;

fn server(dir: &tempfile::TempDir, cluster: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_server"));
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("CONSOLE_SHUTDOWN_ON_STDIN_EOF", "true")
        .args(["--demo", "--cluster", cluster, "--listen", "127.0.0.1:0"])
        .arg("--database-url")
        .arg(format!("sqlite://{}/console.db", dir.path().display()))
        .arg("--site-root")
        .arg(dir.path());
    command
}

#[test]
fn asking_for_the_emulator_fails_with_a_clear_message() {
    let dir = tempfile::tempdir().expect("tempdir");
    let output = server(&dir, "emulated")
        .stdin(Stdio::null())
        .output()
        .expect("server runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "it must not start: {stderr}");
    assert!(
        stderr.contains("built without the Kubernetes emulator"),
        "the refusal says why: {stderr}"
    );
    assert!(!stderr.contains("EMULATED CLUSTER"), "{stderr}");
}

#[tokio::test]
async fn demo_mode_without_a_cluster_runs_on_none_not_a_pretend_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut command = server(&dir, "auto");
    let (mut child, base, _) = binary::spawn_until_listening(&mut command);
    let readiness: serde_json::Value = reqwest::get(format!("{base}/readyz"))
        .await
        .expect("readyz answers")
        .json()
        .await
        .expect("readyz is JSON");
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(
        readiness["cluster"]["state"], "not_configured",
        "{readiness}"
    );
}
