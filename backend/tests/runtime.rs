//! The lifecycle carried out in a cluster: the Kubernetes API emulator over
//! real HTTP with the real kube client. Each action's objects are checked in
//! the cluster; readiness, failures, faults and lost watches must all end in
//! a definite status, never a stuck one.

use std::{collections::BTreeMap, time::Duration};

use backend::{
    Services,
    audit::Actor,
    manifest_file,
    runtime::{self, Runtime, Settings, VersionKey, resources},
    versions::{self, VersionError},
};
use k8s_openapi::api::{
    apps::v1::Deployment,
    core::v1::{ConfigMap, Pod, Service},
    networking::v1::Ingress,
};
use kube::{
    Api,
    api::{ListParams, Patch, PatchParams, PostParams},
};
use lifecycle::{Action, AuditAction, Health, NodeStatus, Reason, Routing, Status};

use testkit::{actors, eventually};

mod support;
use support::cluster::*;

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
        // A short history: the writes below push the watchers' resume
        // point out of it, so resuming a dropped watch meets 410 Expired.
        history: 30,
        ..fast_emulator()
    };
    let s = Setup::with(config, fast_settings()).await;
    s.act("v2", Action::Start).await;
    eventually("pods exist", DEADLINE, || async {
        !s.version_objects::<Pod>("v2").await.is_empty()
    })
    .await;
    let emulator = &s.emulator.emulator;
    let mut watched = 0;
    for round in 0..3 {
        eventually("the console watches again", DEADLINE, || async {
            emulator.watches_started() > watched
        })
        .await;
        // Writes the version's watchers do not follow, then the drop: each
        // resumes from a version the history no longer has.
        for i in 0..40 {
            let noise = serde_json::json!({"metadata": {"name": format!("noise-{round}-{i}")}});
            emulator
                .store
                .create(kube_emulator::resources::CONFIGMAPS, "default", noise)
                .expect("noise");
        }
        let expired = emulator.expired_watches();
        s.faults(serde_json::json!({"drop_watches": true})).await;
        eventually("a resumed watch meets 410 Expired", DEADLINE, || async {
            emulator.expired_watches() > expired
        })
        .await;
        watched = emulator.watches_started();
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
    // v4 has a secret and a file, and changes while it runs.
    let settings = Settings {
        keyring: backend::configuration::Keyring::generate().expect("key"),
        ..fast_settings()
    };
    let s = Setup::with(fast_emulator(), settings).await;
    let v4 = manifest_file::parse(include_bytes!("../../examples/manifests/v4.yaml")).expect("v4");
    versions::register(&s.db.db, &actors::manager(), "demo", &v4)
        .await
        .expect("registered");
    let set = |value: &str| {
        use backend::configuration::ValueChange;
        let change = |name: &str, secret| ValueChange {
            name: name.into(),
            value: value.into(),
            secret,
        };
        vec![
            change("DATABASE_URL", false),
            change("RULES_API_KEY", true),
            change("RULES", false),
        ]
    };
    let reason = Reason::parse("role test").expect("reason");
    s.services
        .configure(&actors::manager(), "demo", "v4", &set("one"), &reason)
        .await
        .expect("configured");
    s.act("v4", Action::Start).await;
    s.settles("v4", Status::Started).await;
    let before: Vec<String> = s
        .runtime
        .pods()
        .version_pods("demo", "v4")
        .into_iter()
        .map(|p| p.name)
        .collect();
    s.services
        .configure(&actors::manager(), "demo", "v4", &set("two"), &reason)
        .await
        .expect("configured while running");
    // Applied again: its pods roll (watched through the console's own pod
    // store: a call of the test's would be counted).
    eventually("v4's pods are replaced and ready", DEADLINE, || async {
        let now = s.runtime.pods().version_pods("demo", "v4");
        let live = s.runtime.live("demo", "v4").await.expect("live");
        now.iter().all(|p| !before.contains(&p.name))
            && live.nodes.iter().all(|n| n.status == NodeStatus::Ready)
    })
    .await;
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
    for version in ["v1", "v2", "crashy", "v4"] {
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

/// What `kubectl get ingress` would say the runtime's Ingress points at.
async fn ingress_backend(s: &Setup) -> Option<String> {
    let ingresses: Api<Ingress> = Api::namespaced(s.client.clone(), "demo");
    let ingress = ingresses.get_opt("demo").await.expect("get ingress")?;
    ingress
        .spec?
        .rules?
        .first()?
        .http
        .as_ref()?
        .paths
        .first()?
        .backend
        .service
        .as_ref()
        .map(|service| service.name.clone())
}

/// The system's routing entries, newest first.
async fn routing_entries(s: &Setup, action: AuditAction) -> Vec<backend::audit::Entry> {
    let filter = backend::audit::Filter {
        action: Some(action),
        ..Default::default()
    };
    testkit::db::audit_entries(&s.db.db, filter).await
}

// Level-triggered routing: whatever changes the Ingress behind the console's
// back, the leader puts it back, and says so in the audit log.
#[tokio::test]
async fn ingress_drift_is_corrected_and_audited() {
    let s = Setup::new().await;
    s.act("v1", Action::Start).await;
    s.settles("v1", Status::Started).await;
    s.act("v1", Action::Publish).await;
    let ingresses: Api<Ingress> = Api::namespaced(s.client.clone(), "demo");

    // kubectl delete ingress demo
    ingresses
        .delete("demo", &kube::api::DeleteParams::default())
        .await
        .expect("deleted");
    eventually("the deleted Ingress is back", DRIFT, || async {
        ingress_backend(&s).await.as_deref() == Some("v1-entrypoint")
    })
    .await;

    // kubectl edit: the backend points at another Service.
    let patch = serde_json::json!({"spec": {"rules": [{"host": "demo.apps.example.com", "http": {"paths": [
        {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "elsewhere", "port": {"number": 80}}}}]}}]}});
    ingresses
        .patch("demo", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect("patched");
    eventually("the edited backend is restored", DRIFT, || async {
        ingress_backend(&s).await.as_deref() == Some("v1-entrypoint")
    })
    .await;

    // A stray Ingress with the console's labels while nothing is published.
    s.act("v1", Action::Unpublish).await;
    assert_eq!(ingress_backend(&s).await, None);
    let stray: Ingress = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "leftover", "labels": {
            resources::MANAGED_BY: resources::FIELD_MANAGER,
            resources::RUNTIME_LABEL: "demo",
        }},
        "spec": {"rules": [{"host": "old.apps.example.com", "http": {"paths": [
            {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "v1-entrypoint", "port": {"number": 80}}}}]}}]}
    }))
    .expect("ingress");
    ingresses
        .create(&PostParams::default(), &stray)
        .await
        .expect("stray created");
    eventually("the stray Ingress is removed", DRIFT, || async {
        ingresses.get_opt("leftover").await.expect("get").is_none()
    })
    .await;

    // The entry follows the correction it records.
    eventually("three corrections are audited", DRIFT, || async {
        routing_entries(&s, AuditAction::RoutingCorrected)
            .await
            .len()
            >= 3
    })
    .await;
    let corrections = routing_entries(&s, AuditAction::RoutingCorrected).await;
    assert_eq!(corrections.len(), 3, "{corrections:#?}");
    assert!(corrections.iter().all(|e| e.actor_kind == "system"));
    assert!(
        corrections[0].details.contains("leftover"),
        "{}",
        corrections[0].details
    );
    assert!(
        corrections[1].details.contains("elsewhere"),
        "{}",
        corrections[1].details
    );
    assert!(
        corrections[2].details.contains("no Ingress"),
        "{}",
        corrections[2].details
    );
}

