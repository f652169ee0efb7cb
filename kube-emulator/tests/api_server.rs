//! The emulator as kubectl and client-go see a real API server: health,
//! OpenAPI, field validation, dry run, defaulting, Secrets, Tables,
//! pagination, events, rollouts, scheduling failures and quotas. Each case
//! names the part of the Kubernetes API reference it follows; those that
//! do not need the emulator's simulated controllers also run against the
//! real cluster `CONFORMANCE_KUBECONFIG` names.

mod support;

use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use http_body_util::BodyExt;
use k8s_openapi::api::{
    apps::v1::{Deployment, ReplicaSet},
    core::v1::{ConfigMap, Event, Pod, Secret},
};
use kube::{
    Api, Client,
    api::{DeleteParams, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams},
};
use serde_json::{Value, json};
use support::{api_error, clusters, configmap, create, deployment, emulator_with, namespace};
use testkit::eventually;

const DEADLINE: Duration = Duration::from_secs(20);

/// A request as a client library would send it; the status, headers and
/// body of the answer.
async fn raw(
    client: &Client,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&Value>,
) -> (u16, http::HeaderMap, Vec<u8>) {
    let mut builder = http::Request::builder().method(method).uri(path);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    if body.is_some()
        && !headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("content-type"))
    {
        builder = builder.header("content-type", "application/json");
    }
    let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
    let request = builder
        .body(kube::client::Body::from(bytes))
        .expect("request");
    let response = client.send(request).await.expect("answered");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes()
        .to_vec();
    (status, headers, body)
}

async fn raw_json(client: &Client, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
    let (status, _, bytes) = raw(client, method, path, &[], body).await;
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn emulator_config() -> kube_emulator::Config {
    kube_emulator::Config {
        ready_after: Duration::from_millis(200),
        crash_interval: Duration::from_millis(200),
        ..Default::default()
    }
}

/// Health checks ("Kubernetes API health endpoints"): `ok` in plain text,
/// the list of checks with `?verbose`, one check by path, 404 for none.
#[tokio::test]
async fn health_endpoints_answer_as_the_api_server() {
    for (name, cluster) in clusters().await {
        let client = &cluster.client;
        for path in ["/livez", "/readyz", "/healthz"] {
            let (status, _, body) = raw(client, "GET", path, &[], None).await;
            assert_eq!(
                (status, body.as_slice()),
                (200, &b"ok"[..]),
                "{name}: {path}"
            );
        }
        let (status, _, body) = raw(client, "GET", "/readyz?verbose", &[], None).await;
        let text = String::from_utf8_lossy(&body);
        assert_eq!(status, 200, "{name}");
        assert!(text.contains("[+]ping ok"), "{name}: {text}");
        assert!(
            text.trim_end().ends_with("readyz check passed"),
            "{name}: {text}"
        );
        let (status, _, _) = raw(client, "GET", "/livez/ping", &[], None).await;
        assert_eq!(status, 200, "{name}");
        let (status, _, _) = raw(client, "GET", "/livez/no-such-check", &[], None).await;
        assert_eq!(status, 404, "{name}");
    }
}

/// "OpenAPI" in the API concepts: `/openapi/v2` and the `/openapi/v3`
/// index with one document per group/version, each kind carrying its
/// `x-kubernetes-group-version-kind`, each PATCH its `fieldValidation`
/// parameter (what kubectl checks before it leaves validation to the
/// server).
#[tokio::test]
async fn openapi_documents_describe_every_served_kind() {
    for (name, cluster) in clusters().await {
        let client = &cluster.client;
        let (status, v2) = raw_json(client, "GET", "/openapi/v2", None).await;
        assert_eq!(status, 200, "{name}");
        let deployment = &v2["definitions"]["io.k8s.api.apps.v1.Deployment"];
        assert_eq!(
            deployment["x-kubernetes-group-version-kind"][0]["kind"], "Deployment",
            "{name}"
        );
        assert!(
            v2["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"]
                .is_object(),
            "{name}"
        );

        let (status, index) = raw_json(client, "GET", "/openapi/v3", None).await;
        assert_eq!(status, 200, "{name}");
        for group_version in [
            "api/v1",
            "apis/apps/v1",
            "apis/networking.k8s.io/v1",
            "apis/events.k8s.io/v1",
        ] {
            let url = index["paths"][group_version]["serverRelativeURL"]
                .as_str()
                .unwrap_or_else(|| panic!("{name}: no {group_version} in {index}"));
            let (status, document) = raw_json(client, "GET", url, None).await;
            assert_eq!(status, 200, "{name}: {url}");
            assert!(
                document["openapi"]
                    .as_str()
                    .is_some_and(|v| v.starts_with("3.")),
                "{name}"
            );
            if group_version == "apis/apps/v1" {
                let schemas = &document["components"]["schemas"];
                let strategy = &schemas["io.k8s.api.apps.v1.DeploymentStrategy"]["properties"];
                assert!(
                    strategy["rollingUpdate"].is_object() && strategy["type"].is_object(),
                    "{name}"
                );
                let patch = &document["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]
                    ["patch"];
                assert_eq!(
                    patch["x-kubernetes-group-version-kind"]["kind"], "Deployment",
                    "{name}"
                );
                let parameters = patch["parameters"].as_array().cloned().unwrap_or_default();
                assert!(
                    parameters
                        .iter()
                        .any(|p| p["name"] == "fieldValidation" && p["in"] == "query"),
                    "{name}: {parameters:?}"
                );
            }
        }
    }
}

/// "Field validation" (API concepts): `Strict` refuses an unknown field
/// with the decoder's message; `Warn` (the default) stores the object
/// without it and says so in a `Warning` header.
#[tokio::test]
async fn unknown_fields_are_refused_when_strict_and_warned_of_otherwise() {
    for (name, cluster) in clusters().await {
        let client = &cluster.client;
        let ns = namespace(client).await;
        let path = format!("/api/v1/namespaces/{ns}/configmaps");
        let object = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "extra"}, "data": {"a": "b"}, "dataz": {"c": "d"}});
        let (status, _, body) = raw(
            client,
            "POST",
            &format!("{path}?fieldValidation=Strict"),
            &[],
            Some(&object),
        )
        .await;
        let text = String::from_utf8_lossy(&body);
        assert_eq!(status, 400, "{name}: {text}");
        assert!(
            text.contains("strict decoding error: unknown field \\\"dataz\\\""),
            "{name}: {text}"
        );

        let (status, headers, _) = raw(client, "POST", &path, &[], Some(&object)).await;
        assert_eq!(status, 201, "{name}");
        let warning = headers
            .get("warning")
            .and_then(|w| w.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert!(
            warning.contains("unknown field \\\"dataz\\\""),
            "{name}: {warning}"
        );
        let (_, stored) = raw_json(client, "GET", &format!("{path}/extra"), None).await;
        assert!(stored.get("dataz").is_none(), "{name}: {stored}");
        assert_eq!(stored["data"]["a"], "b", "{name}");
    }
}

