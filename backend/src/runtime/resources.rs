//! The Kubernetes objects of a version, as `DESIGN.md` lists them. Pure: the
//! same manifest always gives the same objects, which is what makes a repeated
//! server-side apply a no-op.

use lifecycle::{
    Manifest, RuntimeSettings,
    manifest::{ENTRYPOINT, Probe, resource_name},
    runtime::PodSecurity,
    workload::{Check, Probes, Quantities, Resources},
};
use serde_json::{Value, json};

pub use super::labels::{
    CONFIG_CHECKSUM, FIELD_MANAGER, MANAGED_BY, NODE_LABEL, PART_OF, RUNTIME_LABEL, SERVICE_PORT,
    SETTINGS_REVISION, VERSION_LABEL, config_map_name, ingress_name, is_runtimes, managed_selector,
    service_name, version_selector,
};
use super::labels::{labels, owner, selector_labels};
use crate::{configuration::Settled, runtimes::RuntimeRecord};

pub fn namespace(runtime: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": runtime, "labels": labels(runtime, None, None)},
    })
}

/// The version's config: the manifest's fixed values and the declared
/// variables that are not secret, exported to every process as its
/// environment. Every other object of the version is owned by it, so
/// deleting it lets the garbage collector remove the rest too.
pub fn config_map(runtime: &str, manifest: &Manifest, settled: &Settled) -> Value {
    let mut data = manifest.config.clone();
    data.extend(settled.variables.clone());
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": config_map_name(&manifest.name),
            "namespace": runtime,
            "labels": labels(runtime, Some(&manifest.name), None),
        },
        "data": data,
    })
}

/// One node's Deployment: the entrypoint or a process.
pub struct NodeSpec<'a> {
    pub name: &'a str,
    pub image: &'a str,
    pub replicas: u32,
    pub env: Vec<(String, String)>,
    pub port: Option<u32>,
    pub readiness: Option<&'a Probe>,
    pub resources: &'a Resources,
    pub probes: &'a Probes,
    pub placement: Option<&'a str>,
    pub kubernetes_api: bool,
}

/// Every node of the manifest, the entrypoint first.
pub fn node_specs(manifest: &Manifest) -> Vec<NodeSpec<'_>> {
    let entry = &manifest.entrypoint;
    let mut nodes = vec![NodeSpec {
        name: ENTRYPOINT,
        image: &entry.image,
        replicas: 1,
        env: Vec::new(),
        port: Some(entry.port),
        readiness: entry.readiness.as_ref(),
        resources: &entry.resources,
        probes: &entry.probes,
        placement: entry.placement.as_deref(),
        kubernetes_api: false,
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
            port: p.port,
            readiness: p.readiness.as_ref(),
            resources: &p.resources,
            probes: &p.probes,
            placement: p.placement.as_deref(),
            kubernetes_api: p.kubernetes_api,
        }
    }));
    nodes
}

/// What every container runs with. `restricted`: the Pod Security
/// Standards' level (no privilege escalation, every capability dropped,
/// the runtime's default seccomp profile) and a read-only root. `relaxed`
/// (a runtime's explicit choice) keeps the first two only.
fn container_security(level: PodSecurity) -> Value {
    match level {
        PodSecurity::Restricted => json!({
            "allowPrivilegeEscalation": false,
            "capabilities": {"drop": ["ALL"]},
            "readOnlyRootFilesystem": true,
            "runAsNonRoot": true,
            "seccompProfile": {"type": "RuntimeDefault"},
        }),
        PodSecurity::Relaxed => json!({
            "allowPrivilegeEscalation": false,
            "capabilities": {"drop": ["ALL"]},
        }),
    }
}

/// The pod's side of `restricted`: a fixed unprivileged user (65532, the
/// distroless `nonroot`), so that images whose default user is root still
/// start rather than fail the kubelet's non-root check.
fn pod_security(level: PodSecurity) -> Value {
    match level {
        PodSecurity::Restricted => json!({
            "runAsNonRoot": true,
            "runAsUser": 65532,
            "runAsGroup": 65532,
            "seccompProfile": {"type": "RuntimeDefault"},
        }),
        PodSecurity::Relaxed => json!({"seccompProfile": {"type": "RuntimeDefault"}}),
    }
}

fn quantities(q: &Quantities) -> Value {
    let mut out = serde_json::Map::new();
    if let Some(cpu) = &q.cpu {
        out.insert("cpu".into(), json!(cpu));
    }
    if let Some(memory) = &q.memory {
        out.insert("memory".into(), json!(memory));
    }
    Value::Object(out)
}

fn container_resources(resources: &Resources) -> Value {
    let mut out = serde_json::Map::new();
    if !resources.requests.is_empty() {
        out.insert("requests".into(), quantities(&resources.requests));
    }
    if !resources.limits.is_empty() {
        out.insert("limits".into(), quantities(&resources.limits));
    }
    Value::Object(out)
}