// A publish whose Ingress cannot be written: the runtime keeps serving the
// version it served, which is published again, and the audit log says what
// failed and what was restored. A watcher on the Ingress sees no moment
// without a backend.
#[tokio::test]
async fn a_switch_that_cannot_be_made_keeps_the_old_version_serving() {
    let settings = Settings {
        switch_deadline: Duration::from_secs(2),
        call_timeout: Duration::from_secs(1),
        ..fast_settings()
    };
    let s = Setup::with(fast_emulator(), settings).await;
    for v in ["v1", "v2"] {
        s.act(v, Action::Start).await;
        s.settles(v, Status::Started).await;
    }
    s.act("v1", Action::Publish).await;
    let ingresses: Api<Ingress> = Api::namespaced(s.client.clone(), "demo");
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<Option<String>>::new()));
    let recorder = {
        let seen = seen.clone();
        let stream =
            kube::runtime::watcher(ingresses.clone(), kube::runtime::watcher::Config::default());
        tokio::spawn(async move {
            use futures::StreamExt;
            let mut stream = std::pin::pin!(stream);
            while let Some(Ok(event)) = stream.next().await {
                let backend = |i: &Ingress| {
                    i.spec
                        .as_ref()?
                        .rules
                        .as_ref()?
                        .first()?
                        .http
                        .as_ref()?
                        .paths
                        .first()?
                        .backend
                        .service
                        .as_ref()
                        .map(|s| s.name.clone())
                };
                let observed = match event {
                    kube::runtime::watcher::Event::Apply(i)
                    | kube::runtime::watcher::Event::InitApply(i) => backend(&i),
                    kube::runtime::watcher::Event::Delete(_) => None,
                    _ => continue,
                };
                seen.lock().expect("seen").push(observed);
            }
        })
    };
    s.faults(serde_json::json!({"fail_writes_to": ["ingresses"]}))
        .await;
    let current = s.record("v2").await.status;
    s.services
        .act(
            &actors::manager(),
            "demo",
            "v2",
            Action::Publish,
            current,
            &Reason::parse("switch under faults").expect("reason"),
        )
        .await
        .expect("the publish is accepted: the switch happens after");
    eventually("v1 is published and serving again", DEADLINE, || async {
        let v1 = s.record("v1").await;
        v1.status == Status::Published && v1.routing() == Some(Routing::Serving)
    })
    .await;
    s.faults(serde_json::json!({"fail_writes_to": []})).await;
    let v2 = s.record("v2").await;
    assert_eq!(v2.status, Status::Started);
    let message = v2.error_message.expect("the failure is shown on v2");
    assert!(message.contains("Ingress"), "{message}");
    assert_eq!(ingress_backend(&s).await.as_deref(), Some("v1-entrypoint"));

    let transitions = routing_entries(&s, AuditAction::SystemTransition).await;
    let failed = transitions
        .iter()
        .find(|e| e.version.as_deref() == Some("v2") && e.details.contains("switch_failed"))
        .expect("the failed publish is audited");
    assert_eq!(failed.outcome, "failed");
    assert!(
        failed.details.contains("injected fault"),
        "{}",
        failed.details
    );
    let restored = transitions
        .iter()
        .find(|e| e.version.as_deref() == Some("v1") && e.details.contains("switch_reverted"))
        .expect("the restoration is audited");
    assert_eq!(restored.status_after.as_deref(), Some("published"));

    recorder.abort();
    let seen = seen.lock().expect("seen");
    assert!(!seen.is_empty(), "the recorder saw the Ingress");
    assert!(
        seen.iter()
            .all(|b| matches!(b.as_deref(), Some("v1-entrypoint" | "v2-entrypoint"))),
        "a moment without a backend on v1 or v2: {seen:?}"
    );
}