/// "Dry-run" (API concepts): `dryRun=All` answers what the write would
/// store (defaulted, with its uid) and fails as the write would, but
/// nothing is stored, no resourceVersion is taken and no watcher hears
/// of it.
#[tokio::test]
async fn dry_runs_answer_the_write_and_store_nothing() {
    for (name, cluster) in clusters().await {
        let client = &cluster.client;
        let ns = namespace(client).await;
        let api: Api<ConfigMap> = Api::namespaced(client.clone(), &ns);
        create(&api, &configmap("real", "1")).await;
        let before = api.list(&ListParams::default()).await.expect("list");
        let since = before.metadata.resource_version.clone().unwrap_or_default();
        let mut watch = api
            .watch(&WatchParams::default(), &since)
            .await
            .expect("watch")
            .boxed();
        let dry = PostParams {
            dry_run: true,
            ..Default::default()
        };
        let answer = api
            .create(&dry, &configmap("dry", "1"))
            .await
            .expect("dry create");
        assert!(
            answer.metadata.uid.is_some(),
            "{name}: the answer is the object"
        );
        assert!(answer.metadata.creation_timestamp.is_some(), "{name}");
        let (code, reason) =
            api_error(api.create(&dry, &configmap("real", "1")).await.unwrap_err());
        assert_eq!((code, reason.as_str()), (409, "AlreadyExists"), "{name}");
        let bad: ConfigMap =
            serde_json::from_value(json!({"metadata": {"name": "Not_A_Name"}})).expect("cm");
        assert_eq!(
            api_error(api.create(&dry, &bad).await.unwrap_err()).0,
            422,
            "{name}"
        );

        let apply = PatchParams::apply("dry-tests").dry_run();
        let applied = api
            .patch(
                "dry-applied",
                &apply,
                &Patch::Apply(json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {"x": "y"}})),
            )
            .await
            .expect("dry apply");
        assert_eq!(
            applied
                .data
                .as_ref()
                .and_then(|d| d.get("x"))
                .map(String::as_str),
            Some("y")
        );
        let merge = PatchParams {
            dry_run: true,
            ..Default::default()
        };
        let patched = api
            .patch(
                "real",
                &merge,
                &Patch::Merge(json!({"data": {"key": "changed"}})),
            )
            .await
            .expect("dry patch");
        assert_eq!(
            patched
                .data
                .as_ref()
                .and_then(|d| d.get("key"))
                .map(String::as_str),
            Some("changed")
        );
        let delete = DeleteParams {
            dry_run: true,
            ..Default::default()
        };
        api.delete("real", &delete).await.expect("dry delete");

        let after = api.list(&ListParams::default()).await.expect("list");
        let names: Vec<String> = after
            .items
            .iter()
            .filter_map(|c| c.metadata.name.clone())
            .collect();
        assert_eq!(names, ["real"], "{name}: nothing stored, nothing deleted");
        let kept = api.get("real").await.expect("real");
        assert_eq!(
            kept.data
                .as_ref()
                .and_then(|d| d.get("key"))
                .map(String::as_str),
            Some("1"),
            "{name}"
        );
        // The first event a watcher hears is the next real write.
        create(&api, &configmap("after", "1")).await;
        let first = tokio::time::timeout(DEADLINE, watch.try_next())
            .await
            .expect("an event")
            .expect("event");
        match first {
            Some(WatchEvent::Added(cm)) => {
                assert_eq!(cm.metadata.name.as_deref(), Some("after"), "{name}")
            }
            other => panic!("{name}: expected the real write first, got {other:?}"),
        }
    }
}

