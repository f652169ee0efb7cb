//! The emulator through kube's own client: the API semantics the console
//! relies on. Runs against the in-process emulator, and also against a real
//! cluster when `CONFORMANCE_KUBECONFIG` names one (printed as skipped
//! otherwise), so the emulator is pinned to Kubernetes, not to our reading
//! of it. Tests that need the emulator's simulated controllers or fault
//! injection run on the emulator only.

use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::{
    apps::v1::Deployment,
    core::v1::{ConfigMap, Namespace, Pod},
};
use kube::{
    Api, Client, Config,
    api::{
        DeleteParams, ListParams, LogParams, Patch, PatchParams, PostParams, WatchEvent,
        WatchParams,
    },
    runtime::{WatchStreamExt, wait::await_condition, watcher},
};
use serde_json::json;
use testkit::eventually;

mod support;

use support::{
    api_error, clusters, configmap, create, deployment, emulator, emulator_with, namespace,
};

const DEADLINE: Duration = Duration::from_secs(20);

#[tokio::test]
async fn discovery_and_version_serve_standard_clients() {
    for (name, cluster) in clusters().await {
        let version = cluster.client.apiserver_version().await.expect("version");
        assert_eq!(version.major, "1", "{name}");
        let discovery = kube::discovery::Discovery::new(cluster.client.clone())
            .run()
            .await
            .expect("discovery");
        let kinds: Vec<String> = discovery
            .groups()
            .flat_map(|g| g.recommended_resources().into_iter().map(|(r, _)| r.kind))
            .collect();
        for kind in [
            "Pod",
            "Service",
            "ConfigMap",
            "Deployment",
            "ReplicaSet",
            "Ingress",
            "Namespace",
        ] {
            assert!(
                kinds.iter().any(|k| k == kind),
                "{name}: {kind} missing from {kinds:?}"
            );
        }
    }
}

#[tokio::test]
async fn objects_get_identity_versions_and_standard_errors() {
    for (name, cluster) in clusters().await {
        let ns = namespace(&cluster.client).await;
        let api: Api<ConfigMap> = Api::namespaced(cluster.client.clone(), &ns);
        let created = api
            .create(&PostParams::default(), &configmap("one", "a"))
            .await
            .expect("create");
        let meta = &created.metadata;
        assert!(meta.uid.as_deref().is_some_and(|u| !u.is_empty()), "{name}");
        assert!(meta.creation_timestamp.is_some(), "{name}");
        assert_eq!(meta.namespace.as_deref(), Some(ns.as_str()), "{name}");
        let rv1 = meta.resource_version.clone().expect("rv");

        let (code, reason) = api_error(
            api.create(&PostParams::default(), &configmap("one", "a"))
                .await
                .expect_err("duplicate"),
        );
        assert_eq!((code, reason.as_str()), (409, "AlreadyExists"), "{name}");
        let (code, reason) = api_error(api.get("missing").await.expect_err("missing"));
        assert_eq!((code, reason.as_str()), (404, "NotFound"), "{name}");
        let (code, reason) = api_error(
            api.create(&PostParams::default(), &configmap("Not_A_Name", "a"))
                .await
                .expect_err("invalid"),
        );
        assert_eq!((code, reason.as_str()), (422, "Invalid"), "{name}");

        let mut changed = created.clone();
        changed.data = Some([("key".to_owned(), "b".to_owned())].into());
        let replaced = api
            .replace("one", &PostParams::default(), &changed)
            .await
            .expect("replace");
        let rv2 = replaced.metadata.resource_version.clone().expect("rv");
        assert_ne!(rv1, rv2, "{name}: every write changes the version");
        // The first version is stale now.
        let (code, reason) = api_error(
            api.replace("one", &PostParams::default(), &changed)
                .await
                .expect_err("stale"),
        );
        assert_eq!((code, reason.as_str()), (409, "Conflict"), "{name}");

        let list = api.list(&ListParams::default()).await.expect("list");
        assert!(
            list.metadata.resource_version.is_some(),
            "{name}: lists carry a version"
        );
        api.delete("one", &DeleteParams::default())
            .await
            .expect("delete");
        assert_eq!(
            api_error(api.get("one").await.expect_err("gone")).0,
            404,
            "{name}"
        );
    }
}

