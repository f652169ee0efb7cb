//! Every object the console applies, for every example manifest, validated
//! against the Kubernetes API schema (kubernetes-validate from PyPI, strict:
//! an unknown or misplaced field fails). `make test` installs the validator
//! into `.tools/venv`; `KUBERNETES_VALIDATE` may name another.

use std::{path::PathBuf, process::Command};

use backend::{
    configuration::Settled,
    manifest_file,
    runtime::{configured, resources},
    runtimes::RuntimeRecord,
};
use lifecycle::{
    RuntimeSettings, Tls,
    workload::{Placement, Quantities, Resources, Toleration},
};

fn runtime(settings: RuntimeSettings) -> RuntimeRecord {
    RuntimeRecord {
        name: "demo".into(),
        description: String::new(),
        base_domain: "apps.example.com".into(),
        settings,
        created_at: "2026-12-02T00:00:00Z".into(),
        created_by: "admin@example.com".into(),
        updated_at: None,
        serving_version: None,
        routing_error: None,
    }
}

/// A runtime as a production platform team configures one: every setting
/// that reaches an object set.
fn production() -> RuntimeRecord {
    runtime(RuntimeSettings {
        host: Some("fraud.example.org".into()),
        ingress_class: Some("nginx-public".into()),
        tls: Tls::Issuer {
            issuer: "letsencrypt".into(),
            cluster: true,
        },
        ingress_annotations: [(
            "nginx.ingress.kubernetes.io/proxy-body-size".to_owned(),
            "8m".to_owned(),
        )]
        .into(),
        image_pull_secrets: vec!["registry-credentials".into()],
        default_resources: Resources {
            requests: Quantities {
                cpu: Some("50m".into()),
                memory: Some("64Mi".into()),
            },
            limits: Quantities {
                cpu: Some("1".into()),
                memory: Some("512Mi".into()),
            },
        },
        placements: [(
            "gpu".to_owned(),
            Placement {
                node_selector: [("accelerator".to_owned(), "a100".to_owned())].into(),
                tolerations: vec![Toleration {
                    key: "nvidia.com/gpu".into(),
                    operator: Some("Exists".into()),
                    value: None,
                    effect: Some("NoSchedule".into()),
                }],
            },
        )]
        .into(),
        ..RuntimeSettings::default()
    })
}

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

/// Runs the strict validator over `files`: whether all passed, and what it
/// said.
fn validate(files: &[PathBuf]) -> (bool, String, String) {
    let output = Command::new(validator())
        .args(["--strict", "--no-warn", "-k", KUBERNETES_VERSION])
        .args(files)
        .output()
        .expect("kubernetes-validate runs");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Every file passed, and each was actually checked (an empty run also
/// exits 0).
fn assert_all_pass(files: &[PathBuf]) {
    let (passed, stdout, stderr) = validate(files);
    assert!(passed, "schema violations:\n{stdout}\n{stderr}");
    assert_eq!(
        stdout.matches(" passed for resource ").count(),
        files.len(),
        "{stdout}"
    );
}

#[test]
fn generated_objects_pass_the_strict_kubernetes_schema() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut files = Vec::new();
    let examples = [
        ("v1", include_str!("../../examples/manifests/v1.yaml")),
        ("v2", include_str!("../../examples/manifests/v2.yaml")),
        ("v3", include_str!("../../examples/manifests/v3.yaml")),
        ("v4", include_str!("../../examples/manifests/v4.yaml")),
        (
            "broken",
            include_str!("../../examples/manifests/broken.json"),
        ),
    ];
    let runtimes = [
        ("plain", runtime(RuntimeSettings::default())),
        ("prod", production()),
    ];
    for ((example, text), (kind, rt)) in examples
        .iter()
        .flat_map(|e| runtimes.iter().map(move |r| (e, r)))
    {
        let name = format!("{example}-{kind}");
        let manifest = manifest_file::parse(text.as_bytes()).expect("example parses");
        let uid = "6a1f1c7e-0000-4000-8000-000000000001";
        // Every declared variable with a value: the Secret, the files
        // ConfigMap, the secret env and the projected volume are checked.
        let settled = Settled::placeholders(&manifest);
        let mut objects = vec![
            resources::namespace("demo"),
            resources::config_map("demo", &manifest, &settled),
            resources::service("demo", &manifest, uid),
            resources::ingress(rt, &manifest.name),
        ];
        objects.extend(configured::secret("demo", &manifest, &settled, uid));
        objects.extend(configured::files_config_map(
            "demo", &manifest, &settled, uid,
        ));
        objects.extend(resources::node_specs(&manifest).iter().map(|node| {
            resources::deployment("demo", &rt.settings, &manifest, node, uid, &settled)
        }));
        for (i, object) in objects.iter().enumerate() {
            let path = dir.path().join(format!("{name}-{i}.yaml"));
            // JSON, as the console sends them (and valid YAML): a YAML
            // writer leaves a timestamp-like annotation unquoted, which the
            // validator's YAML reader then takes for a date.
            std::fs::write(&path, serde_json::to_string(object).expect("json")).expect("write");
            files.push(path);
        }
    }
    assert_all_pass(&files);
}

#[test]
fn the_validator_rejects_what_kubernetes_rejects() {
    // Proves the check above can fail: a Deployment with a misspelt field.
    let dir = tempfile::tempdir().expect("tempdir");
    let manifest = manifest_file::parse(include_bytes!("../../examples/manifests/v1.yaml"))
        .expect("example parses");
    let mut bad = resources::deployment(
        "demo",
        &RuntimeSettings::default(),
        &manifest,
        &resources::node_specs(&manifest)[0],
        "uid",
        &Settled::default(),
    );
    bad["spec"]["replica"] = serde_json::json!(2);
    let path = dir.path().join("bad.yaml");
    std::fs::write(&path, serde_yaml_ng::to_string(&bad).expect("yaml")).expect("write");
    let (passed, stdout, stderr) = validate(&[path]);
    let said = format!("{stdout}{stderr}");
    assert!(!passed, "{said}");
    assert!(
        said.contains("replica"),
        "fails for the misspelt field: {said}"
    );
}

fn deploy_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../deploy")
}