/// The types' defaulting (`pkg/apis/*/v1/defaults.go`) and the admission
/// every cluster runs: a pod is Pending with its QoS class from its first
/// version, its spec and containers filled in; a Deployment gets its
/// strategy, history limit and deadline; a Service its ClusterIP and
/// policies; a Namespace its finalizer and name label; an Ingress path
/// without `pathType` is refused.
#[tokio::test]
async fn objects_are_defaulted_as_a_real_server_defaults_them() {
    for (name, cluster) in clusters().await {
        let client = &cluster.client;
        let ns = namespace(client).await;
        let (status, pod) = raw_json(
            client,
            "POST",
            &format!("/api/v1/namespaces/{ns}/pods"),
            Some(&json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
                "spec": {"containers": [{"name": "c", "image": "nginx", "ports": [{"containerPort": 80}],
                    "resources": {"limits": {"cpu": "100m", "memory": "64Mi"}}}]}})),
        )
        .await;
        assert_eq!(status, 201, "{name}: {pod}");
        assert_eq!(pod["status"]["phase"], "Pending", "{name}");
        assert_eq!(pod["status"]["qosClass"], "Guaranteed", "{name}");
        let spec = &pod["spec"];
        assert_eq!(spec["restartPolicy"], "Always", "{name}");
        assert_eq!(spec["dnsPolicy"], "ClusterFirst", "{name}");
        assert_eq!(spec["terminationGracePeriodSeconds"], 30, "{name}");
        assert_eq!(spec["schedulerName"], "default-scheduler", "{name}");
        assert_eq!(spec["serviceAccountName"], "default", "{name}");
        let container = &spec["containers"][0];
        assert_eq!(container["imagePullPolicy"], "Always", "{name}");
        assert_eq!(
            container["terminationMessagePath"], "/dev/termination-log",
            "{name}"
        );
        assert_eq!(container["terminationMessagePolicy"], "File", "{name}");
        assert_eq!(container["ports"][0]["protocol"], "TCP", "{name}");
        assert_eq!(
            container["resources"]["requests"]["cpu"], "100m",
            "{name}: requests default to limits"
        );

        let deployments: Api<Deployment> = Api::namespaced(client.clone(), &ns);
        let d = create(&deployments, &deployment("web", "nginx:1.27", 1)).await;
        let d = serde_json::to_value(d).expect("json");
        assert_eq!(d["spec"]["strategy"]["type"], "RollingUpdate", "{name}");
        assert_eq!(
            d["spec"]["strategy"]["rollingUpdate"]["maxSurge"], "25%",
            "{name}"
        );
        assert_eq!(
            d["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"], "25%",
            "{name}"
        );
        assert_eq!(d["spec"]["revisionHistoryLimit"], 10, "{name}");
        assert_eq!(d["spec"]["progressDeadlineSeconds"], 600, "{name}");
        assert_eq!(
            d["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"], "IfNotPresent",
            "{name}"
        );

        let (status, svc) = raw_json(
            client,
            "POST",
            &format!("/api/v1/namespaces/{ns}/services"),
            Some(
                &json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
                "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}}),
            ),
        )
        .await;
        assert_eq!(status, 201, "{name}: {svc}");
        let spec = &svc["spec"];
        assert_eq!(spec["type"], "ClusterIP", "{name}");
        assert_eq!(spec["sessionAffinity"], "None", "{name}");
        let ip = spec["clusterIP"].as_str().unwrap_or("");
        assert!(ip.parse::<std::net::Ipv4Addr>().is_ok(), "{name}: {ip}");
        assert_eq!(spec["clusterIPs"], json!([ip]), "{name}");
        assert_eq!(spec["ipFamilies"], json!(["IPv4"]), "{name}");
        assert_eq!(spec["ipFamilyPolicy"], "SingleStack", "{name}");
        assert_eq!(spec["ports"][0]["protocol"], "TCP", "{name}");
        assert_eq!(spec["ports"][0]["targetPort"], 80, "{name}");

        let (_, namespace) =
            raw_json(client, "GET", &format!("/api/v1/namespaces/{ns}"), None).await;
        assert_eq!(
            namespace["spec"]["finalizers"],
            json!(["kubernetes"]),
            "{name}"
        );
        assert_eq!(namespace["status"]["phase"], "Active", "{name}");
        assert_eq!(
            namespace["metadata"]["labels"]["kubernetes.io/metadata.name"],
            ns.as_str(),
            "{name}"
        );

        let (status, refused) = raw_json(
            client,
            "POST",
            &format!("/apis/networking.k8s.io/v1/namespaces/{ns}/ingresses"),
            Some(&json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "web"},
                "spec": {"rules": [{"host": "web.example.com", "http": {"paths": [{"path": "/",
                    "backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}]}})),
        )
        .await;
        assert_eq!(status, 422, "{name}: {refused}");
        assert!(
            refused["message"]
                .as_str()
                .unwrap_or("")
                .contains("pathType"),
            "{name}: {refused}"
        );
    }
}

/// Update validation (`apps/v1`): a Deployment's selector is immutable, so
/// an update or an apply that changes it is Invalid (422), as a real
/// write and as a dry run alike, and nothing changes.
#[tokio::test]
async fn a_deployments_selector_cannot_change() {
    for (name, cluster) in clusters().await {
        let client = &cluster.client;
        let ns = namespace(client).await;
        let deployments: Api<Deployment> = Api::namespaced(client.clone(), &ns);
        create(&deployments, &deployment("web", "nginx:1.27", 1)).await;
        let changed = json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web"},
            "spec": {
                "selector": {"matchLabels": {"app": "other"}},
                "template": {
                    "metadata": {"labels": {"app": "other"}},
                    "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]},
                },
            },
        });
        for params in [
            PatchParams::apply("selector-tests").force(),
            PatchParams::apply("selector-tests").force().dry_run(),
        ] {
            let error = deployments
                .patch("web", &params, &Patch::Apply(&changed))
                .await
                .expect_err("the selector is immutable");
            let kube::Error::Api(status) = error else {
                panic!("{name}: not an API error: {error:?}")
            };
            assert_eq!(
                (status.code, status.reason.as_str()),
                (422, "Invalid"),
                "{name}"
            );
            assert!(
                status.message.contains("spec.selector")
                    && status.message.contains("field is immutable"),
                "{name}: {}",
                status.message
            );
        }
        let kept = deployments.get("web").await.expect("web");
        let labels = kept
            .spec
            .expect("spec")
            .selector
            .match_labels
            .unwrap_or_default();
        assert_eq!(labels.get("app").map(String::as_str), Some("web"), "{name}");
    }
}

/// Secrets ("Secrets" in the concepts; `ValidateSecret`): `stringData` is
/// folded into base64 `data` and never returned, `data` must be base64,
/// `type` defaults to Opaque; `immutable` Secrets and ConfigMaps refuse a
/// change of their data.
#[tokio::test]
async fn secrets_fold_string_data_check_base64_and_stay_immutable() {
    for (name, cluster) in clusters().await {
        let client = &cluster.client;
        let ns = namespace(client).await;
        let path = format!("/api/v1/namespaces/{ns}/secrets");
        let (status, secret) = raw_json(
            client,
            "POST",
            &path,
            Some(
                &json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
                "data": {"a": "YQ=="}, "stringData": {"b": "plain"}, "immutable": true}),
            ),
        )
        .await;
        assert_eq!(status, 201, "{name}: {secret}");
        assert_eq!(secret["type"], "Opaque", "{name}");
        assert_eq!(
            secret["data"],
            json!({"a": "YQ==", "b": "cGxhaW4="}),
            "{name}"
        );
        assert!(secret.get("stringData").is_none(), "{name}: {secret}");

        let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns);
        let change = Patch::Merge(json!({"data": {"a": "Yg=="}}));
        let (code, _) = api_error(
            secrets
                .patch("s", &PatchParams::default(), &change)
                .await
                .unwrap_err(),
        );
        assert_eq!(code, 422, "{name}: an immutable secret keeps its data");

        let (status, refused) = raw_json(
            client,
            "POST",
            &path,
            Some(&json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "bad"}, "data": {"a": "not base64!"}})),
        )
        .await;
        assert_eq!(status, 400, "{name}: {refused}");
        assert!(
            refused["message"]
                .as_str()
                .unwrap_or("")
                .contains("illegal base64 data"),
            "{name}: {refused}"
        );

        let configmaps: Api<ConfigMap> = Api::namespaced(client.clone(), &ns);
        let fixed: ConfigMap = serde_json::from_value(
            json!({"metadata": {"name": "fixed"}, "data": {"a": "1"}, "immutable": true}),
        )
        .expect("cm");
        create(&configmaps, &fixed).await;
        let change = Patch::Merge(json!({"data": {"a": "2"}}));
        let (code, _) = api_error(
            configmaps
                .patch("fixed", &PatchParams::default(), &change)
                .await
                .unwrap_err(),
        );
        assert_eq!(code, 422, "{name}");
    }
}