#[tokio::test]
async fn label_and_field_selectors_filter_lists() {
    for (name, cluster) in clusters().await {
        let ns = namespace(&cluster.client).await;
        let api: Api<ConfigMap> = Api::namespaced(cluster.client.clone(), &ns);
        for (n, tier) in [("a", "front"), ("b", "back"), ("c", "front")] {
            api.create(&PostParams::default(), &configmap(n, tier))
                .await
                .expect("create");
        }
        let names = |list: kube::core::ObjectList<ConfigMap>| -> Vec<String> {
            let mut names: Vec<String> = list
                .items
                .into_iter()
                .filter_map(|c| c.metadata.name)
                .collect();
            names.sort();
            names
        };
        for (selector, expected) in [
            ("tier=front", vec!["a", "c"]),
            ("tier==back", vec!["b"]),
            ("tier!=front", vec!["b"]),
            ("tier in (back,nothing)", vec!["b"]),
            ("tier notin (front)", vec!["b"]),
            ("app", vec!["a", "b", "c"]),
            ("!app", vec![]),
        ] {
            let list = api
                .list(&ListParams::default().labels(selector))
                .await
                .expect("list");
            assert_eq!(names(list), expected, "{name}: {selector}");
        }
        let list = api
            .list(&ListParams::default().fields("metadata.name=b"))
            .await
            .expect("list");
        assert_eq!(names(list), vec!["b"], "{name}");
        let deleted = api
            .delete_collection(
                &DeleteParams::default(),
                &ListParams::default().labels("tier=front"),
            )
            .await
            .expect("deletecollection");
        assert!(deleted.is_left(), "{name}");
        assert_eq!(
            names(api.list(&ListParams::default()).await.expect("list")),
            vec!["b"],
            "{name}"
        );
    }
}

#[tokio::test]
async fn server_side_apply_tracks_owners_conflicts_and_removals() {
    for (name, cluster) in clusters().await {
        let ns = namespace(&cluster.client).await;
        let api: Api<ConfigMap> = Api::namespaced(cluster.client.clone(), &ns);
        let config = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "applied"}, "data": {"a": "1", "b": "2"}});
        let created = api
            .patch(
                "applied",
                &PatchParams::apply("console"),
                &Patch::Apply(&config),
            )
            .await
            .expect("apply creates");
        assert_eq!(
            created
                .data
                .as_ref()
                .and_then(|d| d.get("b"))
                .map(String::as_str),
            Some("2"),
            "{name}"
        );
        assert!(
            created
                .metadata
                .managed_fields
                .as_ref()
                .is_some_and(|m| m.iter().any(|f| f.manager.as_deref() == Some("console"))),
            "{name}: managedFields kept"
        );
        // Same apply again: nothing changes, not even the version.
        let again = api
            .patch(
                "applied",
                &PatchParams::apply("console"),
                &Patch::Apply(&config),
            )
            .await
            .expect("idempotent");
        assert_eq!(
            again.metadata.resource_version, created.metadata.resource_version,
            "{name}"
        );

        let other = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "applied"}, "data": {"a": "other"}});
        let (code, reason) = api_error(
            api.patch(
                "applied",
                &PatchParams::apply("intruder"),
                &Patch::Apply(&other),
            )
            .await
            .expect_err("conflict"),
        );
        assert_eq!((code, reason.as_str()), (409, "Conflict"), "{name}");
        let forced = api
            .patch(
                "applied",
                &PatchParams::apply("intruder").force(),
                &Patch::Apply(&other),
            )
            .await
            .expect("forced");
        assert_eq!(
            forced
                .data
                .as_ref()
                .and_then(|d| d.get("a"))
                .map(String::as_str),
            Some("other"),
            "{name}"
        );

        // The console stops sending `b` (and lost `a`): `b` goes.
        let fewer = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "applied"}, "data": {}});
        let trimmed = api
            .patch(
                "applied",
                &PatchParams::apply("console"),
                &Patch::Apply(&fewer),
            )
            .await
            .expect("apply");
        let data = trimmed.data.unwrap_or_default();
        assert!(!data.contains_key("b"), "{name}: {data:?}");
        assert_eq!(
            data.get("a").map(String::as_str),
            Some("other"),
            "{name}: the intruder's field stays"
        );

        let missing_manager = api
            .patch("applied", &PatchParams::default(), &Patch::Apply(&config))
            .await
            .expect_err("fieldManager required");
        assert_eq!(api_error(missing_manager).0, 400, "{name}");
    }
}