// Every transition is also a Kubernetes Event on the version's Deployments,
// reported by the console, as `kubectl describe deployment` shows them.
#[tokio::test]
async fn transitions_are_kubernetes_events_on_the_deployments() {
    let s = Setup::new().await;
    s.act("v1", Action::Start).await;
    s.settles("v1", Status::Started).await;
    s.act("v1", Action::Publish).await;
    let events: Api<k8s_openapi::api::core::v1::Event> = Api::namespaced(s.client.clone(), "demo");
    eventually(
        "Start, Started, Publish and Serving on v1-entrypoint",
        DEADLINE,
        || async {
            let list = events
                .list(&ListParams::default().fields("involvedObject.name=v1-entrypoint"))
                .await
                .expect("events");
            let reasons: Vec<String> = list
                .items
                .iter()
                .filter(|e| e.reporting_component.as_deref() == Some(resources::FIELD_MANAGER))
                .filter_map(|e| e.reason.clone())
                .collect();
            ["Start", "Started", "Publish", "Serving"]
                .iter()
                .all(|r| reasons.iter().any(|got| got == r))
        },
    )
    .await;
    let list = events.list(&ListParams::default()).await.expect("events");
    let start = list
        .items
        .iter()
        .find(|e| e.reason.as_deref() == Some("Start"))
        .expect("the start");
    let message = start.message.clone().unwrap_or_default();
    assert!(
        message.contains("manager@example.com") && message.contains("integration test"),
        "{message}"
    );
}

// Two replicas on one PostgreSQL take publishes of v1 and v2 at the same
// instant: whatever order the database settles on, the Ingress ends up on
// the version it says is published, every time.
#[tokio::test]
async fn two_replicas_publishing_at_once_end_on_the_published_version() {
    let Ok(url) = std::env::var("TEST_POSTGRES_URL") else {
        eprintln!("postgres: skipped (TEST_POSTGRES_URL not set)");
        return;
    };
    let s = Setup::on_postgres(&url).await;
    let other = Runtime::spawn(s.db.db.clone(), &s.cluster(), fast_settings());
    let b = Services {
        db: s.db.db.clone(),
        cluster: Some(s.cluster()),
        runtime: Some(other),
        webhooks: Default::default(),
    };
    for v in ["v1", "v2"] {
        s.act(v, Action::Start).await;
        s.settles(v, Status::Started).await;
    }
    let reason = Reason::parse("race").expect("reason");
    let (manager, admin) = (actors::manager(), actors::admin());
    for round in 0..20 {
        let (v1, v2) = (s.record("v1").await.status, s.record("v2").await.status);
        let (a, b) = tokio::join!(
            s.services
                .act(&manager, "demo", "v1", Action::Publish, v1, &reason),
            b.act(&admin, "demo", "v2", Action::Publish, v2, &reason),
        );
        assert!(a.is_ok() || b.is_ok(), "round {round}: one publish wins");
        eventually("the Ingress follows the database", DEADLINE, || async {
            let published = versions::published(&s.db.db).await.expect("published");
            let wanted = published.first().map(|v| resources::service_name(&v.name));
            wanted.is_some() && ingress_backend(&s).await == wanted
        })
        .await;
    }
}

/// A cluster that has no room for a version's pods: the nodes whose pods
/// wait name the scheduler's reason and message while the start goes on,
/// and the start deadline's message names it too.
#[tokio::test]
async fn unschedulable_pods_show_the_schedulers_reason_on_their_nodes() {
    let config = kube_emulator::Config {
        // Room for three pods; v2 asks for seven.
        node: kube_emulator::NodeConfig {
            pods: 3,
            ..Default::default()
        },
        ..fast_emulator()
    };
    let settings = Settings {
        start_deadline: Duration::from_secs(4),
        ..fast_settings()
    };
    let s = Setup::with(config, settings).await;
    s.act("v2", Action::Start).await;
    eventually("a node waits as Unschedulable", DEADLINE, || async {
        let live = s.runtime.live("demo", "v2").await.expect("live");
        live.nodes.iter().any(|n| {
            n.status == NodeStatus::Starting
                && n.reason.as_deref() == Some("Unschedulable")
                && n.message
                    .as_deref()
                    .is_some_and(|m| m.contains("Too many pods"))
        })
    })
    .await;
    let failed = s.settles("v2", Status::Error).await;
    let message = failed.error_message.unwrap_or_default();
    assert!(
        message.contains("Not ready within the start deadline")
            && message.contains("Unschedulable"),
        "{message}"
    );
}

/// A namespace quota that refuses a version's pods: the start ends in
/// error with the API server's own message, once the refusal has lasted
/// the failure grace.
#[tokio::test]
async fn a_start_refused_by_a_quota_ends_in_error_with_the_servers_message() {
    let s = Setup::new().await;
    s.create_namespace(serde_json::json!({})).await;
    s.create_pod_quota("pods", "2").await;
    s.act("v2", Action::Start).await;
    let failed = s.settles("v2", Status::Error).await;
    let message = failed.error_message.unwrap_or_default();
    assert!(
        message.contains("FailedCreate")
            && message.contains("is forbidden: exceeded quota: pods, requested: pods=1, used: pods=2, limited: pods=2"),
        "{message}"
    );
}