/// "Receiving resources as Tables" (API concepts): the columns of the
/// types' printers, with `PartialObjectMetadata` rows by default.
#[tokio::test]
async fn tables_have_the_columns_kubectl_shows() {
    const TABLE: &str = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json";
    for (name, cluster) in clusters().await {
        let client = &cluster.client;
        let ns = namespace(client).await;
        let configmaps: Api<ConfigMap> = Api::namespaced(client.clone(), &ns);
        create(&configmaps, &configmap("one", "1")).await;
        let columns = |table: &Value| -> Vec<String> {
            table["columnDefinitions"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|c| c["priority"] == 0)
                .filter_map(|c| c["name"].as_str().map(str::to_owned))
                .collect()
        };
        for (path, expected) in [
            (
                format!("/api/v1/namespaces/{ns}/pods"),
                vec!["Name", "Ready", "Status", "Restarts", "Age"],
            ),
            (
                format!("/apis/apps/v1/namespaces/{ns}/deployments"),
                vec!["Name", "Ready", "Up-to-date", "Available", "Age"],
            ),
            (
                format!("/apis/apps/v1/namespaces/{ns}/replicasets"),
                vec!["Name", "Desired", "Current", "Ready", "Age"],
            ),
            (
                format!("/api/v1/namespaces/{ns}/services"),
                vec![
                    "Name",
                    "Type",
                    "Cluster-IP",
                    "External-IP",
                    "Port(s)",
                    "Age",
                ],
            ),
            (
                format!("/api/v1/namespaces/{ns}/configmaps"),
                vec!["Name", "Data", "Age"],
            ),
            (
                format!("/api/v1/namespaces/{ns}/secrets"),
                vec!["Name", "Type", "Data", "Age"],
            ),
            (
                "/api/v1/namespaces".to_owned(),
                vec!["Name", "Status", "Age"],
            ),
        ] {
            let (status, _, body) = raw(client, "GET", &path, &[("accept", TABLE)], None).await;
            let table: Value = serde_json::from_slice(&body).expect("json");
            assert_eq!(
                (status, table["kind"].as_str()),
                (200, Some("Table")),
                "{name}: {path}"
            );
            assert_eq!(columns(&table), expected, "{name}: {path}");
        }
        let (_, _, body) = raw(
            client,
            "GET",
            &format!("/api/v1/namespaces/{ns}/configmaps/one"),
            &[("accept", TABLE)],
            None,
        )
        .await;
        let table: Value = serde_json::from_slice(&body).expect("json");
        let row = &table["rows"][0];
        assert_eq!(row["cells"][0], "one", "{name}");
        assert_eq!(row["cells"][1], 1, "{name}");
        assert_eq!(row["object"]["kind"], "PartialObjectMetadata", "{name}");
        assert_eq!(row["object"]["metadata"]["name"], "one", "{name}");
    }
}

/// "Retrieving large results sets in chunks" (API concepts): `limit`
/// pages carry a `continue` token and `remainingItemCount`, and every
/// page comes from the first page's snapshot, whatever was written since.
#[tokio::test]
async fn lists_page_from_one_snapshot() {
    for (name, cluster) in clusters().await {
        let client = &cluster.client;
        let ns = namespace(client).await;
        let api: Api<ConfigMap> = Api::namespaced(client.clone(), &ns);
        for i in 0..5 {
            create(&api, &configmap(&format!("cm-{i}"), "1")).await;
        }
        let first = api
            .list(&ListParams::default().limit(2))
            .await
            .expect("page 1");
        assert_eq!(first.items.len(), 2, "{name}");
        assert_eq!(first.metadata.remaining_item_count, Some(3), "{name}");
        let token = first.metadata.continue_.clone().expect("a continue token");
        // Written after the first page: not in this list.
        create(&api, &configmap("cm-9", "1")).await;
        api.delete("cm-4", &DeleteParams::default())
            .await
            .expect("delete");
        let mut names: Vec<String> = first
            .items
            .iter()
            .filter_map(|c| c.metadata.name.clone())
            .collect();
        let mut token = Some(token);
        while let Some(next) = token.take() {
            let page = api
                .list(&ListParams::default().limit(2).continue_token(&next))
                .await
                .expect("next page");
            assert_eq!(
                page.metadata.resource_version, first.metadata.resource_version,
                "{name}"
            );
            names.extend(page.items.iter().filter_map(|c| c.metadata.name.clone()));
            token = page.metadata.continue_.filter(|t| !t.is_empty());
        }
        assert_eq!(names, ["cm-0", "cm-1", "cm-2", "cm-3", "cm-4"], "{name}");
    }
}