#[tokio::test]
async fn generation_follows_spec_and_status_is_a_subresource() {
    for (name, cluster) in clusters().await {
        let ns = namespace(&cluster.client).await;
        let api: Api<Deployment> = Api::namespaced(cluster.client.clone(), &ns);
        let created = create(&api, &deployment("web", "registry.example.com/web:1", 0)).await;
        assert_eq!(created.metadata.generation, Some(1), "{name}");
        let labelled = api
            .patch(
                "web",
                &PatchParams::default(),
                &Patch::Merge(json!({"metadata": {"labels": {"extra": "x"}}})),
            )
            .await
            .expect("label");
        assert_eq!(
            labelled.metadata.generation,
            Some(1),
            "{name}: metadata is not spec"
        );
        let scaled = api
            .patch(
                "web",
                &PatchParams::default(),
                &Patch::Merge(json!({"spec": {"replicas": 0, "minReadySeconds": 1}})),
            )
            .await
            .expect("spec");
        assert_eq!(scaled.metadata.generation, Some(2), "{name}");

        let with_status = api
            .patch(
                "web",
                &PatchParams::default(),
                &Patch::Merge(json!({"status": {"replicas": 42}})),
            )
            .await
            .expect("main resource patch");
        assert_ne!(
            with_status.status.and_then(|s| s.replicas),
            Some(42),
            "{name}: status ignored on the main resource"
        );
    }
}

#[tokio::test]
async fn watches_resume_by_version_send_bookmarks_and_expire() {
    let (cluster, _) = emulator_with(kube_emulator::Config {
        history: 5,
        bookmark_interval: Duration::from_millis(100),
        ..Default::default()
    })
    .await;
    let ns = namespace(&cluster.client).await;
    let api: Api<ConfigMap> = Api::namespaced(cluster.client.clone(), &ns);
    let first = api
        .create(&PostParams::default(), &configmap("w0", "a"))
        .await
        .expect("create");
    let since = first.metadata.resource_version.clone().expect("rv");
    api.create(&PostParams::default(), &configmap("w1", "a"))
        .await
        .expect("create");

    // Strictly after `since`: w1 and not w0, then a bookmark.
    let mut stream = api
        .watch(&WatchParams::default().timeout(5), &since)
        .await
        .expect("watch")
        .boxed();
    match stream.try_next().await.expect("event") {
        Some(WatchEvent::Added(cm)) => assert_eq!(cm.metadata.name.as_deref(), Some("w1")),
        other => panic!("expected w1 ADDED, got {other:?}"),
    }
    let bookmark = tokio::time::timeout(DEADLINE, async {
        loop {
            if let Some(WatchEvent::Bookmark(b)) = stream.try_next().await.expect("event") {
                return b;
            }
        }
    })
    .await
    .expect("a bookmark arrives");
    assert!(!bookmark.metadata.resource_version.is_empty());

    for i in 2..12 {
        api.create(&PostParams::default(), &configmap(&format!("w{i}"), "a"))
            .await
            .expect("create");
    }
    // History keeps 5 changes: the first version is long gone. The watch
    // cache answers such a watch with one ERROR event, 410 Gone, on an
    // open stream ("Efficient detection of changes" in the API concepts);
    // a watcher that met an HTTP 410 instead would retry the same version
    // for ever.
    let mut expired = api
        .watch(&WatchParams::default(), &since)
        .await
        .expect("the watch opens")
        .boxed();
    match expired.try_next().await {
        Ok(Some(WatchEvent::Error(e))) => assert_eq!(e.code, 410),
        other => panic!("expected a 410 event, got {other:?}"),
    }

    // kube's watcher (list, then watch, with backoff) sees every object.
    let names = watcher(api.clone(), watcher::Config::default())
        .default_backoff()
        .applied_objects()
        .take(12)
        .map(|cm| cm.expect("event").metadata.name.unwrap_or_default())
        .collect::<Vec<_>>();
    let names = tokio::time::timeout(DEADLINE, names)
        .await
        .expect("watcher delivers");
    assert_eq!(names.len(), 12);
}