/// The workloads the console generates pass Pod Security `restricted`: a
/// runtime whose namespace enforces it starts every example version.
#[tokio::test]
async fn versions_start_in_a_namespace_that_enforces_restricted() {
    let s = Setup::new().await;
    s.create_namespace(serde_json::json!({"pod-security.kubernetes.io/enforce": "restricted"}))
        .await;
    for version in ["v1", "v2"] {
        s.act(version, Action::Start).await;
    }
    for version in ["v1", "v2"] {
        s.settles(version, Status::Started).await;
    }
    let pods: Api<Pod> = Api::namespaced(s.client.clone(), "demo");
    let all = pods.list(&ListParams::default()).await.expect("pods").items;
    assert!(!all.is_empty());
    for pod in all {
        let spec = pod.spec.expect("spec");
        assert_eq!(spec.automount_service_account_token, Some(false));
        let container = &spec.containers[0];
        let security = container
            .security_context
            .as_ref()
            .expect("securityContext");
        assert_eq!(security.read_only_root_filesystem, Some(true));
        assert!(
            container
                .volume_mounts
                .as_ref()
                .is_some_and(|m| m.iter().any(|m| m.mount_path == "/tmp"))
        );
    }
}

fn details(entry: &backend::audit::Entry) -> serde_json::Value {
    serde_json::from_str(&entry.details).expect("details are JSON")
}

fn admin() -> Actor {
    actors::user(2, "admin@example.com", "admin")
}

/// The runtime's routing settings as an admin changes them on the settings
/// page, with the version that serves left alone.
async fn change_settings(s: &Setup, change: impl FnOnce(&mut lifecycle::RuntimeSettings)) {
    let current = backend::runtimes::get(&s.db.db, "demo")
        .await
        .expect("runtime");
    let mut draft = backend::runtimes::RuntimeDraft {
        description: current.description,
        base_domain: current.base_domain,
        settings: current.settings,
    };
    change(&mut draft.settings);
    backend::runtimes::update(
        &s.db.db,
        &admin(),
        "demo",
        &draft,
        &Reason::parse("integration test").expect("reason"),
    )
    .await
    .expect("settings saved");
}

// A runtime's host, class, TLS and annotations reach its Ingress through the
// level-triggered routing pass, audited as a settings change and not as
// drift; a runtime is deleted only once none of its versions runs.
#[tokio::test]
async fn runtime_settings_reach_the_ingress_and_deletion_waits_for_stopped_versions() {
    let s = Setup::new().await;
    s.act("v1", Action::Start).await;
    s.settles("v1", Status::Started).await;
    s.act("v1", Action::Publish).await;
    change_settings(&s, |settings| {
        settings.host = Some("fraud.example.org".into());
        settings.ingress_class = Some("nginx-public".into());
        settings.tls = lifecycle::Tls::Secret {
            secret: "fraud-cert".into(),
        };
        settings.ingress_annotations = [(
            "nginx.ingress.kubernetes.io/ssl-redirect".to_owned(),
            "true".to_owned(),
        )]
        .into();
    })
    .await;
    let ingresses: Api<Ingress> = Api::namespaced(s.client.clone(), "demo");
    let host_of =
        |ingress: Ingress| -> Option<String> { ingress.spec?.rules?.first()?.host.clone() };
    eventually("the Ingress follows the settings", DRIFT, || async {
        let found = ingresses.get("demo").await.ok().and_then(host_of);
        found.as_deref() == Some("fraud.example.org")
    })
    .await;
    let followed = ingresses.get("demo").await.expect("Ingress");
    let spec = followed.spec.expect("spec");
    assert_eq!(spec.ingress_class_name.as_deref(), Some("nginx-public"));
    let tls = &spec.tls.expect("tls")[0];
    assert_eq!(tls.secret_name.as_deref(), Some("fraud-cert"));
    assert_eq!(
        tls.hosts.as_deref(),
        Some(&["fraud.example.org".to_owned()][..])
    );
    let annotations = followed.metadata.annotations.expect("annotations");
    assert_eq!(
        annotations
            .get("nginx.ingress.kubernetes.io/ssl-redirect")
            .map(String::as_str),
        Some("true")
    );
    assert!(
        routing_entries(&s, AuditAction::RoutingCorrected)
            .await
            .is_empty(),
        "a settings change is not drift"
    );
    let changes = routing_entries(&s, AuditAction::RuntimeUpdate).await;
    assert_eq!(changes.len(), 1);
    let change = details(&changes[0]);
    assert_eq!(
        change["old"]["settings"]["ingress_class"],
        serde_json::Value::Null
    );
    assert_eq!(change["new"]["settings"]["ingress_class"], "nginx-public");
    assert_eq!(change["routing"], true);
    assert_eq!(s.record("v1").await.host, "fraud.example.org");

    // Removing an annotation removes it from the Ingress too.
    change_settings(&s, |settings| settings.ingress_annotations.clear()).await;
    eventually("the annotation is gone", DRIFT, || async {
        ingresses.get("demo").await.is_ok_and(|ingress| {
            !ingress
                .metadata
                .annotations
                .unwrap_or_default()
                .contains_key("nginx.ingress.kubernetes.io/ssl-redirect")
        })
    })
    .await;

    let reason = Reason::parse("decommissioned").expect("reason");
    let refused = backend::runtimes::delete(&s.db.db, &admin(), "demo", &reason).await;
    match refused {
        Err(backend::runtimes::RuntimesError::Running { running, .. }) => {
            assert_eq!(running, ["v1"])
        }
        other => panic!("deleting a runtime that runs v1: {other:?}"),
    }
    let denied = routing_entries(&s, AuditAction::RuntimeDelete).await;
    assert_eq!(denied.len(), 1);
    assert_eq!(denied[0].outcome, "denied");

    s.act("v1", Action::Unpublish).await;
    s.act("v1", Action::Stop).await;
    s.settles("v1", Status::Stopped).await;
    backend::runtimes::delete(&s.db.db, &admin(), "demo", &reason)
        .await
        .expect("an empty runtime is deleted");
    assert!(matches!(
        backend::runtimes::get(&s.db.db, "demo").await,
        Err(backend::runtimes::RuntimesError::Unknown(_))
    ));
    let deleted = routing_entries(&s, AuditAction::RuntimeDelete).await;
    assert_eq!(deleted.len(), 2);
    let accepted = deleted
        .iter()
        .find(|e| e.outcome == "accepted")
        .expect("the deletion is audited");
    assert_eq!(
        details(accepted)["versions"].as_array().map(Vec::len),
        Some(4)
    );
}