/// A continue token older than the history answers 410 Expired.
#[tokio::test]
async fn a_stale_continue_token_is_expired() {
    let (cluster, _) = emulator_with(kube_emulator::Config {
        history: 5,
        ..emulator_config()
    })
    .await;
    let client = &cluster.client;
    let ns = namespace(client).await;
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), &ns);
    for i in 0..3 {
        create(&api, &configmap(&format!("cm-{i}"), "1")).await;
    }
    let first = api
        .list(&ListParams::default().limit(1))
        .await
        .expect("page");
    let token = first.metadata.continue_.expect("token");
    for i in 3..12 {
        create(&api, &configmap(&format!("cm-{i}"), "1")).await;
    }
    let error = api
        .list(&ListParams::default().limit(1).continue_token(&token))
        .await
        .unwrap_err();
    assert_eq!(api_error(error), (410, "Expired".to_owned()));
}

fn reasons(events: &[Event], kind: &str) -> Vec<String> {
    events
        .iter()
        .filter(|e| e.involved_object.kind.as_deref() == Some(kind))
        .filter_map(|e| e.reason.clone())
        .collect()
}

/// Events as the components record them ("Event" in the API reference;
/// the reasons of the kubelet, scheduler and controllers): a rollout's
/// Scheduled, Pulling, Pulled, Created, Started and ScalingReplicaSet;
/// Failed and BackOff for an image that cannot be pulled; BackOff for a
/// crash loop; counted, selectable by `involvedObject`, and the same
/// objects through events.k8s.io/v1 (`regarding`, `note`).
#[tokio::test]
async fn the_controllers_record_the_events_of_a_cluster() {
    let (cluster, _) = emulator_with(emulator_config()).await;
    let client = &cluster.client;
    let ns = namespace(client).await;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &ns);
    create(&deployments, &deployment("web", "nginx:1.27", 1)).await;
    create(
        &deployments,
        &deployment("broken", "registry.example.com/fail-pull:1", 1),
    )
    .await;
    create(
        &deployments,
        &deployment("crashy", "registry.example.com/crashloop:1", 1),
    )
    .await;
    let events: Api<Event> = Api::namespaced(client.clone(), &ns);
    let pods: Api<Pod> = Api::namespaced(client.clone(), &ns);
    let pod_of = |app: &'static str| {
        let pods = pods.clone();
        async move {
            pods.list(&ListParams::default().labels(&format!("app={app}")))
                .await
                .expect("pods")
                .items
                .into_iter()
                .next()
                .expect("a pod")
        }
    };
    let of = |object: String| {
        let events = events.clone();
        async move {
            events
                .list(&ListParams::default().fields(&format!("involvedObject.name={object}")))
                .await
                .expect("events")
                .items
        }
    };
    eventually("the web pod's lifecycle is recorded", DEADLINE, || async {
        let pod = pod_of("web").await;
        let seen = reasons(&of(pod.metadata.name.unwrap_or_default()).await, "Pod");
        ["Scheduled", "Pulling", "Pulled", "Created", "Started"]
            .iter()
            .all(|r| seen.iter().any(|s| s == r))
    })
    .await;
    eventually("the deployment scaled its set", DEADLINE, || async {
        of("web".into()).await.iter().any(|e| {
            e.reason.as_deref() == Some("ScalingReplicaSet")
                && e.message.as_deref().is_some_and(|m| {
                    m.starts_with("Scaled up replica set web-") && m.ends_with("from 0 to 1")
                })
        })
    })
    .await;
    eventually("the image pull fails and backs off", DEADLINE, || async {
        let pod = pod_of("broken").await;
        let all = of(pod.metadata.name.unwrap_or_default()).await;
        let warned = |reason: &str| {
            all.iter().any(|e| {
                e.reason.as_deref() == Some(reason) && e.type_.as_deref() == Some("Warning")
            })
        };
        warned("Failed") && all.iter().any(|e| e.reason.as_deref() == Some("BackOff"))
    })
    .await;
    eventually("the crash loop backs off, counted", DEADLINE, || async {
        let pod = pod_of("crashy").await;
        of(pod.metadata.name.unwrap_or_default())
            .await
            .iter()
            .any(|e| {
                e.reason.as_deref() == Some("BackOff")
                    && e.type_.as_deref() == Some("Warning")
                    && e.count.unwrap_or(0) >= 2
            })
    })
    .await;

    // One storage, two views: a core event reads as events.k8s.io/v1, and
    // one written there (as kube-runtime's Recorder does) reads as core.
    let (status, v1) = raw_json(
        client,
        "GET",
        &format!(
            "/apis/events.k8s.io/v1/namespaces/{ns}/events?fieldSelector=regarding.name%3Dweb"
        ),
        None,
    )
    .await;
    assert_eq!(status, 200, "{v1}");
    let item = &v1["items"][0];
    assert_eq!(item["apiVersion"], "events.k8s.io/v1");
    assert_eq!(item["regarding"]["name"], "web");
    assert!(
        item["note"]
            .as_str()
            .is_some_and(|n| n.starts_with("Scaled up")),
        "{item}"
    );
    let (status, _) = raw_json(
        client,
        "POST",
        &format!("/apis/events.k8s.io/v1/namespaces/{ns}/events"),
        Some(&json!({"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "from-v1"},
            "eventTime": "2026-01-01T00:00:00.000000Z", "reportingController": "console", "reportingInstance": "console-0",
            "action": "Publish", "reason": "Serving", "note": "traffic here", "type": "Normal",
            "regarding": {"kind": "Deployment", "name": "web", "namespace": ns}})),
    )
    .await;
    assert_eq!(status, 201);
    let core = events.get("from-v1").await.expect("the core view");
    assert_eq!(core.message.as_deref(), Some("traffic here"));
    assert_eq!(core.involved_object.name.as_deref(), Some("web"));
    assert_eq!(core.reporting_component.as_deref(), Some("console"));
}

