//! The Kubernetes objects of a version, as `DESIGN.md` lists them. Pure: the
//! same manifest always gives the same objects, which is what makes a repeated
//! server-side apply a no-op.

use std::collections::BTreeMap;

use lifecycle::{
    Manifest,
    manifest::{ENTRYPOINT, Probe, resource_name},
};
use serde_json::{Value, json};

/// The one field manager every apply of the console uses.
pub const FIELD_MANAGER: &str = "runtime-console";
pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
pub const PART_OF: &str = "app.kubernetes.io/part-of";
pub const RUNTIME_LABEL: &str = "runtime-console.io/runtime";
pub const VERSION_LABEL: &str = "runtime-console.io/version";
pub const NODE_LABEL: &str = "runtime-console.io/node";
/// The Service port the Ingress targets, whatever the entrypoint listens on.
pub const SERVICE_PORT: i32 = 80;

/// Selects everything the console manages (the pod watcher's selector).
pub fn managed_selector() -> String {
    format!("{MANAGED_BY}={FIELD_MANAGER}")
}

/// Selects every object of one version.
pub fn version_selector(runtime: &str, version: &str) -> String {
    format!("{MANAGED_BY}={FIELD_MANAGER},{RUNTIME_LABEL}={runtime},{VERSION_LABEL}={version}")
}

/// Whether an object's labels say the console made it for `runtime`.
pub fn is_runtimes(
    meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    runtime: &str,
) -> bool {
    meta.labels.as_ref().is_some_and(|labels| {
        labels.get(MANAGED_BY).map(String::as_str) == Some(FIELD_MANAGER)
            && labels.get(RUNTIME_LABEL).map(String::as_str) == Some(runtime)
    })
}

/// The host a runtime's published version is served at.
pub fn runtime_host(runtime: &str, base_domain: &str) -> String {
    format!("{runtime}.{base_domain}")
}

pub fn config_map_name(version: &str) -> String {
    resource_name(version, "config")
}

pub fn service_name(version: &str) -> String {
    resource_name(version, ENTRYPOINT)
}

/// The runtime's single Ingress: re-pointing it switches the published
/// version in one apply.
pub fn ingress_name(runtime: &str) -> String {
    runtime.to_owned()
}

fn labels(runtime: &str, version: Option<&str>, node: Option<&str>) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::from([
        (MANAGED_BY.to_owned(), FIELD_MANAGER.to_owned()),
        (PART_OF.to_owned(), runtime.to_owned()),
        (RUNTIME_LABEL.to_owned(), runtime.to_owned()),
    ]);
    if let Some(version) = version {
        labels.insert(VERSION_LABEL.to_owned(), version.to_owned());
    }
    if let Some(node) = node {
        labels.insert(NODE_LABEL.to_owned(), node.to_owned());
    }
    labels
}

/// The pod labels a node's Deployment selects on (immutable once created).
fn selector_labels(runtime: &str, version: &str, node: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (RUNTIME_LABEL.to_owned(), runtime.to_owned()),
        (VERSION_LABEL.to_owned(), version.to_owned()),
        (NODE_LABEL.to_owned(), node.to_owned()),
    ])
}

pub fn namespace(runtime: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": runtime, "labels": labels(runtime, None, None)},
    })
}

/// The version's config; every other object of the version is owned by it,
/// so deleting it lets the garbage collector remove the rest too.
pub fn config_map(runtime: &str, manifest: &Manifest) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": config_map_name(&manifest.name),
            "namespace": runtime,
            "labels": labels(runtime, Some(&manifest.name), None),
        },
        "data": manifest.config,
    })
}

fn owner(manifest: &Manifest, owner_uid: &str) -> Value {
    json!([{
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "name": config_map_name(&manifest.name),
        "uid": owner_uid,
        "blockOwnerDeletion": true,
    }])
}

/// One node's Deployment: the entrypoint or a process.
pub struct NodeSpec<'a> {
    pub name: &'a str,
    pub image: &'a str,
    pub replicas: u32,
    pub env: Vec<(String, String)>,
    pub port: Option<u32>,
    pub readiness: Option<&'a Probe>,
}

/// Every node of the manifest, the entrypoint first.
pub fn node_specs(manifest: &Manifest) -> Vec<NodeSpec<'_>> {
    let mut nodes = vec![NodeSpec {
        name: ENTRYPOINT,
        image: &manifest.entrypoint.image,
        replicas: 1,
        env: Vec::new(),
        port: Some(manifest.entrypoint.port),
        readiness: manifest.entrypoint.readiness.as_ref(),
    }];
    nodes.extend(manifest.processes.iter().map(|p| {
        NodeSpec {
            name: &p.name,
            image: &p.image,
            replicas: p.replicas,
            env: p
                .env
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .chain(std::iter::once((
                    "RUNTIME_INPUTS".to_owned(),
                    p.inputs.join(","),
                )))
                .collect(),
            port: None,
            readiness: p.readiness.as_ref(),
        }
    }));
    nodes
}

/// What every container runs with: the Pod Security Standards'
/// `restricted` level (no privilege escalation, every capability dropped,
/// the runtime's default seccomp profile), and a read-only root.
fn restricted_container() -> Value {
    json!({
        "allowPrivilegeEscalation": false,
        "capabilities": {"drop": ["ALL"]},
        "readOnlyRootFilesystem": true,
        "runAsNonRoot": true,
        "seccompProfile": {"type": "RuntimeDefault"},
    })
}

/// The pod's side of `restricted`: a fixed unprivileged user (65532, the
/// distroless `nonroot`), so that images whose default user is root still
/// start rather than fail the kubelet's non-root check.
fn restricted_pod() -> Value {
    json!({
        "runAsNonRoot": true,
        "runAsUser": 65532,
        "runAsGroup": 65532,
        "seccompProfile": {"type": "RuntimeDefault"},
    })
}