#[tokio::test]
async fn deployments_roll_out_ready_pods_and_deletion_cascades() {
    let cluster = emulator().await;
    let ns = namespace(&cluster.client).await;
    let deployments: Api<Deployment> = Api::namespaced(cluster.client.clone(), &ns);
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), &ns);
    create(
        &deployments,
        &deployment("web", "registry.example.com/web:1", 2),
    )
    .await;
    let available = await_condition(deployments.clone(), "web", |d: Option<&Deployment>| {
        d.and_then(|d| d.status.as_ref())
            .and_then(|s| s.ready_replicas)
            == Some(2)
    });
    tokio::time::timeout(DEADLINE, available)
        .await
        .expect("ready in time")
        .expect("watch");
    let list = pods
        .list(&ListParams::default().labels("app=web"))
        .await
        .expect("pods");
    assert_eq!(list.items.len(), 2);
    for pod in &list.items {
        let status = pod.status.as_ref().expect("status");
        assert_eq!(status.phase.as_deref(), Some("Running"));
        assert!(
            status
                .conditions
                .as_ref()
                .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
        );
        assert!(
            pod.metadata
                .labels
                .as_ref()
                .is_some_and(|l| l.contains_key("pod-template-hash"))
        );
        assert!(
            pod.metadata
                .owner_references
                .as_ref()
                .is_some_and(|o| o[0].kind == "ReplicaSet")
        );
    }
    let pod_name = list.items[0].metadata.name.clone().expect("name");
    let logs = pods
        .logs(&pod_name, &LogParams::default())
        .await
        .expect("logs");
    assert!(logs.contains("main: ready"), "{logs}");

    deployments
        .delete("web", &DeleteParams::foreground())
        .await
        .expect("delete");
    eventually("everything of the deployment goes", DEADLINE, || async {
        let left = pods
            .list(&ListParams::default().labels("app=web"))
            .await
            .expect("pods")
            .items
            .len();
        left == 0 && deployments.get_opt("web").await.expect("get").is_none()
    })
    .await;
}

#[tokio::test]
async fn failing_images_report_the_kubernetes_reasons() {
    let (cluster, _) = emulator_with(kube_emulator::Config {
        ready_after: Duration::from_millis(100),
        crash_interval: Duration::from_millis(200),
        ..Default::default()
    })
    .await;
    let ns = namespace(&cluster.client).await;
    let deployments: Api<Deployment> = Api::namespaced(cluster.client.clone(), &ns);
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), &ns);
    create(
        &deployments,
        &deployment("pull", "registry.example.com/fail-pull:1", 1),
    )
    .await;
    create(
        &deployments,
        &deployment("crash", "registry.example.com/crashloop:1", 1),
    )
    .await;
    let waiting_reason = |pod: &Pod| -> Option<String> {
        pod.status.as_ref()?.container_statuses.as_ref()?[0]
            .state
            .as_ref()?
            .waiting
            .as_ref()?
            .reason
            .clone()
    };
    eventually("failure reasons appear", DEADLINE, || async {
        let all = pods.list(&ListParams::default()).await.expect("pods").items;
        let pull = all
            .iter()
            .find(|p| {
                p.metadata
                    .labels
                    .as_ref()
                    .is_some_and(|l| l["app"] == "pull")
            })
            .and_then(waiting_reason);
        let crash = all
            .iter()
            .find(|p| {
                p.metadata
                    .labels
                    .as_ref()
                    .is_some_and(|l| l["app"] == "crash")
            })
            .and_then(waiting_reason);
        pull.as_deref() == Some("ImagePullBackOff") && crash.as_deref() == Some("CrashLoopBackOff")
    })
    .await;
    // A crash loop keeps restarting.
    let restarts = || {
        let pods = pods.clone();
        async move {
            pods.list(&ListParams::default().labels("app=crash"))
                .await
                .expect("pods")
                .items
                .first()
                .and_then(|p| {
                    p.status
                        .as_ref()?
                        .container_statuses
                        .as_ref()?
                        .first()
                        .map(|c| c.restart_count)
                })
                .unwrap_or(0)
        }
    };
    let before = restarts().await;
    eventually("restartCount rises", DEADLINE, || async {
        restarts().await > before
    })
    .await;
    let status = deployments
        .get("pull")
        .await
        .expect("get")
        .status
        .expect("status");
    assert_eq!(status.ready_replicas.unwrap_or(0), 0);
}