fn revision(rs: &ReplicaSet) -> Option<String> {
    rs.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get("deployment.kubernetes.io/revision"))
        .cloned()
}

/// A rolling update (`pkg/controller/deployment`, "Deployments" in the
/// concepts): a new ReplicaSet per template, never more than `replicas +
/// maxSurge` pods asked for nor fewer than `replicas - maxUnavailable`
/// available, numbered revisions, the old set reused when its template
/// comes back (`kubectl rollout undo`), and the conditions' real reasons.
#[tokio::test]
async fn rolling_updates_keep_within_surge_and_availability_and_roll_back() {
    let (cluster, _) = emulator_with(emulator_config()).await;
    let client = &cluster.client;
    let ns = namespace(client).await;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &ns);
    let sets: Api<ReplicaSet> = Api::namespaced(client.clone(), &ns);
    let mut web = deployment("web", "nginx:1.27", 4);
    let strategy =
        json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}});
    web.spec.as_mut().expect("spec").strategy =
        Some(serde_json::from_value(strategy).expect("strategy"));
    create(&deployments, &web).await;
    let complete = |reason: &'static str| {
        let deployments = deployments.clone();
        async move {
            let d = deployments.get("web").await.expect("web");
            let status = d.status.clone().unwrap_or_default();
            status.observed_generation == d.metadata.generation
                && status.updated_replicas == Some(4)
                && status.available_replicas == Some(4)
                && status.replicas == Some(4)
                && status
                    .conditions
                    .unwrap_or_default()
                    .iter()
                    .any(|c| c.type_ == "Progressing" && c.reason.as_deref() == Some(reason))
        }
    };
    eventually("the first rollout completes", DEADLINE, || {
        complete("NewReplicaSetAvailable")
    })
    .await;
    let first = sets.list(&ListParams::default()).await.expect("sets").items;
    assert_eq!(first.len(), 1);
    assert_eq!(revision(&first[0]).as_deref(), Some("1"));

    // Every state of the sets during the update: the list, then its watch.
    let listed = sets.list(&ListParams::default()).await.expect("list");
    let since = listed.metadata.resource_version.unwrap_or_default();
    let first = listed.items;
    let watch = sets
        .watch(&WatchParams::default(), &since)
        .await
        .expect("watch");
    let image = Patch::Strategic(
        json!({"spec": {"template": {"spec": {"containers": [{"name": "main", "image": "nginx:1.28"}]}}}}),
    );
    deployments
        .patch("web", &PatchParams::default(), &image)
        .await
        .expect("new image");
    let observe = async {
        let mut current: std::collections::BTreeMap<String, (i32, i32)> = first
            .iter()
            .map(|rs| {
                let spec = rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(0);
                let available = rs
                    .status
                    .as_ref()
                    .and_then(|s| s.available_replicas)
                    .unwrap_or(0);
                (
                    rs.metadata.name.clone().unwrap_or_default(),
                    (spec, available),
                )
            })
            .collect();
        let mut worst = (0, i32::MAX);
        let mut watch = watch.boxed();
        while let Some(event) = watch.try_next().await.expect("event") {
            if let WatchEvent::Added(rs) | WatchEvent::Modified(rs) = event {
                let spec = rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(0);
                let available = rs
                    .status
                    .as_ref()
                    .and_then(|s| s.available_replicas)
                    .unwrap_or(0);
                current.insert(
                    rs.metadata.name.clone().unwrap_or_default(),
                    (spec, available),
                );
                let asked: i32 = current.values().map(|v| v.0).sum();
                let up: i32 = current.values().map(|v| v.1).sum();
                worst = (worst.0.max(asked), worst.1.min(up));
                if current.len() == 2
                    && current.values().any(|v| *v == (4, 4))
                    && current.values().any(|v| *v == (0, 0))
                {
                    return worst;
                }
            }
        }
        worst
    };
    let (most_asked, least_available) = tokio::time::timeout(DEADLINE, observe)
        .await
        .expect("the update completes");
    assert!(
        most_asked <= 5,
        "maxSurge 1: at most 5 pods asked for, saw {most_asked}"
    );
    assert!(
        least_available >= 4,
        "maxUnavailable 0: never fewer than 4 available, saw {least_available}"
    );
    eventually("the update completes", DEADLINE, || {
        complete("NewReplicaSetAvailable")
    })
    .await;

    // `kubectl rollout undo`: the old template comes back, with its set.
    let back = Patch::Strategic(
        json!({"spec": {"template": {"spec": {"containers": [{"name": "main", "image": "nginx:1.27"}]}}}}),
    );
    deployments
        .patch("web", &PatchParams::default(), &back)
        .await
        .expect("undo");
    eventually(
        "the old set serves again as revision 3",
        DEADLINE,
        || async {
            let all = sets.list(&ListParams::default()).await.expect("sets").items;
            let old = all
                .iter()
                .find(|rs| rs.metadata.name == first[0].metadata.name);
            all.len() == 2
                && old.is_some_and(|rs| {
                    revision(rs).as_deref() == Some("3")
                        && rs.spec.as_ref().and_then(|s| s.replicas) == Some(4)
                })
        },
    )
    .await;
    eventually("the rollback completes", DEADLINE, || {
        complete("NewReplicaSetAvailable")
    })
    .await;
    let d = deployments.get("web").await.expect("web");
    let annotation = d
        .metadata
        .annotations
        .unwrap_or_default()
        .get("deployment.kubernetes.io/revision")
        .cloned();
    assert_eq!(annotation.as_deref(), Some("3"));
}

