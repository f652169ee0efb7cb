//! What marks the console's objects: the field manager, labels and
//! annotations, the names derived from a version, and the owner reference
//! that lets the garbage collector remove a version's objects with its
//! ConfigMap.

use std::collections::BTreeMap;

use lifecycle::{
    Manifest,
    manifest::{ENTRYPOINT, resource_name},
};
use serde_json::{Value, json};

/// The one field manager every apply of the console uses.
pub const FIELD_MANAGER: &str = "runtime-console";
pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
pub const PART_OF: &str = "app.kubernetes.io/part-of";
pub const RUNTIME_LABEL: &str = "runtime-console.io/runtime";
pub const VERSION_LABEL: &str = "runtime-console.io/version";
pub const NODE_LABEL: &str = "runtime-console.io/node";
/// The Ingress annotation naming the change of the runtime's settings it
/// was applied from.
pub const SETTINGS_REVISION: &str = "runtime-console.io/settings-revision";
/// The pod template annotation that changes with the version's
/// configuration, so that a change rolls the pods.
pub const CONFIG_CHECKSUM: &str = "runtime-console.io/config-checksum";
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

pub(super) fn labels(
    runtime: &str,
    version: Option<&str>,
    node: Option<&str>,
) -> BTreeMap<String, String> {
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
pub(super) fn selector_labels(
    runtime: &str,
    version: &str,
    node: &str,
) -> BTreeMap<String, String> {
    BTreeMap::from([
        (RUNTIME_LABEL.to_owned(), runtime.to_owned()),
        (VERSION_LABEL.to_owned(), version.to_owned()),
        (NODE_LABEL.to_owned(), node.to_owned()),
    ])
}

/// The owner reference of a version's objects: its ConfigMap.
pub(super) fn owner(manifest: &Manifest, owner_uid: &str) -> Value {
    json!([{
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "name": config_map_name(&manifest.name),
        "uid": owner_uid,
        "blockOwnerDeletion": true,
    }])
}