// An image from a registry that wants credentials fails with the kubelet's
// words until the runtime names a pull secret that exists in its namespace.
#[tokio::test]
async fn a_private_image_starts_once_the_runtime_names_its_pull_secret() {
    let s = Setup::new().await;
    let private = r#"{"name": "secret", "entrypoint": {"image": "registry.example.com/private/gw:1", "port": 8080},
      "processes": [{"name": "worker", "image": "registry.example.com/worker:1"}]}"#;
    let manifest = manifest_file::parse(private.as_bytes()).expect("manifest");
    versions::register(&s.db.db, &Actor::System, "demo", &manifest)
        .await
        .expect("registered");
    s.act("secret", Action::Start).await;
    let failed = s.settles("secret", Status::Error).await;
    let message = failed.error_message.expect("message");
    assert!(message.contains("pull access denied"), "{message}");

    let secrets: Api<k8s_openapi::api::core::v1::Secret> =
        Api::namespaced(s.client.clone(), "demo");
    let secret = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "registry-credentials"},
        "type": "kubernetes.io/dockerconfigjson",
        "stringData": {".dockerconfigjson": "{\"auths\":{\"registry.example.com\":{\"auth\":\"dTpw\"}}}"},
    }))
    .expect("secret");
    secrets
        .create(&PostParams::default(), &secret)
        .await
        .expect("secret created");
    change_settings(&s, |settings| {
        settings.image_pull_secrets = vec!["registry-credentials".into()]
    })
    .await;
    s.act("secret", Action::Stop).await;
    s.settles("secret", Status::Stopped).await;
    s.act("secret", Action::Start).await;
    s.settles("secret", Status::Started).await;
    let changes = routing_entries(&s, AuditAction::RuntimeUpdate).await;
    assert_eq!(details(&changes[0])["workloads"], true);
    assert_eq!(details(&changes[0])["routing"], false);
}

