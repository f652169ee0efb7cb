//! The README's kubectl commands against the emulator, as a new user runs
//! them: apply with validation on, the columns of `get`, `describe`'s
//! events, `explain`, a server-side dry run, and a rollout with its
//! history and undo. Needs `kubectl` on PATH (the machine image has one);
//! without it the test says so and passes nothing off as checked.

mod support;

use std::{path::Path, time::Duration};

use testkit::eventually;

const DEPLOYMENT: &str = "apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: nginx:1.27, ports: [{containerPort: 80}]}]
";

const CONFIGMAP: &str = "apiVersion: v1
kind: ConfigMap
metadata: {name: dry}
data: {a: b}
";

/// Runs kubectl with `args`; its exit status and everything it printed.
async fn kubectl(kubeconfig: &Path, args: &[&str]) -> (bool, String) {
    let output = tokio::process::Command::new("kubectl")
        .args(args)
        .env("KUBECONFIG", kubeconfig)
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(60), output)
        .await
        .expect("kubectl finishes")
        .expect("kubectl runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

async fn ok(kubeconfig: &Path, args: &[&str]) -> String {
    let (success, text) = kubectl(kubeconfig, args).await;
    assert!(success, "kubectl {}: {text}", args.join(" "));
    text
}

#[tokio::test]
async fn the_readmes_kubectl_commands_work_as_on_a_cluster() {
    let found = std::process::Command::new("kubectl")
        .args(["version", "--client"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        println!("kubectl not found: the README's kubectl commands were not run");
        return;
    }
    let dir = tempfile::tempdir().expect("dir");
    let (_running, config) = support::with_kubeconfig(dir.path()).await;
    let manifest = dir.path().join("deployment.yaml");
    std::fs::write(&manifest, DEPLOYMENT).expect("manifest");
    let configmap = dir.path().join("configmap.yaml");
    std::fs::write(&configmap, CONFIGMAP).expect("configmap");
    let manifest = manifest.to_str().expect("path");
    let configmap = configmap.to_str().expect("path");

    // Client-side validation is on by default: it needs the OpenAPI
    // documents and leaves the check to the server.
    let applied = ok(&config, &["apply", "-f", manifest]).await;
    assert!(applied.contains("deployment.apps/web created"), "{applied}");
    ok(
        &config,
        &["rollout", "status", "deploy/web", "--timeout=30s"],
    )
    .await;
    let pods = ok(&config, &["get", "pods"]).await;
    let header: Vec<&str> = pods
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    assert_eq!(
        header,
        ["NAME", "READY", "STATUS", "RESTARTS", "AGE"],
        "{pods}"
    );
    assert!(pods.contains("1/1") && pods.contains("Running"), "{pods}");
    let deployments = ok(&config, &["get", "deploy"]).await;
    assert!(
        deployments.starts_with("NAME") && deployments.contains("UP-TO-DATE"),
        "{deployments}"
    );
    assert!(deployments.contains("2/2"), "{deployments}");

    let described = ok(&config, &["describe", "deploy", "web"]).await;
    assert!(described.contains("ScalingReplicaSet"), "{described}");
    assert!(described.contains("NewReplicaSetAvailable"), "{described}");
    let explained = ok(&config, &["explain", "deployment.spec.strategy"]).await;
    assert!(
        explained.contains("rollingUpdate") && explained.contains("DeploymentStrategy"),
        "{explained}"
    );

    let dry = ok(
        &config,
        &[
            "apply",
            "--server-side",
            "--dry-run=server",
            "-f",
            configmap,
        ],
    )
    .await;
    assert!(dry.contains("server dry run"), "{dry}");
    let (found, text) = kubectl(&config, &["get", "configmap", "dry"]).await;
    assert!(
        !found && text.contains("NotFound"),
        "a dry run stored nothing: {text}"
    );

    ok(&config, &["set", "image", "deploy/web", "web=nginx:1.28"]).await;
    let rolled = ok(
        &config,
        &["rollout", "status", "deploy/web", "--timeout=30s"],
    )
    .await;
    assert!(rolled.contains("successfully rolled out"), "{rolled}");
    let history = ok(&config, &["rollout", "history", "deploy/web"]).await;
    let revisions = |text: &str| -> Vec<String> {
        text.lines()
            .filter_map(|l| l.split_whitespace().next())
            .filter(|r| r.chars().all(|c| c.is_ascii_digit()))
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(revisions(&history), ["1", "2"], "{history}");
    let undone = ok(&config, &["rollout", "undo", "deploy/web"]).await;
    assert!(undone.contains("rolled back"), "{undone}");
    ok(
        &config,
        &["rollout", "status", "deploy/web", "--timeout=30s"],
    )
    .await;
    eventually(
        "the undo is revision 3",
        Duration::from_secs(20),
        || async {
            revisions(&ok(&config, &["rollout", "history", "deploy/web"]).await) == ["2", "3"]
        },
    )
    .await;
    let image = ok(
        &config,
        &[
            "get",
            "deploy",
            "web",
            "-o",
            "jsonpath={.spec.template.spec.containers[0].image}",
        ],
    )
    .await;
    assert_eq!(image.trim(), "nginx:1.27");

    let ready = ok(&config, &["get", "--raw", "/readyz?verbose"]).await;
    assert!(ready.trim_end().ends_with("readyz check passed"), "{ready}");
}