fn yaml_files(dir: &std::path::Path, found: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("deploy/ readable") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            yaml_files(&path, found);
        } else if path.extension().is_some_and(|e| e == "yaml") {
            found.push(path);
        }
    }
}

fn read_yaml(path: &std::path::Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).expect("readable");
    serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn the_deployment_manifests_pass_the_strict_kubernetes_schema() {
    let mut files = Vec::new();
    yaml_files(&deploy_dir(), &mut files);
    files.sort();
    let (kustomizations, objects): (Vec<_>, Vec<_>) = files
        .into_iter()
        .partition(|p| p.file_name().is_some_and(|n| n == "kustomization.yaml"));
    assert!(kustomizations.len() >= 2, "a base and an overlay");
    // Every object file belongs to a kustomization, and every entry exists:
    // `kubectl apply -k` would otherwise miss or refuse it.
    let mut listed = std::collections::BTreeSet::new();
    for kustomization in &kustomizations {
        let dir = kustomization.parent().expect("dir");
        let doc = read_yaml(kustomization);
        for entry in doc["resources"].as_array().expect("resources") {
            let path = dir.join(entry.as_str().expect("a path"));
            assert!(
                path.exists(),
                "{}: {} is missing",
                kustomization.display(),
                path.display()
            );
            listed.insert(path.canonicalize().expect("canonical"));
        }
    }
    for object in &objects {
        assert!(
            listed.contains(&object.canonicalize().expect("canonical")),
            "{} is in no kustomization",
            object.display()
        );
    }
    assert_all_pass(&objects);
}

#[test]
fn the_console_pod_runs_locked_down_with_probes_and_a_secret_database_url() {
    let deployment = read_yaml(&deploy_dir().join("base/deployment.yaml"));
    let pod = &deployment["spec"]["template"]["spec"];
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(
        pod["securityContext"]["seccompProfile"]["type"],
        "RuntimeDefault"
    );
    let container = &pod["containers"][0];
    let security = &container["securityContext"];
    assert_eq!(security["readOnlyRootFilesystem"], true);
    assert_eq!(security["allowPrivilegeEscalation"], false);
    assert_eq!(security["capabilities"]["drop"][0], "ALL");
    assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert!(container["resources"]["requests"].is_object());
    assert!(container["resources"]["limits"]["memory"].is_string());
    let env = container["env"].as_array().expect("env");
    let database = env
        .iter()
        .find(|e| e["name"] == "CONSOLE_DATABASE_URL")
        .expect("the database URL is configured");
    assert!(
        database["valueFrom"]["secretKeyRef"]["key"].is_string(),
        "the database URL (with its password) comes from a Secret: {database}"
    );
    assert!(
        deployment["spec"]["replicas"].as_u64().unwrap_or(0) >= 2,
        "several replicas"
    );
}

fn hadolint() -> PathBuf {
    if let Some(path) = std::env::var_os("HADOLINT") {
        return path.into();
    }
    let bundled = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.tools/venv/bin/hadolint");
    assert!(
        bundled.exists(),
        "hadolint is missing: run `scripts/tools.sh test` (part of `make test`) or set HADOLINT"
    );
    bundled
}

fn lint(containerfile: &std::path::Path) -> (bool, String) {
    let output = Command::new(hadolint())
        .arg("--no-color")
        .arg(containerfile)
        .output()
        .expect("hadolint runs");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), said)
}

#[test]
fn the_containerfile_passes_hadolint_and_matches_the_deployment() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../Containerfile");
    let (clean, said) = lint(&path);
    assert!(clean, "hadolint findings:\n{said}");

    // The image and the pod agree on the user and the ports.
    let text = std::fs::read_to_string(&path).expect("Containerfile");
    let deployment = read_yaml(&deploy_dir().join("base/deployment.yaml"));
    let pod = &deployment["spec"]["template"]["spec"];
    let uid = pod["securityContext"]["runAsUser"]
        .as_u64()
        .expect("runAsUser");
    assert!(
        text.contains(&format!("\nUSER {uid}:{uid}\n")),
        "USER {uid}"
    );
    // The image's server is the production build: no embedded emulator
    // (server/tests/without_emulator.rs shows what that build does).
    let rebuilt = text
        .find("cargo build --release --locked -p server --no-default-features")
        .expect("the server is built without its default features");
    let copied = text
        .find("cp target/release/server")
        .expect("server copied");
    assert!(
        rebuilt < copied,
        "the copied server is the one without the emulator"
    );
    for port in pod["containers"][0]["ports"].as_array().expect("ports") {
        let number = port["containerPort"].as_u64().expect("port");
        assert!(
            text.lines().any(|l| l.starts_with("EXPOSE")
                && l.split_whitespace().any(|p| p == number.to_string())),
            "EXPOSE {number}"
        );
    }
}

#[test]
fn hadolint_finds_what_a_careless_containerfile_gets_wrong() {
    // Proves the lint above can fail: an unpinned base image, root, and an
    // apt install that keeps its lists.
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("Containerfile");
    std::fs::write(
        &path,
        "FROM debian:latest\nRUN apt-get update && apt-get install -y curl\nCMD curl\n",
    )
    .expect("write");
    let (clean, said) = lint(&path);
    assert!(!clean, "{said}");
    assert!(said.contains("DL3007"), "flags the `latest` tag: {said}");
}