// The release history follows what the Ingress pointed at, and answers
// "what was serving at T" at every boundary of a scripted sequence: two
// publishes, a publish whose switch fails, an unpublish and a publish again.
#[tokio::test]
async fn release_history_answers_what_served_at_every_instant() {
    use backend::releases::{self, EndCause};
    let settings = Settings {
        switch_deadline: Duration::from_secs(2),
        call_timeout: Duration::from_secs(1),
        ..fast_settings()
    };
    let s = Setup::with(fast_emulator(), settings).await;
    for v in ["v1", "v2"] {
        s.act(v, Action::Start).await;
        s.settles(v, Status::Started).await;
    }
    let before_any = chrono::Utc::now();
    s.act("v1", Action::Publish).await;
    s.act("v2", Action::Publish).await;
    // A publish whose switch cannot be made: v2 keeps serving, no release.
    s.faults(serde_json::json!({"fail_writes_to": ["ingresses"]}))
        .await;
    s.services
        .act(
            &actors::manager(),
            "demo",
            "v1",
            Action::Publish,
            Status::Started,
            &Reason::parse("switch under faults").expect("reason"),
        )
        .await
        .expect("accepted");
    eventually("v1's failed switch is undone", DEADLINE, || async {
        let v1 = s.record("v1").await;
        v1.status == Status::Started && v1.error_message.is_some()
    })
    .await;
    s.faults(serde_json::json!({"fail_writes_to": []})).await;
    s.act("v2", Action::Unpublish).await;
    s.act("v1", Action::Publish).await;

    let page = releases::history(&s.db.db, "demo", None, 50)
        .await
        .expect("history");
    let [third, second, first] = page.releases.as_slice() else {
        panic!("three releases: {:#?}", page.releases);
    };
    assert_eq!(page.older, None);
    assert_eq!(
        (
            first.version.as_str(),
            first.end_cause,
            first.superseded_by.as_deref()
        ),
        ("v1", Some(EndCause::Superseded), Some("v2"))
    );
    assert_eq!(first.ended_at.as_ref(), Some(&second.started_at));
    assert_eq!(
        (
            second.version.as_str(),
            second.end_cause,
            second.superseded_by.as_deref()
        ),
        ("v2", Some(EndCause::Unpublished), None)
    );
    assert_eq!(
        (third.version.as_str(), third.ended_at.as_deref()),
        ("v1", None)
    );
    for release in [first, second, third] {
        assert_eq!(release.published_by, "manager@example.com");
        assert_eq!(release.publish_reason.as_deref(), Some("integration test"));
    }
    // The entries they link to are the publish and the routing switch.
    let entries = testkit::db::audit_entries(&s.db.db, backend::audit::Filter::default()).await;
    let entry = |id: Option<i64>| {
        entries
            .iter()
            .find(|e| Some(e.id) == id)
            .unwrap_or_else(|| panic!("entry {id:?}"))
    };
    assert_eq!(entry(third.publish_audit_id).action, "version.publish");
    assert_eq!(
        entry(third.opened_audit_id).action,
        "runtime.routing_switched"
    );
    assert_eq!(
        entry(second.closed_audit_id).action,
        "runtime.routing_switched"
    );

    let at = |text: &str| releases::parse_instant(text).expect("instant");
    let just_before = |text: &str| at(text) - chrono::Duration::microseconds(1);
    let db = &s.db.db;
    let serving = |instant: chrono::DateTime<chrono::Utc>| async move {
        releases::serving_at(db, "demo", instant)
            .await
            .expect("answer")
            .map(|r| r.id)
    };
    let ended = second.ended_at.as_deref().expect("ended");
    let expectations = [
        (before_any, None),
        (just_before(&first.started_at), None),
        (at(&first.started_at), Some(first.id)),
        (just_before(&second.started_at), Some(first.id)),
        (at(&second.started_at), Some(second.id)),
        (just_before(ended), Some(second.id)),
        (at(ended), None),
        (just_before(&third.started_at), None),
        (at(&third.started_at), Some(third.id)),
        (chrono::Utc::now(), Some(third.id)),
    ];
    for (instant, expected) in expectations {
        assert_eq!(serving(instant).await, expected, "at {instant:?}");
    }
    // Keyset pages, newest first.
    let newest = releases::history(&s.db.db, "demo", None, 2)
        .await
        .expect("page");
    assert_eq!(
        newest.releases.iter().map(|r| r.id).collect::<Vec<_>>(),
        [third.id, second.id]
    );
    let older = releases::history(&s.db.db, "demo", newest.older, 2)
        .await
        .expect("page");
    assert_eq!(
        (
            older.releases.iter().map(|r| r.id).collect::<Vec<_>>(),
            older.older
        ),
        (vec![first.id], None)
    );
}

// Rolling back publishes the previous release's version, still started (a
// warm standby), so the traffic moves without a new pod; the audit entry is a
// publish marked as a rollback from the version that served. A version that
// is not started is refused, audited as denied.
#[tokio::test]
async fn a_rollback_publishes_the_warm_previous_release_without_new_pods() {
    let s = Setup::new().await;
    for v in ["v1", "v2"] {
        s.act(v, Action::Start).await;
        s.settles(v, Status::Started).await;
    }
    s.act("v1", Action::Publish).await;
    s.act("v2", Action::Publish).await;
    let pods_before: Vec<Option<String>> = {
        let mut names: Vec<_> = s
            .version_objects::<Pod>("v1")
            .await
            .into_iter()
            .map(|p| p.metadata.name)
            .collect();
        names.sort();
        names
    };
    let reason = Reason::parse("v2 drops orders").expect("reason");
    let (version, _) = s
        .services
        .roll_back(&actors::manager(), "demo", None, false, &reason, false)
        .await
        .expect("rolled back");
    assert_eq!(version, "v1");
    eventually("v1 serves again", DEADLINE, || async {
        s.record("v1").await.routing() == Some(Routing::Serving)
    })
    .await;
    assert_eq!(s.record("v2").await.status, Status::Started);
    let mut pods_after: Vec<Option<String>> = s
        .version_objects::<Pod>("v1")
        .await
        .into_iter()
        .map(|p| p.metadata.name)
        .collect();
    pods_after.sort();
    assert_eq!(pods_after, pods_before, "no new pods");
    let publishes = routing_entries(&s, AuditAction::Publish).await;
    let rollback = publishes
        .iter()
        .find(|e| e.outcome == "accepted" && e.details.contains("rollback"))
        .expect("the rollback's publish entry");
    assert_eq!(rollback.version.as_deref(), Some("v1"));
    assert_eq!(details(rollback)["rollback"]["from"], "v2");
    assert_eq!(rollback.reason.as_deref(), Some("v2 drops orders"));

    // Back to v2 by name, then v2 stopped: it cannot take the traffic.
    s.act("v2", Action::Stop).await;
    s.settles("v2", Status::Stopped).await;
    let refused = s
        .services
        .roll_back(
            &actors::manager(),
            "demo",
            Some("v2"),
            false,
            &reason,
            false,
        )
        .await
        .expect_err("a stopped version is refused");
    assert!(refused.to_string().contains("stopped"), "{refused}");
    let denied = routing_entries(&s, AuditAction::Publish)
        .await
        .into_iter()
        .find(|e| e.outcome == "denied" && e.version.as_deref() == Some("v2"))
        .expect("the refusal is audited");
    assert_eq!(details(&denied)["rollback"]["from"], "v1");
    assert_eq!(s.record("v1").await.status, Status::Published);
    // Nothing served before v1's first release: no target by that name.
    assert!(
        s.services
            .roll_back(
                &actors::manager(),
                "demo",
                Some("crashy"),
                false,
                &reason,
                false
            )
            .await
            .is_err()
    );
}

