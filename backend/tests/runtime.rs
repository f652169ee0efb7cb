//! The lifecycle carried out in a cluster: the Kubernetes API emulator over
//! real HTTP with the real kube client. Each action's objects are checked in
//! the cluster; readiness, failures, faults and lost watches must all end in
//! a definite status, never a stuck one.

use std::{collections::BTreeMap, time::Duration};

use backend::{
    Cluster, ClusterMode,
    audit::Actor,
    manifest_file,
    runtime::{self, Runtime, Settings, VersionKey, resources},
    versions::{self, VersionRecord},
};
use k8s_openapi::api::{
    apps::v1::Deployment,
    core::v1::{ConfigMap, Pod, Service},
    networking::v1::Ingress,
};
use kube::{Api, Client, api::ListParams};
use lifecycle::{Action, Health, NodeStatus, Reason, Status};

use testkit::{actors, eventually};

const DEADLINE: Duration = Duration::from_secs(30);

struct Setup {
    emulator: kube_emulator::Running,
    db: testkit::db::TestDb,
    runtime: Runtime,
    client: Client,
}

fn fast_emulator() -> kube_emulator::Config {
    kube_emulator::Config {
        ready_after: Duration::from_millis(300),
        log_interval: Duration::from_millis(50),
        crash_interval: Duration::from_millis(200),
        ..kube_emulator::Config::default()
    }
}

fn fast_settings() -> Settings {
    Settings {
        start_deadline: Duration::from_secs(20),
        stop_deadline: Duration::from_secs(20),
        failure_grace: Duration::from_millis(500),
        call_timeout: Duration::from_secs(5),
        ..Settings::default()
    }
}

const CRASHLOOP: &str = r#"{"name": "crashy", "entrypoint": {"image": "registry.example.com/gw:1", "port": 8080},
  "processes": [{"name": "worker", "image": "registry.example.com/crashloop:1", "replicas": 1}]}"#;

impl Setup {
    async fn new() -> Self {
        Self::with(fast_emulator(), fast_settings()).await
    }

    async fn with(config: kube_emulator::Config, settings: Settings) -> Self {
        let emulator = kube_emulator::start("127.0.0.1:0".parse().expect("addr"), config)
            .await
            .expect("emulator starts");
        let db = testkit::db::sqlite().await;
        versions::ensure_runtime(&db.db, "demo", "apps.example.com")
            .await
            .expect("runtime");
        for text in [
            include_str!("../../examples/manifests/v1.yaml"),
            include_str!("../../examples/manifests/v2.yaml"),
            include_str!("../../examples/manifests/broken.json"),
            CRASHLOOP,
        ] {
            let manifest = manifest_file::parse(text.as_bytes()).expect("manifest");
            versions::register(&db.db, &Actor::System, "demo", &manifest)
                .await
                .expect("registered");
        }
        let config = kube::Config::new(emulator.url().parse().expect("url"));
        let cluster = Cluster::from_config(config, ClusterMode::Kubeconfig).expect("client");
        let client = cluster.client().clone();
        let runtime = Runtime::spawn(db.db.clone(), &cluster, settings);
        Self {
            emulator,
            db,
            runtime,
            client,
        }
    }

    async fn record(&self, version: &str) -> VersionRecord {
        versions::get(&self.db.db, "demo", version)
            .await
            .expect("version")
    }

    async fn act(&self, version: &str, action: Action) {
        let current = self.record(version).await.status;
        let actor = actors::user(1, "manager@example.com", "manager");
        let reason = Reason::parse("integration test").expect("reason");
        versions::apply_action(
            &self.db.db,
            &actor,
            "demo",
            version,
            action,
            current,
            &reason,
        )
        .await
        .expect("action accepted");
        let key = VersionKey::new("demo", version);
        match action {
            Action::Publish | Action::Unpublish => self.runtime.route(key).await,
            Action::Start | Action::Stop => self.runtime.status_changed(key),
        }
    }