/// Scheduling failures on purpose (README, "The Kubernetes emulator"): a
/// pod asking for more than the node has, or for a label it lacks, stays
/// Pending with `PodScheduled=False`, reason `Unschedulable`, and a
/// FailedScheduling event, as kube-scheduler reports it.
#[tokio::test]
async fn pods_that_fit_no_node_stay_pending_as_unschedulable() {
    let (cluster, _) = emulator_with(kube_emulator::Config {
        node: kube_emulator::NodeConfig {
            cpu_milli: 1000,
            ..Default::default()
        },
        ..emulator_config()
    })
    .await;
    let client = &cluster.client;
    let ns = namespace(client).await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), &ns);
    let pod = |name: &str, extra: Value| -> Pod {
        let mut spec = json!({"containers": [{"name": "c", "image": "nginx:1.27"}]});
        json_patch::merge(&mut spec, &extra);
        serde_json::from_value(json!({"metadata": {"name": name}, "spec": spec})).expect("pod")
    };
    create(&pods, &pod("big", json!({"containers": [{"name": "c", "image": "nginx:1.27", "resources": {"requests": {"cpu": "2"}}}]}))).await;
    create(
        &pods,
        &pod("picky", json!({"nodeSelector": {"disktype": "ssd"}})),
    )
    .await;
    create(&pods, &pod("fits", json!({}))).await;
    for (name, words) in [
        ("big", "Insufficient cpu"),
        ("picky", "didn't match Pod's node affinity/selector"),
    ] {
        eventually(
            "unschedulable, with the scheduler's reason",
            DEADLINE,
            || async {
                let p = pods.get(name).await.expect("pod");
                let status = p.status.unwrap_or_default();
                status.phase.as_deref() == Some("Pending")
                    && p.spec.and_then(|s| s.node_name).is_none()
                    && status.conditions.unwrap_or_default().iter().any(|c| {
                        c.type_ == "PodScheduled"
                            && c.status == "False"
                            && c.reason.as_deref() == Some("Unschedulable")
                            && c.message.as_deref().is_some_and(|m| m.contains(words))
                    })
            },
        )
        .await;
        let events: Api<Event> = Api::namespaced(client.clone(), &ns);
        let recorded = events
            .list(&ListParams::default().fields(&format!(
                "involvedObject.name={name},reason=FailedScheduling"
            )))
            .await
            .expect("events")
            .items;
        assert!(
            recorded
                .iter()
                .any(|e| e.message.as_deref().is_some_and(|m| m.contains(words))),
            "{recorded:?}"
        );
    }
    eventually("the pod that fits runs", DEADLINE, || async {
        pods.get("fits")
            .await
            .expect("pod")
            .status
            .and_then(|s| s.phase)
            .as_deref()
            == Some("Running")
    })
    .await;
}