/// A manager who exists in the user table, as a pending rollback's publish
/// checks that its operator still may publish.
async fn stored_manager(s: &Setup) -> Actor {
    let user = backend::users::create(
        &s.db.db,
        &Actor::System,
        "rollbacker@example.com",
        lifecycle::Role::Manager,
        "a long enough password",
        &Reason::parse("test user").expect("reason"),
    )
    .await
    .expect("user");
    actors::user(user.id, &user.email, "manager")
}

// A rollback to a stopped version is one tracked operation: it starts now,
// the old version keeps the traffic meanwhile, and the leader publishes it
// (as the operator, marked as a rollback) only once it is started.
#[tokio::test]
async fn a_rollback_to_a_stopped_version_starts_it_and_publishes_once_ready() {
    let s = Setup::new().await;
    let manager = stored_manager(&s).await;
    for v in ["v1", "v2"] {
        s.act(v, Action::Start).await;
        s.settles(v, Status::Started).await;
        s.act(v, Action::Publish).await;
    }
    s.act("v1", Action::Stop).await;
    s.settles("v1", Status::Stopped).await;
    let reason = Reason::parse("v2 drops orders").expect("reason");
    // Marked bad, it is refused before anything starts.
    let mark = |bad: bool| versions::set_bad_mark(&s.db.db, &manager, "demo", "v1", bad, &reason);
    mark(true).await.expect("marked");
    let refused = s
        .services
        .roll_back(&manager, "demo", None, true, &reason, false)
        .await
        .expect_err("a bad version is not started for a rollback");
    assert!(
        matches!(refused, VersionError::MarkedBad { .. }),
        "{refused}"
    );
    assert_eq!(s.record("v1").await.status, Status::Stopped);
    mark(false).await.expect("cleared");
    let (version, applied) = s
        .services
        .roll_back(&manager, "demo", None, true, &reason, false)
        .await
        .expect("rollback accepted");
    assert_eq!(
        (
            version.as_str(),
            applied.applied().expect("applied").transition.to
        ),
        ("v1", Status::Starting)
    );
    let pending = versions::pending_rollback(&s.db.db, "demo")
        .await
        .expect("read")
        .expect("the publish waits for the start");
    assert_eq!(
        (pending.version.as_str(), pending.from.as_str()),
        ("v1", "v2")
    );
    eventually("v1 serves", DEADLINE, || async {
        s.record("v1").await.routing() == Some(Routing::Serving)
    })
    .await;
    assert_eq!(s.record("v2").await.status, Status::Started);
    assert!(
        versions::pending_rollback(&s.db.db, "demo")
            .await
            .expect("read")
            .is_none()
    );
    // In the chain: the start (a rollback that then publishes), v1 ready,
    // then the publish as the manager from `started`.
    let entries = testkit::db::audit_entries(&s.db.db, Default::default()).await;
    let position = |found: &dyn Fn(&backend::audit::Entry) -> bool| {
        entries
            .iter()
            .position(found)
            .unwrap_or_else(|| panic!("entry missing: {entries:#?}"))
    };
    let start = position(&|e| {
        e.action == "version.start"
            && e.version.as_deref() == Some("v1")
            && details(e)["rollback"]["then"] == "publish"
    });
    let ready = position(&|e| {
        e.action == "version.system_transition"
            && e.version.as_deref() == Some("v1")
            && e.status_after.as_deref() == Some("started")
            && e.id > entries[start].id
    });
    let publish = position(&|e| {
        e.action == "version.publish"
            && e.outcome == "accepted"
            && e.version.as_deref() == Some("v1")
            && e.id > entries[start].id
    });
    let published = &entries[publish];
    assert!(
        entries[ready].id < published.id,
        "published only once ready"
    );
    assert_eq!(published.status_before.as_deref(), Some("started"));
    assert_eq!(
        published.actor_email.as_deref(),
        Some("rollbacker@example.com")
    );
    assert_eq!(published.reason.as_deref(), Some("v2 drops orders"));
    assert_eq!(details(published)["rollback"]["from"], "v2");
}

// If the runtime serves something else by the time the version is ready,
// the pending publish is given up, with a failed entry saying why; the
// version stays started.
#[tokio::test]
async fn a_pending_rollback_is_abandoned_when_another_version_took_the_traffic() {
    let slow = kube_emulator::Config {
        ready_after: Duration::from_secs(2),
        ..fast_emulator()
    };
    let s = Setup::with(slow, fast_settings()).await;
    let manager = stored_manager(&s).await;
    for v in ["v1", "v2"] {
        s.act(v, Action::Start).await;
    }
    for v in ["v1", "v2"] {
        s.settles(v, Status::Started).await;
        s.act(v, Action::Publish).await;
    }
    s.act("v1", Action::Stop).await;
    s.settles("v1", Status::Stopped).await;
    let reason = Reason::parse("v2 drops orders").expect("reason");
    s.services
        .roll_back(&manager, "demo", None, true, &reason, false)
        .await
        .expect("rollback accepted");
    // While v1 starts, someone unpublishes v2: nothing serves any more.
    s.act("v2", Action::Unpublish).await;
    assert_eq!(s.record("v1").await.status, Status::Starting);
    s.settles("v1", Status::Started).await;
    eventually("the rollback is given up", DEADLINE, || async {
        versions::pending_rollback(&s.db.db, "demo")
            .await
            .expect("read")
            .is_none()
    })
    .await;
    let abandoned = routing_entries(&s, AuditAction::Publish)
        .await
        .into_iter()
        .find(|e| e.outcome == "failed" && e.version.as_deref() == Some("v1"))
        .expect("the abandonment is audited");
    assert_eq!(
        details(&abandoned)["rollback"]["abandoned"],
        "nothing serves the runtime now, not v2"
    );
    assert_eq!(s.record("v1").await.status, Status::Started);
    assert_eq!(s.record("v1").await.serving_version, None);
}