#[tokio::test]
async fn injected_faults_answer_500_then_recover() {
    let (cluster, url) = emulator_with(kube_emulator::Config::default()).await;
    let http = reqwest_free_post(&url, "/emulator/faults", r#"{"fail_requests": 1}"#).await;
    assert_eq!(http, 204);
    let api: Api<ConfigMap> = Api::namespaced(cluster.client.clone(), "default");
    let (code, _) = api_error(
        api.list(&ListParams::default())
            .await
            .expect_err("injected"),
    );
    assert_eq!(code, 500);
    api.list(&ListParams::default()).await.expect("recovered");
}

/// A tiny HTTP/1.1 POST over a TCP socket (no extra client crate).
async fn reqwest_free_post(url: &str, path: &str, body: &str) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = url.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut response = String::new();
    stream.read_to_string(&mut response).await.expect("read");
    response
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn status_writes_change_only_status() {
    let cluster = emulator().await;
    let ns = namespace(&cluster.client).await;
    let api: Api<Deployment> = Api::namespaced(cluster.client.clone(), &ns);
    api.create(
        &PostParams::default(),
        &deployment("s", "registry.example.com/s:1", 0),
    )
    .await
    .expect("create");
    let patched = api
        .patch_status(
            "s",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 7}, "status": {"observedGeneration": 99}})),
        )
        .await
        .expect("status patch");
    assert_eq!(
        patched.spec.and_then(|s| s.replicas),
        Some(0),
        "spec untouched through /status"
    );
    assert_eq!(patched.metadata.generation, Some(1));
}

#[tokio::test]
async fn the_binary_prints_its_address_and_writes_a_working_kubeconfig() {
    use tokio::io::AsyncBufReadExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("kubeconfig");
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_kube-emulator"))
        .args(["--addr", "127.0.0.1:0", "--kubeconfig"])
        .arg(&path)
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawns");
    let mut lines = tokio::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
    let line = tokio::time::timeout(DEADLINE, lines.next_line())
        .await
        .expect("prints in time")
        .expect("reads")
        .expect("a line");
    assert!(line.starts_with("listening on http://127.0.0.1:"), "{line}");
    let kubeconfig = kube::config::Kubeconfig::read_from(&path).expect("kubeconfig");
    let config = Config::from_custom_kubeconfig(kubeconfig, &Default::default())
        .await
        .expect("config");
    let client = Client::try_from(config).expect("client");
    let namespaces = Api::<Namespace>::all(client)
        .list(&ListParams::default())
        .await
        .expect("list");
    assert!(
        namespaces
            .items
            .iter()
            .any(|n| n.metadata.name.as_deref() == Some("default"))
    );
    child.kill().await.expect("stops");
}

#[tokio::test]
async fn template_changes_roll_pods_and_scale_follows() {
    let cluster = emulator().await;
    let ns = namespace(&cluster.client).await;
    let deployments: Api<Deployment> = Api::namespaced(cluster.client.clone(), &ns);
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), &ns);
    create(
        &deployments,
        &deployment("roll", "registry.example.com/roll:1", 1),
    )
    .await;
    let images_ready = |image: &'static str, count: usize| {
        let pods = pods.clone();
        async move {
            let list = pods
                .list(&ListParams::default().labels("app=roll"))
                .await
                .expect("pods")
                .items;
            let matching = list
                .iter()
                .filter(|p| {
                    p.spec
                        .as_ref()
                        .is_some_and(|s| s.containers[0].image.as_deref() == Some(image))
                        && p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running")
                })
                .count();
            matching == count && list.len() == count
        }
    };
    eventually("first rollout", DEADLINE, || {
        images_ready("registry.example.com/roll:1", 1)
    })
    .await;
    deployments
        .patch(
            "roll",
            &PatchParams::default(),
            &Patch::Strategic(json!({"spec": {"template": {"spec": {"containers": [{"name": "main", "image": "registry.example.com/roll:2"}]}}}})),
        )
        .await
        .expect("new image");
    eventually("pods replaced by the new template", DEADLINE, || {
        images_ready("registry.example.com/roll:2", 1)
    })
    .await;

    // The scale subresource drives replicas.
    let scale = deployments.get_scale("roll").await.expect("scale");
    assert_eq!(scale.spec.and_then(|s| s.replicas), Some(1));
    deployments
        .patch_scale(
            "roll",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 3}})),
        )
        .await
        .expect("scale up");
    eventually("scaled to 3", DEADLINE, || {
        images_ready("registry.example.com/roll:2", 3)
    })
    .await;
}

