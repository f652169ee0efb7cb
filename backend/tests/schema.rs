//! Every object the console applies, for every example manifest, validated
//! against the Kubernetes API schema (kubernetes-validate from PyPI, strict:
//! an unknown or misplaced field fails). `make test` installs the validator
//! into `.tools/venv`; `KUBERNETES_VALIDATE` may name another.

use std::{path::PathBuf, process::Command};

use backend::{manifest_file, runtime::resources};

/// The Kubernetes version k8s-openapi is built for (its `v1_34` feature).
const KUBERNETES_VERSION: &str = "1.34.0";

fn validator() -> PathBuf {
    if let Some(path) = std::env::var_os("KUBERNETES_VALIDATE") {
        return path.into();
    }
    let bundled =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.tools/venv/bin/kubernetes-validate");
    assert!(
        bundled.exists(),
        "kubernetes-validate is missing: run `scripts/tools.sh test` (part of `make test`) \
         or set KUBERNETES_VALIDATE"
    );
    bundled
}

#[test]
fn generated_objects_pass_the_strict_kubernetes_schema() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut files = Vec::new();
    for (name, text) in [
        ("v1", include_str!("../../examples/manifests/v1.yaml")),
        ("v2", include_str!("../../examples/manifests/v2.yaml")),
        (
            "broken",
            include_str!("../../examples/manifests/broken.json"),
        ),
    ] {
        let manifest = manifest_file::parse(text.as_bytes()).expect("example parses");
        let uid = "6a1f1c7e-0000-4000-8000-000000000001";
        let mut objects = vec![
            resources::namespace("demo"),
            resources::config_map("demo", &manifest),
            resources::service("demo", &manifest, uid),
            resources::ingress("demo", "apps.example.com", &manifest.name),
        ];
        objects.extend(
            resources::node_specs(&manifest)
                .iter()
                .map(|node| resources::deployment("demo", &manifest, node, uid)),
        );
        for (i, object) in objects.iter().enumerate() {
            let path = dir.path().join(format!("{name}-{i}.yaml"));
            std::fs::write(&path, serde_yaml_ng::to_string(object).expect("yaml")).expect("write");
            files.push(path);
        }
    }
    let output = Command::new(validator())
        .args(["--strict", "--no-warn", "-k", KUBERNETES_VERSION])
        .args(&files)
        .output()
        .expect("kubernetes-validate runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "schema violations:\n{stdout}\n{stderr}"
    );
    // Each file was actually checked (an empty run also exits 0).
    assert_eq!(
        stdout.matches(" passed for resource ").count(),
        files.len(),
        "{stdout}"
    );
}

#[test]
fn the_validator_rejects_what_kubernetes_rejects() {
    // Proves the check above can fail: a Deployment with a misspelt field.
    let dir = tempfile::tempdir().expect("tempdir");
    let manifest = manifest_file::parse(include_bytes!("../../examples/manifests/v1.yaml"))
        .expect("example parses");
    let mut bad = resources::deployment(
        "demo",
        &manifest,
        &resources::node_specs(&manifest)[0],
        "uid",
    );
    bad["spec"]["replica"] = serde_json::json!(2);
    let path = dir.path().join("bad.yaml");
    std::fs::write(&path, serde_yaml_ng::to_string(&bad).expect("yaml")).expect("write");
    let output = Command::new(validator())
        .args(["--strict", "--no-warn", "-k", KUBERNETES_VERSION])
        .arg(&path)
        .output()
        .expect("kubernetes-validate runs");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!output.status.success(), "{said}");
    assert!(
        said.contains("replica"),
        "fails for the misspelt field: {said}"
    );
}