/// A dry run asks the API server about every object a start or a publish
/// would apply (`dryRun=All`) and answers what it said: what would be
/// created, and each refusal with the server's own message (a quota on the
/// pods, an immutable field of an object already there). Nothing changes in
/// the cluster or in the database.
#[tokio::test]
async fn a_dry_run_shows_what_the_api_server_would_refuse_and_changes_nothing() {
    use backend::runtime::dry_run::Verdict;

    let s = Setup::new().await;
    let verdicts = |checked: &[backend::runtime::dry_run::Checked]| {
        checked
            .iter()
            .map(|c| (c.kind.clone(), c.name.clone(), c.verdict))
            .collect::<Vec<_>>()
    };
    // No namespace yet: it would be created, and what goes inside it is
    // checked once it exists.
    let checked = s
        .services
        .dry_run("demo", "v1", Action::Start)
        .await
        .expect("dry run");
    assert_eq!(
        verdicts(&checked)[0],
        ("Namespace".into(), "demo".into(), Verdict::Create)
    );
    assert!(
        checked[1..]
            .iter()
            .all(|c| c.verdict == Verdict::NotChecked),
        "{checked:#?}"
    );

    s.create_namespace(serde_json::json!({})).await;
    s.create_pod_quota("no-pods", "0").await;
    // Someone's Deployment with the entrypoint's name and another selector.
    let entrypoint = lifecycle::manifest::resource_name("v1", "entrypoint");
    let deployments: Api<Deployment> = Api::namespaced(s.client.clone(), "demo");
    let theirs: Deployment = serde_json::from_value(serde_json::json!({
        "metadata": {"name": entrypoint},
        "spec": {
            "selector": {"matchLabels": {"app": "legacy"}},
            "template": {"metadata": {"labels": {"app": "legacy"}},
                "spec": {"containers": [{"name": "main", "image": "registry.example.com/legacy:1"}]}},
        },
    }))
    .expect("deployment");
    deployments
        .create(&PostParams::default(), &theirs)
        .await
        .expect("created");
    let audit_before = testkit::db::audit_entries(&s.db.db, Default::default())
        .await
        .len();

    let checked = s
        .services
        .dry_run("demo", "v1", Action::Start)
        .await
        .expect("dry run");
    let found = |kind: &str, name: &str| {
        checked
            .iter()
            .find(|c| c.kind == kind && c.name == name)
            .unwrap_or_else(|| panic!("{kind} {name} in {checked:#?}"))
    };
    assert_eq!(found("Namespace", "demo").verdict, Verdict::Update);
    let config = found("ConfigMap", &resources::config_map_name("v1"));
    assert_eq!(config.verdict, Verdict::Create);
    assert!(
        config.detail.contains("\"uid\""),
        "the answer is what would be stored"
    );
    let refused = found("Deployment", &entrypoint);
    assert_eq!(refused.verdict, Verdict::Refused);
    assert!(
        refused.detail.contains("spec.selector") && refused.detail.contains("field is immutable"),
        "{}",
        refused.detail
    );
    let pods: Vec<_> = checked.iter().filter(|c| c.kind == "Pod").collect();
    assert_eq!(
        pods.len(),
        s.record("v1").await.manifest.processes.len() + 1
    );
    for pod in pods {
        assert_eq!(pod.verdict, Verdict::Refused, "{pod:?}");
        assert!(
            pod.detail.contains("exceeded quota: no-pods"),
            "{}",
            pod.detail
        );
    }
    assert_eq!(
        found("Service", &resources::service_name("v1")).verdict,
        Verdict::Create
    );

    let publish = s
        .services
        .dry_run("demo", "v1", Action::Publish)
        .await
        .expect("dry run");
    assert_eq!(
        verdicts(&publish),
        [(
            "Ingress".into(),
            resources::ingress_name("demo"),
            Verdict::Create
        )]
    );
    assert!(publish[0].detail.contains(&resources::service_name("v1")));
    assert!(
        s.services
            .dry_run("demo", "v1", Action::Stop)
            .await
            .is_err(),
        "a stop applies nothing"
    );

    // Nothing stored, nothing recorded.
    let config_maps: Api<ConfigMap> = Api::namespaced(s.client.clone(), "demo");
    assert!(
        config_maps
            .list(&ListParams::default())
            .await
            .expect("list")
            .items
            .is_empty()
    );
    let names: Vec<_> = deployments
        .list(&ListParams::default())
        .await
        .expect("list")
        .items
        .into_iter()
        .filter_map(|d| d.metadata.name)
        .collect();
    assert_eq!(names, [entrypoint]);
    let ingresses: Api<Ingress> = Api::namespaced(s.client.clone(), "demo");
    assert!(
        ingresses
            .list(&ListParams::default())
            .await
            .expect("list")
            .items
            .is_empty()
    );
    assert_eq!(s.record("v1").await.status, Status::Stopped);
    assert_eq!(
        testkit::db::audit_entries(&s.db.db, Default::default())
            .await
            .len(),
        audit_before
    );
}