#[tokio::test]
async fn orphan_deletion_leaves_dependants_without_their_owner() {
    let cluster = emulator().await;
    let ns = namespace(&cluster.client).await;
    let deployments: Api<Deployment> = Api::namespaced(cluster.client.clone(), &ns);
    let sets: Api<k8s_openapi::api::apps::v1::ReplicaSet> =
        Api::namespaced(cluster.client.clone(), &ns);
    create(
        &deployments,
        &deployment("orph", "registry.example.com/o:1", 1),
    )
    .await;
    eventually("replicaset created", DEADLINE, || async {
        !sets
            .list(&ListParams::default())
            .await
            .expect("list")
            .items
            .is_empty()
    })
    .await;
    deployments
        .delete("orph", &DeleteParams::orphan())
        .await
        .expect("delete");
    let left = sets.list(&ListParams::default()).await.expect("list").items;
    assert_eq!(left.len(), 1);
    assert!(
        left[0]
            .metadata
            .owner_references
            .as_ref()
            .is_none_or(|o| o.is_empty())
    );
}

#[tokio::test]
async fn logs_tail_and_follow_while_the_pod_runs() {
    let (cluster, _) = emulator_with(kube_emulator::Config {
        ready_after: Duration::from_millis(50),
        log_interval: Duration::from_millis(50),
        ..Default::default()
    })
    .await;
    let ns = namespace(&cluster.client).await;
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), &ns);
    let pod: Pod = serde_json::from_value(json!({"metadata": {"name": "talker"}, "spec": {"containers": [{"name": "c", "image": "registry.example.com/t:1"}]}})).expect("pod");
    pods.create(&PostParams::default(), &pod)
        .await
        .expect("create");
    let running = await_condition(pods.clone(), "talker", |p: Option<&Pod>| {
        p.and_then(|p| p.status.as_ref())
            .and_then(|s| s.phase.as_deref())
            == Some("Running")
    });
    tokio::time::timeout(DEADLINE, running)
        .await
        .expect("running")
        .expect("watch");

    let waiting = pods
        .logs("nobody", &LogParams::default())
        .await
        .expect_err("no such pod");
    assert_eq!(api_error(waiting).0, 404);

    let mut follow = pods
        .log_stream(
            "talker",
            &LogParams {
                follow: true,
                ..LogParams::default()
            },
        )
        .await
        .expect("follow");
    let mut seen = Vec::new();
    let read = async {
        use futures::AsyncBufReadExt;
        let mut line = String::new();
        while seen.len() < 5 {
            line.clear();
            if follow.read_line(&mut line).await.expect("read") == 0 {
                break;
            }
            seen.push(line.clone());
        }
    };
    tokio::time::timeout(DEADLINE, read)
        .await
        .expect("lines keep coming");
    assert_eq!(seen.len(), 5, "{seen:?}");

    let tail = pods
        .logs(
            "talker",
            &LogParams {
                tail_lines: Some(2),
                ..LogParams::default()
            },
        )
        .await
        .expect("tail");
    assert_eq!(tail.lines().count(), 2, "{tail}");
}

