//! What an action would apply to the cluster, object by object, in the
//! order a start applies them: what a dry run sends, what the diff of two
//! versions compares, and what `objects.rs` applies. Pure.

use lifecycle::Manifest;
use serde_json::{Value, json};

use super::{configured, resources};
use crate::{configuration::Settled, runtimes::RuntimeRecord};

/// Stands for the uid the cluster gives the version's ConfigMap (the owner
/// of the rest) at its first apply, where the uid is not known yet.
pub const OWNER_UID_UNKNOWN: &str = "(uid of the version's ConfigMap)";

/// One object an action applies.
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    pub kind: &'static str,
    /// What the object is to the version, the same whatever the version's
    /// name: `namespace`, `config`, a node's name, `routing`.
    pub role: String,
    pub name: String,
    pub object: Value,
}

impl Planned {
    fn new(kind: &'static str, role: &str, object: Value) -> Self {
        let name = object["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        Self {
            kind,
            role: role.to_owned(),
            name,
            object,
        }
    }
}

/// The namespace and the ConfigMap: applied first, the ConfigMap's uid
/// owning what `workloads` gives.
pub fn foundation(runtime: &RuntimeRecord, manifest: &Manifest, settled: &Settled) -> [Planned; 2] {
    [
        Planned::new(
            "Namespace",
            "namespace",
            resources::namespace(&runtime.name),
        ),
        Planned::new(
            "ConfigMap",
            "config",
            resources::config_map(&runtime.name, manifest, settled),
        ),
    ]
}

/// The version's Secret and files ConfigMap, when it has values for them:
/// applied before the workloads whose pods mount them.
pub fn configuration(
    runtime: &RuntimeRecord,
    manifest: &Manifest,
    settled: &Settled,
    owner_uid: &str,
) -> Vec<Planned> {
    let ns = runtime.name.as_str();
    let secret = configured::secret(ns, manifest, settled, owner_uid)
        .map(|object| Planned::new("Secret", "secrets", object));
    let files = configured::files_config_map(ns, manifest, settled, owner_uid)
        .map(|object| Planned::new("ConfigMap", "files", object));
    secret.into_iter().chain(files).collect()
}

/// Every node's Deployment, then the entrypoint's Service, owned by
/// `owner_uid`.
pub fn workloads(
    runtime: &RuntimeRecord,
    manifest: &Manifest,
    settled: &Settled,
    owner_uid: &str,
) -> Vec<Planned> {
    let ns = runtime.name.as_str();
    let mut planned: Vec<Planned> = resources::node_specs(manifest)
        .iter()
        .map(|node| {
            Planned::new(
                "Deployment",
                node.name,
                resources::deployment(ns, &runtime.settings, manifest, node, owner_uid, settled),
            )
        })
        .collect();
    planned.push(Planned::new(
        "Service",
        lifecycle::manifest::ENTRYPOINT,
        resources::service(ns, manifest, owner_uid),
    ));
    planned
}

/// Everything a start applies, the owner's uid left unknown.
pub fn start(runtime: &RuntimeRecord, manifest: &Manifest, settled: &Settled) -> Vec<Planned> {
    let mut planned = foundation(runtime, manifest, settled).to_vec();
    planned.extend(configuration(runtime, manifest, settled, OWNER_UID_UNKNOWN));
    planned.extend(workloads(runtime, manifest, settled, OWNER_UID_UNKNOWN));
    planned
}

/// What a publish applies: the runtime's Ingress, pointing at `version`.
pub fn publish(runtime: &RuntimeRecord, version: &str) -> Planned {
    Planned::new("Ingress", "routing", resources::ingress(runtime, version))
}

/// One pod as a Deployment's template makes it: what a dry run creates to
/// learn what the cluster's admission (Pod Security, quotas) says of the
/// pods, which a Deployment itself is not refused for.
pub fn template_pod(deployment: &Planned) -> Planned {
    let name = &deployment.name;
    let template = &deployment.object["spec"]["template"];
    let pod = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": format!("{name}-dry-run"),
            "namespace": deployment.object["metadata"]["namespace"],
            "labels": template["metadata"]["labels"],
        },
        "spec": template["spec"],
    });
    Planned::new("Pod", &deployment.role, pod)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_start_plans_the_namespace_config_every_node_and_the_service_in_order() {
        let runtime = RuntimeRecord::for_tests("demo", Default::default());
        let manifest: Manifest =
            crate::manifest_file::parse(include_bytes!("../../../examples/manifests/v1.yaml"))
                .expect("manifest");
        let planned = start(&runtime, &manifest, &Settled::default());
        let kinds: Vec<(&str, &str)> = planned.iter().map(|p| (p.kind, p.role.as_str())).collect();
        let mut expected = vec![("Namespace", "namespace"), ("ConfigMap", "config")];
        expected.push(("Deployment", "entrypoint"));
        for process in &manifest.processes {
            expected.push(("Deployment", process.name.as_str()));
        }
        expected.push(("Service", "entrypoint"));
        assert_eq!(kinds, expected);
        let pod = template_pod(&planned[2]);
        assert_eq!((pod.kind, pod.role.as_str()), ("Pod", "entrypoint"));
        assert_eq!(
            pod.object["spec"], planned[2].object["spec"]["template"]["spec"],
            "the pod is the template's"
        );
        assert_eq!(
            planned[3].object["metadata"]["ownerReferences"][0]["uid"],
            OWNER_UID_UNKNOWN
        );
    }
}