    /// Waits until the version settles in `status`, failing fast (with the
    /// recorded message) if it settles anywhere else.
    async fn settles(&self, version: &str, status: Status) -> VersionRecord {
        let wait = async {
            loop {
                let record = self.record(version).await;
                if !record.status.is_in_flight() {
                    return record;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        };
        let record = tokio::time::timeout(DEADLINE, wait)
            .await
            .unwrap_or_else(|_| panic!("{version} still in flight after {DEADLINE:?}"));
        assert_eq!(
            record.status, status,
            "{version} settled in {} ({:?})",
            record.status, record.error_message
        );
        record
    }

    async fn faults(&self, body: serde_json::Value) {
        let response = reqwest::Client::new()
            .post(format!("{}/emulator/faults", self.emulator.url()))
            .json(&body)
            .send()
            .await
            .expect("faults endpoint");
        assert!(response.status().is_success());
    }

    async fn version_objects<K>(&self, version: &str) -> Vec<K>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>
            + Clone
            + serde::de::DeserializeOwned
            + std::fmt::Debug,
        <K as kube::Resource>::DynamicType: Default,
    {
        let api: Api<K> = Api::namespaced(self.client.clone(), "demo");
        api.list(&ListParams::default().labels(&resources::version_selector("demo", version)))
            .await
            .expect("list")
            .items
    }
}

fn pod_ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

#[tokio::test]
async fn start_applies_every_object_and_turns_started_only_when_pods_are_ready() {
    let s = Setup::new().await;
    s.act("v1", Action::Start).await;
    s.settles("v1", Status::Started).await;

    // Started means every desired replica has a Ready pod, in the cluster.
    let pods: Vec<Pod> = s.version_objects("v1").await;
    let mut ready_by_node: BTreeMap<String, usize> = BTreeMap::new();
    for pod in &pods {
        if pod_ready(pod) && pod.metadata.deletion_timestamp.is_none() {
            let node = pod.metadata.labels.as_ref().expect("labels")[resources::NODE_LABEL].clone();
            *ready_by_node.entry(node).or_default() += 1;
        }
    }
    assert_eq!(
        ready_by_node,
        BTreeMap::from([
            ("entrypoint".to_owned(), 1),
            ("enrich".to_owned(), 2),
            ("score".to_owned(), 2)
        ])
    );

    let config: Vec<ConfigMap> = s.version_objects("v1").await;
    assert_eq!(config.len(), 1);
    assert_eq!(config[0].metadata.name.as_deref(), Some("v1-config"));
    assert_eq!(
        config[0]
            .data
            .as_ref()
            .and_then(|d| d.get("threshold"))
            .map(String::as_str),
        Some("0.82")
    );
    let owner_uid = config[0].metadata.uid.clone().expect("uid");

    let deployments: Vec<Deployment> = s.version_objects("v1").await;
    let mut names: Vec<_> = deployments
        .iter()
        .filter_map(|d| d.metadata.name.clone())
        .collect();
    names.sort();
    assert_eq!(names, ["v1-enrich", "v1-entrypoint", "v1-score"]);
    for d in &deployments {
        let labels = d.metadata.labels.as_ref().expect("labels");
        assert_eq!(labels[resources::MANAGED_BY], resources::FIELD_MANAGER);
        assert_eq!(labels[resources::PART_OF], "demo");
        assert_eq!(labels[resources::VERSION_LABEL], "v1");
        let owners = d.metadata.owner_references.as_ref().expect("owner");
        assert_eq!(
            (owners[0].kind.as_str(), owners[0].uid.as_str()),
            ("ConfigMap", owner_uid.as_str())
        );
        let managers: Vec<_> = d
            .metadata
            .managed_fields
            .iter()
            .flatten()
            .filter_map(|m| m.manager.as_deref())
            .collect();
        assert!(managers.contains(&resources::FIELD_MANAGER), "{managers:?}");
        let spec = d.spec.as_ref().expect("spec");
        let container = &spec.template.spec.as_ref().expect("pod spec").containers[0];
        let env: BTreeMap<_, _> = container
            .env
            .iter()
            .flatten()
            .map(|e| (e.name.as_str(), e.value.as_deref().unwrap_or("")))
            .collect();
        match d.metadata.name.as_deref() {
            Some("v1-score") => {
                assert_eq!(spec.replicas, Some(2));
                assert_eq!(
                    container.image.as_deref(),
                    Some("registry.example.com/fraud/score:1.0.0")
                );
                assert_eq!(env.get("MODEL"), Some(&"gbm-2026-10"));
                assert_eq!(env.get("RUNTIME_INPUTS"), Some(&"enrich"));
            }
            Some("v1-entrypoint") => {
                assert_eq!(spec.replicas, Some(1));
                let probe = container.readiness_probe.as_ref().expect("probe");
                assert_eq!(
                    probe.http_get.as_ref().and_then(|h| h.path.as_deref()),
                    Some("/healthz")
                );
            }
            _ => {}
        }
        let selector = spec.selector.match_labels.as_ref().expect("selector");
        assert_eq!(
            selector[resources::NODE_LABEL],
            labels[resources::NODE_LABEL]
        );
    }

    let services: Vec<Service> = s.version_objects("v1").await;
    assert_eq!(services.len(), 1);
    let spec = services[0].spec.as_ref().expect("spec");
    assert_eq!(
        spec.selector.as_ref().expect("selector")[resources::NODE_LABEL],
        "entrypoint"
    );
    assert_eq!(
        spec.ports.as_ref().expect("ports")[0].port,
        resources::SERVICE_PORT
    );

    let live = s.runtime.live("demo", "v1").await.expect("live");
    assert_eq!(live.health, Health::Healthy);
    assert!(
        live.nodes.iter().all(|n| n.status == NodeStatus::Ready),
        "{:?}",
        live.nodes
    );

    // Starting again changes nothing. Objects without a status keep their
    // resourceVersion; Deployments (whose status the controller keeps
    // writing) keep their generation and spec.
    let snapshot = |deployments: &[Deployment], config: &[ConfigMap], services: &[Service]| {
        let mut specs: Vec<_> = deployments
            .iter()
            .map(|d| {
                (
                    d.metadata.name.clone(),
                    d.metadata.generation,
                    serde_json::to_string(&d.spec).expect("spec"),
                )
            })
            .collect();
        specs.sort();
        let versions: Vec<_> = config
            .iter()
            .map(|c| c.metadata.resource_version.clone())
            .chain(services.iter().map(|s| s.metadata.resource_version.clone()))
            .collect();
        (specs, versions)
    };
    let before = snapshot(&deployments, &config, &services);
    let record = s.record("v1").await;
    s.runtime.apply_resources(&record).await.expect("re-apply");
    let after = snapshot(
        &s.version_objects::<Deployment>("v1").await,
        &s.version_objects::<ConfigMap>("v1").await,
        &s.version_objects::<Service>("v1").await,
    );
    assert_eq!(before, after);
}

#[tokio::test]
async fn stop_removes_everything_and_keeps_the_logs() {
    let s = Setup::new().await;
    s.act("v1", Action::Start).await;
    s.settles("v1", Status::Started).await;
    // Logs are followed while the version runs.
    eventually("score's logs are stored", DEADLINE, || async {
        runtime::logs::read(&s.db.db, "demo", "v1", "score", 100)
            .await
            .is_ok_and(|lines| lines.len() >= 3)
    })
    .await;

    s.act("v1", Action::Stop).await;
    s.settles("v1", Status::Stopped).await;
    assert!(s.version_objects::<Pod>("v1").await.is_empty());
    assert!(s.version_objects::<Deployment>("v1").await.is_empty());
    assert!(s.version_objects::<Service>("v1").await.is_empty());
    assert!(s.version_objects::<ConfigMap>("v1").await.is_empty());

    let lines = runtime::logs::read(&s.db.db, "demo", "v1", "score", 100)
        .await
        .expect("logs");
    assert!(
        lines.iter().all(|l| l.pod.starts_with("v1-score-")),
        "{lines:?}"
    );
    assert!(lines.iter().any(|l| l.line.contains("score")), "{lines:?}");
    let live = s.runtime.live("demo", "v1").await.expect("live");
    assert!(live.nodes.iter().all(|n| n.status == NodeStatus::Stopped));
}

#[tokio::test]
async fn publish_points_the_one_ingress_and_switching_demotes_the_other() {
    let s = Setup::new().await;
    s.act("v1", Action::Start).await;
    s.act("v2", Action::Start).await;
    s.settles("v1", Status::Started).await;
    s.settles("v2", Status::Started).await;
    let ingresses: Api<Ingress> = Api::namespaced(s.client.clone(), "demo");
    let backend_of = |ingress: Ingress| {
        let rule = ingress.spec.and_then(|s| s.rules).expect("rules").remove(0);
        assert_eq!(rule.host.as_deref(), Some("demo.apps.example.com"));
        rule.http.expect("http").paths[0]
            .backend
            .service
            .as_ref()
            .map(|s| s.name.clone())
    };

    s.act("v1", Action::Publish).await;
    assert_eq!(s.record("v1").await.status, Status::Published);
    let ingress = ingresses.get("demo").await.expect("ingress");
    assert_eq!(backend_of(ingress).as_deref(), Some("v1-entrypoint"));

    s.act("v2", Action::Publish).await;
    assert_eq!(s.record("v2").await.status, Status::Published);
    assert_eq!(s.record("v1").await.status, Status::Started);
    let list = ingresses.list(&ListParams::default()).await.expect("list");
    assert_eq!(list.items.len(), 1, "one Ingress per runtime");
    assert_eq!(
        backend_of(list.items[0].clone()).as_deref(),
        Some("v2-entrypoint")
    );

    s.act("v2", Action::Unpublish).await;
    assert_eq!(s.record("v2").await.status, Status::Started);
    assert!(
        ingresses
            .list(&ListParams::default())
            .await
            .expect("list")
            .items
            .is_empty()
    );
}

#[tokio::test]
async fn image_pull_and_crash_loop_failures_end_in_error_with_the_reason() {
    let s = Setup::new().await;
    s.act("broken", Action::Start).await;
    s.act("crashy", Action::Start).await;
    let broken = s.settles("broken", Status::Error).await;
    let message = broken.error_message.expect("message");
    assert!(
        message.contains("ImagePullBackOff") || message.contains("ErrImagePull"),
        "{message}"
    );
    let crashy = s.settles("crashy", Status::Error).await;
    let message = crashy.error_message.expect("message");
    assert!(message.contains("worker: CrashLoopBackOff"), "{message}");
    let live = s.runtime.live("demo", "crashy").await.expect("live");
    let worker = live
        .nodes
        .iter()
        .find(|n| n.name == "worker")
        .expect("node");
    assert_eq!(
        (worker.status, worker.reason.as_deref()),
        (NodeStatus::Error, Some("CrashLoopBackOff"))
    );

    // From error, stop cleans up.
    s.act("crashy", Action::Stop).await;
    s.settles("crashy", Status::Stopped).await;
    assert!(s.version_objects::<Deployment>("crashy").await.is_empty());
}

#[tokio::test]
async fn a_pod_failing_after_the_start_degrades_health_not_status() {
    let s = Setup::new().await;
    s.act("v1", Action::Start).await;
    s.settles("v1", Status::Started).await;
    // Someone rolls a broken image onto one node.
    let deployments: Api<Deployment> = Api::namespaced(s.client.clone(), "demo");
    let patch = serde_json::json!({"spec": {"template": {"spec": {"containers": [
        {"name": "score", "image": "registry.example.com/crashloop:2"}]}}}});
    deployments
        .patch(
            "v1-score",
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Strategic(&patch),
        )
        .await
        .expect("patched");
    eventually("v1 is degraded by score", DEADLINE, || async {
        let live = s.runtime.live("demo", "v1").await.expect("live");
        matches!(&live.health, Health::Degraded { node, reason } if node == "score" && reason.contains("CrashLoopBackOff"))
    })
    .await;
    assert_eq!(s.record("v1").await.status, Status::Started);
}

#[tokio::test]
async fn dropped_and_expired_watches_mid_start_still_converge() {
    let config = kube_emulator::Config {
        ready_after: Duration::from_millis(800),
        // A tiny history: resuming a dropped watch meets 410 Expired.
        history: 5,
        ..fast_emulator()
    };
    let s = Setup::with(config, fast_settings()).await;
    s.act("v2", Action::Start).await;
    eventually("pods exist", DEADLINE, || async {
        !s.version_objects::<Pod>("v2").await.is_empty()
    })
    .await;
    for _ in 0..3 {
        s.faults(serde_json::json!({"drop_watches": true})).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    s.settles("v2", Status::Started).await;
    let live = s.runtime.live("demo", "v2").await.expect("live");
    assert!(
        live.nodes.iter().all(|n| n.status == NodeStatus::Ready),
        "{:?}",
        live.nodes
    );
}

#[tokio::test]
async fn server_errors_are_retried_and_a_hanging_api_ends_in_a_clean_error() {
    let s = Setup::with(
        fast_emulator(),
        Settings {
            call_timeout: Duration::from_millis(600),
            ..fast_settings()
        },
    )
    .await;
    // Two 500s: each call retries, the start succeeds.
    s.faults(serde_json::json!({"fail_requests": 2})).await;
    s.act("v1", Action::Start).await;
    s.settles("v1", Status::Started).await;

    // Every call slower than its deadline: the start fails with the reason.
    s.faults(serde_json::json!({"latency_ms": 5000})).await;
    s.act("v2", Action::Start).await;
    let failed = s.settles("v2", Status::Error).await;
    assert!(
        failed
            .error_message
            .expect("message")
            .contains("did not answer")
    );

    // The API recovers: a retry from error starts the version.
    s.faults(serde_json::json!({"latency_ms": 0})).await;
    s.act("v2", Action::Start).await;
    s.settles("v2", Status::Started).await;
}

#[tokio::test]
async fn a_start_that_misses_its_deadline_fails_and_names_the_waiting_nodes() {
    let config = kube_emulator::Config {
        ready_after: Duration::from_secs(60),
        ..fast_emulator()
    };
    let settings = Settings {
        start_deadline: Duration::from_secs(2),
        ..fast_settings()
    };
    let s = Setup::with(config, settings).await;
    s.act("v1", Action::Start).await;
    let failed = s.settles("v1", Status::Error).await;
    let message = failed.error_message.expect("message");
    assert!(
        message.contains("start deadline") && message.contains("score (0/2 ready)"),
        "{message}"
    );
}

#[tokio::test]
async fn subscribers_hear_of_node_changes() {
    let s = Setup::new().await;
    let mut changes = s.runtime.subscribe();
    s.act("v1", Action::Start).await;
    let key = VersionKey::new("demo", "v1");
    let heard = tokio::time::timeout(DEADLINE, async {
        loop {
            if let Ok(changed) = changes.recv().await
                && changed == key
                && s.runtime
                    .live("demo", "v1")
                    .await
                    .is_ok_and(|l| l.nodes.iter().any(|n| n.ready > 0))
            {
                return;
            }
        }
    })
    .await;
    assert!(heard.is_ok(), "no change event showed a ready replica");
}

/// One RBAC grant: (API group, resource, verb).
type Grant = (String, String, String);

/// The rules of deploy/base/clusterrole.yaml, one grant per verb.
fn granted_by_the_role() -> std::collections::BTreeSet<Grant> {
    let text = include_str!("../../deploy/base/clusterrole.yaml");
    let role: serde_json::Value = serde_yaml_ng::from_str(text).expect("the role parses");
    let mut grants = std::collections::BTreeSet::new();
    for rule in role["rules"].as_array().expect("rules") {
        let list = |field: &str| -> Vec<String> {
            rule[field]
                .as_array()
                .unwrap_or_else(|| panic!("{field} in {rule}"))
                .iter()
                .map(|v| v.as_str().expect("a string").to_owned())
                .collect()
        };
        for group in list("apiGroups") {
            for resource in list("resources") {
                for verb in list("verbs") {
                    assert_ne!(verb, "*", "no wildcards");
                    assert_ne!(resource, "*", "no wildcards");
                    grants.insert((group.clone(), resource.clone(), verb));
                }
            }
        }
    }
    grants
}

#[tokio::test]
async fn the_role_grants_exactly_what_the_console_uses() {
    // Every path through the runtime, watched by the emulator: start, logs,
    // publish, switch, unpublish, a failing start, stop. The test itself
    // makes no cluster call, so every request recorded is the console's.
    let s = Setup::new().await;
    s.act("v1", Action::Start).await;
    s.act("v2", Action::Start).await;
    s.act("crashy", Action::Start).await;
    s.settles("v1", Status::Started).await;
    s.settles("v2", Status::Started).await;
    s.settles("crashy", Status::Error).await;
    eventually("logs are followed", DEADLINE, || async {
        runtime::logs::read(&s.db.db, "demo", "v1", "score", 10)
            .await
            .is_ok_and(|lines| !lines.is_empty())
    })
    .await;
    s.act("v1", Action::Publish).await;
    s.act("v2", Action::Publish).await;
    s.act("v2", Action::Unpublish).await;
    for version in ["v1", "v2", "crashy"] {
        s.act(version, Action::Stop).await;
        s.settles(version, Status::Stopped).await;
    }

    let accesses = s.emulator.emulator.accesses();
    let used: std::collections::BTreeSet<Grant> = accesses
        .iter()
        .filter(|a| a.namespaced)
        .map(|a| (a.group.clone(), a.resource.clone(), a.verb.clone()))
        .collect();
    let granted = granted_by_the_role();
    let missing: Vec<_> = used.difference(&granted).collect();
    let unused: Vec<_> = granted.difference(&used).collect();
    assert!(
        missing.is_empty() && unused.is_empty(),
        "deploy/base/clusterrole.yaml and the code disagree.\n\
         used but not granted: {missing:?}\ngranted but never used: {unused:?}"
    );
    // Outside the runtime namespaces the console only tries to apply the
    // namespace itself, which the role deliberately leaves out (a refusal
    // is tolerated, and the platform team creates runtime namespaces).
    let cluster_wide: Vec<_> = accesses
        .iter()
        .filter(|a| !a.namespaced)
        .map(|a| format!("{} {}", a.verb, a.resource))
        .collect();
    assert_eq!(cluster_wide, ["patch namespaces"]);
}