fn check(check: &Check, period: u32) -> Value {
    let mut probe = json!({"periodSeconds": period});
    if let Some(http) = &check.http {
        probe["httpGet"] = json!({"path": http.path, "port": http.port});
    } else if let Some(tcp) = &check.tcp {
        probe["tcpSocket"] = json!({"port": tcp.port});
    } else if let Some(exec) = &check.exec {
        probe["exec"] = json!({"command": exec.command});
    }
    probe
}

pub fn deployment(
    runtime: &str,
    settings: &RuntimeSettings,
    manifest: &Manifest,
    node: &NodeSpec<'_>,
    owner_uid: &str,
    settled: &Settled,
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
        "securityContext": container_security(settings.pod_security),
        // The root filesystem is read-only: scratch space is an emptyDir.
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    });
    if let Some(port) = node.port {
        container["ports"] = json!([{"name": "http", "containerPort": port, "protocol": "TCP"}]);
    }
    let resources = node.resources.or(&settings.default_resources);
    if !resources.is_empty() {
        container["resources"] = container_resources(&resources);
    }
    if let Some(probe) = node.readiness {
        container["readinessProbe"] = json!({
            "httpGet": {"path": probe.path, "port": probe.port},
            "periodSeconds": 5,
        });
    }
    if let Some(readiness) = &node.probes.readiness {
        container["readinessProbe"] = check(readiness, 5);
    }
    if let Some(liveness) = &node.probes.liveness {
        container["livenessProbe"] = check(liveness, 10);
    }
    let mut pod = json!({
        "containers": [container],
        "securityContext": pod_security(settings.pod_security),
        "volumes": [{"name": "tmp", "emptyDir": {}}],
        // Only processes that say they call the Kubernetes API get a token.
        "automountServiceAccountToken": node.kubernetes_api,
    });
    if !settings.image_pull_secrets.is_empty() {
        pod["imagePullSecrets"] = settings
            .image_pull_secrets
            .iter()
            .map(|name| json!({"name": name}))
            .collect();
    }
    if let Some(placement) = node.placement.and_then(|p| settings.placements.get(p)) {
        if !placement.node_selector.is_empty() {
            pod["nodeSelector"] = json!(placement.node_selector);
        }
        if !placement.tolerations.is_empty() {
            pod["tolerations"] = json!(placement.tolerations);
        }
    }
    super::configured::mount(&mut pod, version, settled);
    let mut template_meta = json!({"labels": labels(runtime, Some(version), Some(node.name))});
    if !manifest.variables.is_empty() {
        template_meta["annotations"] = json!({CONFIG_CHECKSUM: settled.checksum});
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
                "metadata": template_meta,
                "spec": pod,
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

/// When the runtime's settings last changed (or it was created).
pub fn settings_revision(runtime: &RuntimeRecord) -> String {
    runtime
        .updated_at
        .clone()
        .unwrap_or_else(|| runtime.created_at.clone())
}

/// The runtime's Ingress, pointing at `version`'s entrypoint Service, with
/// the runtime's class, TLS and annotations. Not owned by the version: it
/// outlives a switch from one version to another.
pub fn ingress(runtime: &RuntimeRecord, version: &str) -> Value {
    let host = runtime.host();
    let settings = &runtime.settings;
    let mut annotations = settings.annotations();
    annotations.insert(SETTINGS_REVISION.to_owned(), settings_revision(runtime));
    let mut metadata = json!({
        "name": ingress_name(&runtime.name),
        "namespace": runtime.name,
        "labels": labels(&runtime.name, Some(version), None),
    });
    metadata["annotations"] = json!(annotations);
    let mut spec = json!({
        "rules": [{
            "host": host,
            "http": {"paths": [{
                "path": "/",
                "pathType": "Prefix",
                "backend": {"service": {
                    "name": service_name(version),
                    "port": {"number": SERVICE_PORT},
                }},
            }]},
        }],
    });
    if let Some(class) = &settings.ingress_class {
        spec["ingressClassName"] = json!(class);
    }
    if let Some(secret) = settings.tls_secret(&runtime.name) {
        spec["tls"] = json!([{"hosts": [host], "secretName": secret}]);
    }
    json!({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": metadata,
        "spec": spec,
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
        let cm: ConfigMap = typed(config_map("demo", &m, &Settled::default()));
        let labels = cm.metadata.labels.clone().unwrap_or_default();
        assert_eq!(
            labels.get(MANAGED_BY).map(String::as_str),
            Some(FIELD_MANAGER)
        );
        assert_eq!(labels.get(PART_OF).map(String::as_str), Some("demo"));
        assert_eq!(labels.get(VERSION_LABEL).map(String::as_str), Some("v1"));
        for node in node_specs(&m) {
            let d: Deployment = typed(deployment(
                "demo",
                &RuntimeSettings::default(),
                &m,
                &node,
                "uid-1",
                &Settled::default(),
            ));
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

    fn runtime(settings: RuntimeSettings) -> RuntimeRecord {
        RuntimeRecord::for_tests("demo", settings)
    }

    #[test]
    fn the_ingress_points_at_the_versions_entrypoint_service() {
        let ingress: Ingress = typed(ingress(&runtime(RuntimeSettings::default()), "v2"));
        let annotations = ingress.metadata.annotations.clone().unwrap_or_default();
        assert_eq!(annotations.keys().collect::<Vec<_>>(), [SETTINGS_REVISION]);
        let spec = ingress.spec.expect("spec");
        assert_eq!(spec.ingress_class_name, None);
        assert_eq!(spec.tls, None);
        let rule = &spec.rules.expect("rules")[0];
        assert_eq!(rule.host.as_deref(), Some("demo.apps.example.com"));
        let backend = &rule.http.as_ref().expect("http").paths[0].backend;
        assert_eq!(
            backend.service.as_ref().map(|s| s.name.as_str()),
            Some("v2-entrypoint")
        );
    }

    #[test]
    fn the_ingress_carries_the_runtimes_host_class_tls_and_annotations() {
        let settings = RuntimeSettings {
            host: Some("fraud.example.org".into()),
            ingress_class: Some("nginx-public".into()),
            tls: lifecycle::Tls::Issuer {
                issuer: "letsencrypt".into(),
                cluster: true,
            },
            ingress_annotations: [(
                "nginx.ingress.kubernetes.io/proxy-body-size".to_owned(),
                "8m".to_owned(),
            )]
            .into(),
            ..RuntimeSettings::default()
        };
        let ingress: Ingress = typed(ingress(&runtime(settings), "v1"));
        let annotations = ingress.metadata.annotations.expect("annotations");
        assert_eq!(
            annotations
                .get("cert-manager.io/cluster-issuer")
                .map(String::as_str),
            Some("letsencrypt")
        );
        assert_eq!(
            annotations
                .get("nginx.ingress.kubernetes.io/proxy-body-size")
                .map(String::as_str),
            Some("8m")
        );
        let spec = ingress.spec.expect("spec");
        assert_eq!(spec.ingress_class_name.as_deref(), Some("nginx-public"));
        let tls = &spec.tls.expect("tls")[0];
        assert_eq!(tls.secret_name.as_deref(), Some("demo-tls"));
        assert_eq!(
            tls.hosts.as_deref(),
            Some(&["fraud.example.org".to_owned()][..])
        );
        let rule = &spec.rules.expect("rules")[0];
        assert_eq!(rule.host.as_deref(), Some("fraud.example.org"));
    }

    #[test]
    fn pods_get_the_runtimes_pull_secrets_defaults_and_hardware_class() {
        use lifecycle::workload::{Placement, Toleration};
        let mut m = manifest();
        m.processes[1].placement = Some("gpu".into());
        m.processes[1].resources.limits.cpu = Some("2".into());
        m.processes[1].kubernetes_api = true;
        let settings = RuntimeSettings {
            image_pull_secrets: vec!["registry-credentials".into()],
            default_resources: Resources {
                requests: Quantities {
                    cpu: Some("100m".into()),
                    memory: Some("128Mi".into()),
                },
                limits: Quantities {
                    cpu: Some("500m".into()),
                    memory: Some("256Mi".into()),
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
        };
        let nodes = node_specs(&m);
        let plain: Deployment = typed(deployment(
            "demo",
            &settings,
            &m,
            &nodes[1],
            "uid",
            &Settled::default(),
        ));
        let gpu: Deployment = typed(deployment(
            "demo",
            &settings,
            &m,
            &nodes[2],
            "uid",
            &Settled::default(),
        ));
        let pod = |d: Deployment| d.spec.expect("spec").template.spec.expect("pod");
        let (plain, gpu) = (pod(plain), pod(gpu));
        assert_eq!(
            plain.image_pull_secrets.expect("pull secrets")[0].name,
            "registry-credentials"
        );
        assert_eq!(plain.node_selector, None);
        assert_eq!(plain.automount_service_account_token, Some(false));
        let resources = plain.containers[0].resources.clone().expect("resources");
        assert_eq!(
            resources.limits.expect("limits")["memory"].0,
            "256Mi",
            "the runtime's default"
        );
        assert_eq!(gpu.node_selector.expect("selector")["accelerator"], "a100");
        assert_eq!(
            gpu.tolerations.expect("tolerations")[0].key.as_deref(),
            Some("nvidia.com/gpu")
        );
        assert_eq!(gpu.automount_service_account_token, Some(true));
        let limits = gpu.containers[0]
            .resources
            .clone()
            .expect("resources")
            .limits
            .expect("limits");
        assert_eq!(limits["cpu"].0, "2", "the process's own limit wins");
        assert_eq!(limits["memory"].0, "256Mi", "the default fills the rest");
    }
}