#[tokio::test]
async fn dropped_and_timed_out_watches_end_and_clients_resume() {
    let (cluster, url) = emulator_with(kube_emulator::Config::default()).await;
    let api: Api<ConfigMap> = Api::namespaced(cluster.client.clone(), "default");
    let stream = api
        .watch(&WatchParams::default().timeout(1), "0")
        .await
        .expect("watch");
    let ended = tokio::time::timeout(DEADLINE, stream.boxed().try_collect::<Vec<_>>()).await;
    assert!(ended.is_ok(), "timeoutSeconds ends the watch");

    // A watcher survives a server-side drop and still sees later objects.
    let mut names = watcher(api.clone(), watcher::Config::default())
        .default_backoff()
        .applied_objects()
        .boxed();
    api.create(&PostParams::default(), &configmap("before", "x"))
        .await
        .expect("create");
    let first = tokio::time::timeout(DEADLINE, names.try_next())
        .await
        .expect("event")
        .expect("ok");
    assert_eq!(
        first.and_then(|c| c.metadata.name).as_deref(),
        Some("before")
    );
    assert_eq!(
        reqwest_free_post(&url, "/emulator/faults", r#"{"drop_watches": true}"#).await,
        204
    );
    api.create(&PostParams::default(), &configmap("after", "x"))
        .await
        .expect("create");
    let next = async {
        loop {
            let cm = names.try_next().await.expect("ok").expect("some");
            if cm.metadata.name.as_deref() == Some("after") {
                return;
            }
        }
    };
    tokio::time::timeout(DEADLINE, next)
        .await
        .expect("resumed after the drop");
}

#[tokio::test]
async fn malformed_input_gets_the_api_servers_errors() {
    let (_cluster, url) = emulator_with(kube_emulator::Config::default()).await;
    let addr = url.trim_start_matches("http://").to_owned();
    let send = |method: &'static str,
                path: &'static str,
                content_type: &'static str,
                body: &'static str| {
        let addr = addr.clone();
        async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let mut stream = tokio::net::TcpStream::connect(&addr)
                .await
                .expect("connect");
            let request = format!(
                "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            stream.write_all(request.as_bytes()).await.expect("write");
            let mut response = String::new();
            stream.read_to_string(&mut response).await.expect("read");
            response
        }
    };
    for (method, path, content_type, body, code, reason) in [
        (
            "POST",
            "/api/v1/namespaces/default/configmaps",
            "application/json",
            "{not json",
            "400",
            "BadRequest",
        ),
        (
            "POST",
            "/api/v1/namespaces/default/configmaps",
            "application/yaml",
            "a: [unclosed",
            "400",
            "BadRequest",
        ),
        (
            "GET",
            "/apis/example.com/v1/namespaces/default/widgets",
            "application/json",
            "",
            "404",
            "NotFound",
        ),
        (
            "POST",
            "/api/v1/namespaces/nowhere/configmaps",
            "application/json",
            r#"{"metadata":{"name":"x"}}"#,
            "404",
            "NotFound",
        ),
        (
            "POST",
            "/apis/apps/v1/namespaces/default/deployments",
            "application/json",
            r#"{"metadata":{"name":"d"},"spec":{}}"#,
            "422",
            "Invalid",
        ),
        (
            "POST",
            "/api/v1/namespaces/default/configmaps",
            "application/json",
            r#"{"metadata":{"name":"x"}}"#,
            "201",
            "",
        ),
        (
            "PATCH",
            "/api/v1/namespaces/default/configmaps/x",
            "text/plain",
            "{}",
            "415",
            "UnsupportedMediaType",
        ),
    ] {
        let response = send(method, path, content_type, body).await;
        let status_line = response.lines().next().unwrap_or("");
        assert!(status_line.contains(code), "{method} {path}: {response}");
        if reason.is_empty() {
            continue;
        }
        assert!(
            response.contains(&format!("\"reason\":\"{reason}\"")),
            "{path}: {response}"
        );
        assert!(
            response.contains("\"kind\":\"Status\""),
            "{path}: {response}"
        );
    }
}

#[tokio::test]
async fn a_pod_is_not_ready_before_the_configured_delay() {
    // Object timestamps have whole seconds; the delay must still hold to the
    // millisecond, or a console would see pods ready impossibly fast.
    let delay = Duration::from_millis(600);
    let (cluster, _) = emulator_with(kube_emulator::Config {
        ready_after: delay,
        ..Default::default()
    })
    .await;
    let ns = namespace(&cluster.client).await;
    let deployments: Api<Deployment> = Api::namespaced(cluster.client.clone(), &ns);
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), &ns);
    let created = std::time::Instant::now();
    create(
        &deployments,
        &deployment("slow", "registry.example.com/ok:1", 1),
    )
    .await;
    eventually("the pod turns ready", DEADLINE, || async {
        pods.list(&ListParams::default())
            .await
            .expect("pods")
            .items
            .iter()
            .any(|p| {
                p.status
                    .as_ref()
                    .and_then(|s| s.conditions.as_ref())
                    .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
            })
    })
    .await;
    assert!(
        created.elapsed() >= delay,
        "ready after {:?}",
        created.elapsed()
    );
}