pub fn deployment(
    runtime: &str,
    manifest: &Manifest,
    node: &NodeSpec<'_>,
    owner_uid: &str,
) -> Value {
    let version = manifest.name.as_str();
    let mut env = vec![
        json!({"name": "RUNTIME_NAME", "value": runtime}),
        json!({"name": "RUNTIME_VERSION", "value": version}),
        json!({"name": "RUNTIME_NODE", "value": node.name}),
    ];
    env.extend(
        node.env
            .iter()
            .map(|(name, value)| json!({"name": name, "value": value})),
    );
    let mut container = json!({
        "name": node.name,
        "image": node.image,
        "env": env,
        "envFrom": [{"configMapRef": {"name": config_map_name(version)}}],
        "securityContext": restricted_container(),
        // The root filesystem is read-only: scratch space is an emptyDir.
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    });
    if let Some(port) = node.port {
        container["ports"] = json!([{"name": "http", "containerPort": port, "protocol": "TCP"}]);
    }
    if let Some(probe) = node.readiness {
        container["readinessProbe"] = json!({
            "httpGet": {"path": probe.path, "port": probe.port},
            "periodSeconds": 5,
        });
    }
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": resource_name(version, node.name),
            "namespace": runtime,
            "labels": labels(runtime, Some(version), Some(node.name)),
            "ownerReferences": owner(manifest, owner_uid),
        },
        "spec": {
            "replicas": node.replicas,
            "selector": {"matchLabels": selector_labels(runtime, version, node.name)},
            "template": {
                "metadata": {"labels": labels(runtime, Some(version), Some(node.name))},
                "spec": {
                    "containers": [container],
                    "securityContext": restricted_pod(),
                    "volumes": [{"name": "tmp", "emptyDir": {}}],
                    // Processes do not call the Kubernetes API.
                    "automountServiceAccountToken": false,
                },
            },
        },
    })
}

pub fn service(runtime: &str, manifest: &Manifest, owner_uid: &str) -> Value {
    let version = manifest.name.as_str();
    json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": service_name(version),
            "namespace": runtime,
            "labels": labels(runtime, Some(version), Some(ENTRYPOINT)),
            "ownerReferences": owner(manifest, owner_uid),
        },
        "spec": {
            "type": "ClusterIP",
            "selector": selector_labels(runtime, version, ENTRYPOINT),
            "ports": [{
                "name": "http",
                "port": SERVICE_PORT,
                "targetPort": manifest.entrypoint.port,
                "protocol": "TCP",
            }],
        },
    })
}

/// The runtime's Ingress, pointing at `version`'s entrypoint Service. Not
/// owned by the version: it outlives a switch from one version to another.
pub fn ingress(runtime: &str, base_domain: &str, version: &str) -> Value {
    json!({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {
            "name": ingress_name(runtime),
            "namespace": runtime,
            "labels": labels(runtime, Some(version), None),
        },
        "spec": {
            "rules": [{
                "host": runtime_host(runtime, base_domain),
                "http": {"paths": [{
                    "path": "/",
                    "pathType": "Prefix",
                    "backend": {"service": {
                        "name": service_name(version),
                        "port": {"number": SERVICE_PORT},
                    }},
                }]},
            }],
        },
    })
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::{apps::v1::Deployment, core::v1::ConfigMap, networking::v1::Ingress};

    use super::*;

    fn typed<T: serde::de::DeserializeOwned>(value: Value) -> T {
        serde_json::from_value(value).expect("object matches its Kubernetes type")
    }

    fn manifest() -> Manifest {
        crate::manifest_file::parse(include_bytes!("../../../examples/manifests/v1.yaml"))
            .expect("example parses")
    }

    #[test]
    fn every_object_carries_the_product_labels() {
        let m = manifest();
        let cm: ConfigMap = typed(config_map("demo", &m));
        let labels = cm.metadata.labels.clone().unwrap_or_default();
        assert_eq!(
            labels.get(MANAGED_BY).map(String::as_str),
            Some(FIELD_MANAGER)
        );
        assert_eq!(labels.get(PART_OF).map(String::as_str), Some("demo"));
        assert_eq!(labels.get(VERSION_LABEL).map(String::as_str), Some("v1"));
        for node in node_specs(&m) {
            let d: Deployment = typed(deployment("demo", &m, &node, "uid-1"));
            let labels = d.metadata.labels.clone().unwrap_or_default();
            assert_eq!(labels.get(NODE_LABEL).map(String::as_str), Some(node.name));
            let spec = d.spec.expect("spec");
            let selector = spec.selector.match_labels.expect("selector");
            let pod_labels = spec
                .template
                .metadata
                .and_then(|m| m.labels)
                .expect("pod labels");
            for (k, v) in &selector {
                assert_eq!(pod_labels.get(k), Some(v), "selector {k} matches the pods");
            }
            assert_eq!(
                d.metadata.owner_references.expect("owner")[0].name,
                "v1-config"
            );
        }
    }

    #[test]
    fn the_ingress_points_at_the_versions_entrypoint_service() {
        let ingress: Ingress = typed(ingress("demo", "apps.example.com", "v2"));
        let rule = &ingress.spec.expect("spec").rules.expect("rules")[0];
        assert_eq!(rule.host.as_deref(), Some("demo.apps.example.com"));
        let backend = &rule.http.as_ref().expect("http").paths[0].backend;
        assert_eq!(
            backend.service.as_ref().map(|s| s.name.as_str()),
            Some("v2-entrypoint")
        );
    }
}