/// "Resource Quotas" (concepts): a create past a namespace's quota is 403
/// Forbidden, "exceeded quota", with what was requested, used and
/// limited; the quota's status follows its namespace; a ReplicaSet whose
/// pods are refused reports FailedCreate, and its Deployment a
/// ReplicaFailure condition.
#[tokio::test]
async fn quotas_refuse_what_exceeds_them() {
    for (name, cluster) in clusters().await {
        let client = &cluster.client;
        let ns = namespace(client).await;
        let (status, _) = raw_json(
            client,
            "POST",
            &format!("/api/v1/namespaces/{ns}/resourcequotas"),
            Some(
                &json!({"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "small"},
                "spec": {"hard": {"configmaps": "2"}}}),
            ),
        )
        .await;
        assert_eq!(status, 201, "{name}");
        let api: Api<ConfigMap> = Api::namespaced(client.clone(), &ns);
        // A real cluster's namespace has its kube-root-ca.crt ConfigMap.
        let existing = api
            .list(&ListParams::default())
            .await
            .expect("list")
            .items
            .len();
        for i in existing..2 {
            create(&api, &configmap(&format!("cm-{i}"), "1")).await;
        }
        let refused = eventually("the quota is enforced", DEADLINE, || async {
            api.create(&PostParams::default(), &configmap("one-too-many", "1"))
                .await
                .is_err()
        });
        refused.await;
        let error = api
            .create(&PostParams::default(), &configmap("one-too-many", "1"))
            .await
            .unwrap_err();
        let kube::Error::Api(status) = error else {
            panic!("{name}: not an API error")
        };
        assert_eq!(
            (status.code, status.reason.as_str()),
            (403, "Forbidden"),
            "{name}"
        );
        assert!(
            status.message.contains("exceeded quota: small, requested: configmaps=1, used: configmaps=2, limited: configmaps=2"),
            "{name}: {}",
            status.message
        );
        eventually(
            "the quota's status counts its namespace",
            DEADLINE,
            || async {
                let (_, quota) = raw_json(
                    client,
                    "GET",
                    &format!("/api/v1/namespaces/{ns}/resourcequotas/small"),
                    None,
                )
                .await;
                quota["status"]["used"]["configmaps"] == "2"
            },
        )
        .await;
    }

    let (cluster, _) = emulator_with(emulator_config()).await;
    let client = &cluster.client;
    let ns = namespace(client).await;
    let (status, _) = raw_json(
        client,
        "POST",
        &format!("/api/v1/namespaces/{ns}/resourcequotas"),
        Some(&json!({"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "pods"}, "spec": {"hard": {"pods": "1"}}})),
    )
    .await;
    assert_eq!(status, 201);
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &ns);
    create(&deployments, &deployment("web", "nginx:1.27", 2)).await;
    eventually(
        "the deployment reports the refused pod",
        DEADLINE,
        || async {
            let d = deployments.get("web").await.expect("web");
            d.status
                .and_then(|s| s.conditions)
                .unwrap_or_default()
                .iter()
                .any(|c| {
                    c.type_ == "ReplicaFailure"
                        && c.reason.as_deref() == Some("FailedCreate")
                        && c.message
                            .as_deref()
                            .is_some_and(|m| m.contains("exceeded quota: pods"))
                })
        },
    )
    .await;
}

/// Pod Security admission ("Pod Security Admission" and "Pod Security
/// Standards" in the concepts): a namespace enforcing `restricted`
/// refuses a bare pod with 403 and the violated controls, admits a
/// hardened one, and only warns about a workload, whose pods are then
/// refused (FailedCreate).
#[tokio::test]
async fn pod_security_admission_follows_the_namespace_labels() {
    for (name, cluster) in clusters().await {
        let client = &cluster.client;
        let ns = namespace(client).await;
        let label = Patch::Merge(
            json!({"metadata": {"labels": {"pod-security.kubernetes.io/enforce": "restricted"}}}),
        );
        Api::<k8s_openapi::api::core::v1::Namespace>::all(client.clone())
            .patch(&ns, &PatchParams::default(), &label)
            .await
            .expect("labelled");
        let path = format!("/api/v1/namespaces/{ns}/pods");
        let bare = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "bare"},
            "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}});
        let (status, refused) = raw_json(client, "POST", &path, Some(&bare)).await;
        assert_eq!(status, 403, "{name}: {refused}");
        let message = refused["message"].as_str().unwrap_or("");
        for control in [
            "violates PodSecurity \"restricted:latest\"",
            "allowPrivilegeEscalation != false (container \"web\" must set securityContext.allowPrivilegeEscalation=false)",
            "unrestricted capabilities (container \"web\" must set securityContext.capabilities.drop=[\"ALL\"])",
            "runAsNonRoot != true (pod or container \"web\" must set securityContext.runAsNonRoot=true)",
            "seccompProfile (pod or container \"web\" must set securityContext.seccompProfile.type to \"RuntimeDefault\" or \"Localhost\")",
        ] {
            assert!(message.contains(control), "{name}: {message}");
        }
        let hardened = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "hardened"},
            "spec": {"securityContext": {"runAsNonRoot": true, "runAsUser": 65532, "seccompProfile": {"type": "RuntimeDefault"}},
                "containers": [{"name": "web", "image": "nginx:1.27", "securityContext": {
                    "allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}}}]}});
        let (status, admitted) = raw_json(client, "POST", &path, Some(&hardened)).await;
        assert_eq!(status, 201, "{name}: {admitted}");

        let (status, headers, _) = raw(
            client,
            "POST",
            &format!("/apis/apps/v1/namespaces/{ns}/deployments"),
            &[],
            Some(&serde_json::to_value(deployment("web", "nginx:1.27", 1)).expect("json")),
        )
        .await;
        assert_eq!(status, 201, "{name}: a workload is admitted");
        let warning = headers
            .get("warning")
            .and_then(|w| w.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert!(
            warning.contains("would violate PodSecurity"),
            "{name}: {warning}"
        );
        let sets: Api<ReplicaSet> = Api::namespaced(client.clone(), &ns);
        eventually("its pods are refused", DEADLINE, || async {
            sets.list(&ListParams::default())
                .await
                .expect("sets")
                .items
                .iter()
                .any(|rs| {
                    rs.status
                        .as_ref()
                        .and_then(|s| s.conditions.as_ref())
                        .is_some_and(|cs| {
                            cs.iter().any(|c| {
                                c.type_ == "ReplicaFailure"
                                    && c.message
                                        .as_deref()
                                        .is_some_and(|m| m.contains("violates PodSecurity"))
                            })
                        })
                })
        })
        .await;
    }
}

/// Images in a registry that wants credentials (a `private` path segment,
/// README): without a pull secret the kubelet reports ErrImagePull, "pull
/// access denied", then ImagePullBackOff; with one that exists, the pod
/// runs.
#[tokio::test]
async fn private_images_need_a_pull_secret() {
    let (cluster, _) = emulator_with(emulator_config()).await;
    let client = &cluster.client;
    let ns = namespace(client).await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), &ns);
    let pod = |name: &str, secret: Option<&str>| -> Pod {
        let mut spec =
            json!({"containers": [{"name": "app", "image": "registry.example.com/private/app:1"}]});
        if let Some(secret) = secret {
            spec["imagePullSecrets"] = json!([{"name": secret}]);
        }
        serde_json::from_value(json!({"metadata": {"name": name}, "spec": spec})).expect("pod")
    };
    create(&pods, &pod("anonymous", None)).await;
    create(&pods, &pod("named-missing", Some("registry"))).await;
    for name in ["anonymous", "named-missing"] {
        eventually("the pull is denied", DEADLINE, || async {
            let status = pods
                .get(name)
                .await
                .expect("pod")
                .status
                .unwrap_or_default();
            status
                .container_statuses
                .unwrap_or_default()
                .iter()
                .any(|c| {
                    let waiting = c.state.as_ref().and_then(|s| s.waiting.as_ref());
                    waiting.is_some_and(|w| {
                        matches!(
                            w.reason.as_deref(),
                            Some("ErrImagePull" | "ImagePullBackOff")
                        ) && w
                            .message
                            .as_deref()
                            .is_some_and(|m| m.contains("pull access denied"))
                    })
                })
        })
        .await;
    }
    let secrets: Api<Secret> = Api::namespaced(client.clone(), &ns);
    let registry: Secret = serde_json::from_value(json!({"metadata": {"name": "registry"},
        "type": "kubernetes.io/dockerconfigjson",
        "stringData": {".dockerconfigjson": "{\"auths\": {\"registry.example.com\": {\"auth\": \"dTpw\"}}}"}}))
    .expect("secret");
    create(&secrets, &registry).await;
    create(&pods, &pod("authorised", Some("registry"))).await;
    eventually("the authorised pod runs", DEADLINE, || async {
        pods.get("authorised")
            .await
            .expect("pod")
            .status
            .and_then(|s| s.phase)
            .as_deref()
            == Some("Running")
    })
    .await;
}
