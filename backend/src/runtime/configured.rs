//! The objects and pod parts that carry a version's declared values (see
//! `configuration`): the Secret, the ConfigMap of plain files, and in
//! each pod the secret variables and the files volume. The version's main
//! ConfigMap, with the plain variables, is `resources::config_map`.

use std::collections::BTreeMap;

use lifecycle::Manifest;
use serde_json::{Value, json};

use super::labels::{labels, owner};
use crate::configuration::{Settled, files_name, secret_name};

/// The declared files that are not secret, mounted under `FILES_DIR`
/// (not in the exported ConfigMap: a file is no environment variable).
pub fn files_config_map(
    runtime: &str,
    manifest: &Manifest,
    settled: &Settled,
    owner_uid: &str,
) -> Option<Value> {
    (!settled.files.is_empty()).then(|| {
        json!({
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": files_name(&manifest.name),
                "namespace": runtime,
                "labels": labels(runtime, Some(&manifest.name), None),
                "ownerReferences": owner(manifest, owner_uid),
            },
            "data": settled.files,
        })
    })
}

/// Every secret value, base64 as a Secret's `data` is.
pub fn secret(
    runtime: &str,
    manifest: &Manifest,
    settled: &Settled,
    owner_uid: &str,
) -> Option<Value> {
    use base64::{Engine as _, engine::general_purpose::STANDARD};
    settled.has_secrets().then(|| {
        let data: BTreeMap<&String, String> = settled
            .secret_variables
            .iter()
            .chain(&settled.secret_files)
            .map(|(name, value)| (name, STANDARD.encode(value)))
            .collect();
        json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "Opaque",
            "metadata": {
                "name": secret_name(&manifest.name),
                "namespace": runtime,
                "labels": labels(runtime, Some(&manifest.name), None),
                "ownerReferences": owner(manifest, owner_uid),
            },
            "data": data,
        })
    })
}

/// The container's side of the declared variables: each secret variable
/// from the Secret, and the files (plain and secret) in one read-only
/// projected volume.
pub(super) fn mount(pod: &mut Value, version: &str, settled: &Settled) {
    if let Some(env) = pod["containers"][0]["env"].as_array_mut() {
        env.extend(settled.secret_variables.keys().map(|name| {
            json!({"name": name, "valueFrom": {"secretKeyRef": {"name": secret_name(version), "key": name}}})
        }));
    }
    let items = |files: &BTreeMap<String, String>| -> Vec<Value> {
        files
            .keys()
            .map(|name| json!({"key": name, "path": name}))
            .collect()
    };
    let mut sources = Vec::new();
    if !settled.files.is_empty() {
        sources.push(
            json!({"configMap": {"name": files_name(version), "items": items(&settled.files)}}),
        );
    }
    if !settled.secret_files.is_empty() {
        sources.push(json!({"secret": {"name": secret_name(version), "items": items(&settled.secret_files)}}));
    }
    if sources.is_empty() {
        return;
    }
    if let Some(mounts) = pod["containers"][0]["volumeMounts"].as_array_mut() {
        mounts.push(json!({"name": "files", "mountPath": lifecycle::variables::FILES_DIR, "readOnly": true}));
    }
    if let Some(volumes) = pod["volumes"].as_array_mut() {
        volumes.push(json!({"name": "files", "projected": {"sources": sources}}));
    }
}
