//! The official Python client (`kubernetes` on PyPI, installed into
//! `.tools/venv` by `scripts/tools.sh test`) against the emulator: see
//! `python_client.py` for what it checks.

mod support;

use std::{path::PathBuf, time::Duration};

#[tokio::test]
async fn the_python_client_deserialises_what_the_emulator_answers() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let python = root.join(".tools/venv/bin/python");
    let installed = std::process::Command::new(&python)
        .args(["-c", "import kubernetes"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !installed {
        println!("the Python kubernetes client is not installed (scripts/tools.sh test): not run");
        return;
    }
    let dir = tempfile::tempdir().expect("dir");
    let (_running, kubeconfig) = support::with_kubeconfig(dir.path()).await;
    let script = root.join("kube-emulator/tests/python_client.py");
    let run = tokio::process::Command::new(&python)
        .arg(&script)
        .arg(&kubeconfig)
        .arg("python-client")
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(90), run)
        .await
        .expect("the script finishes")
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.trim() == "ok",
        "{stdout}\n{stderr}"
    );
}
