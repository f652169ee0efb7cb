//! What every controller reads and writes of the objects it manages:
//! owners, replicas, template hashes and status writes.

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::{
    Emulator,
    resources::ResourceType,
    store::{Part, name_of, uid_of},
};

/// The one node's name.
pub const NODE: &str = "emulator-node";

pub(super) fn namespace_of(object: &Value) -> String {
    object["metadata"]["namespace"]
        .as_str()
        .unwrap_or("")
        .to_owned()
}

pub(super) fn owner_ref(owner: &Value, rt: ResourceType) -> Value {
    json!({
        "apiVersion": rt.api_version(), "kind": rt.kind, "name": name_of(owner),
        "uid": uid_of(owner), "controller": true, "blockOwnerDeletion": true,
    })
}

pub(super) fn terminating(object: &Value) -> bool {
    object.pointer("/metadata/deletionTimestamp").is_some()
}

/// Objects of `rt` by the uid of each owner they name: one snapshot per
/// pass instead of one per owner (which made a pass quadratic).
pub(super) fn children_by_owner(
    emulator: &Emulator,
    rt: ResourceType,
) -> HashMap<String, Vec<Value>> {
    let mut index: HashMap<String, Vec<Value>> = HashMap::new();
    for object in emulator.store.snapshot(rt) {
        let owners: Vec<String> = object["metadata"]["ownerReferences"]
            .as_array()
            .map(|refs| {
                refs.iter()
                    .filter_map(|r| r["uid"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        for owner in owners {
            index.entry(owner).or_default().push(object.clone());
        }
    }
    index
}

pub(super) fn replicas(object: &Value) -> i64 {
    object
        .pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(1)
}

/// FNV-1a of the pod template, as a short label-safe hash.
pub(super) fn template_hash(template: &Value) -> String {
    // Null fields are absent ones: `kubectl rollout undo` sends back the
    // old template with `creationTimestamp: null`, and it is the same
    // template.
    fn without_nulls(value: &Value) -> Value {
        match value {
            Value::Object(map) => Value::Object(
                map.iter()
                    .filter(|(_, v)| !v.is_null())
                    .map(|(k, v)| (k.clone(), without_nulls(v)))
                    .collect(),
            ),
            Value::Array(items) => Value::Array(items.iter().map(without_nulls).collect()),
            other => other.clone(),
        }
    }
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in without_nulls(template).to_string().bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    (0..10)
        .map(|i| ALPHABET[((hash >> (i * 6)) % ALPHABET.len() as u64) as usize] as char)
        .collect()
}

pub(super) fn set_status(
    emulator: &Emulator,
    rt: ResourceType,
    object: &Value,
    status: Value,
) -> usize {
    if object.get("status") == Some(&status) {
        return 0;
    }
    let mut next = object.clone();
    next["status"] = status;
    match write_back(emulator, rt, next, Part::Status) {
        Ok(_) => 1,
        Err(error) => {
            tracing::debug!(%error, "status update skipped");
            0
        }
    }
}

pub(super) fn count_ready(pods: &[Value]) -> i64 {
    pods.iter().filter(|p| pod_ready(p)).count() as i64
}

pub(super) fn pod_ready(pod: &Value) -> bool {
    pod["status"]["conditions"].as_array().is_some_and(|cs| {
        cs.iter()
            .any(|c| c["type"] == "Ready" && c["status"] == "True")
    })
}

/// Writes a controller's changed copy of an object back, whatever version
/// it was read at: the controllers own these fields, so the last write is
/// the one that counts.
pub(super) fn write_back(
    emulator: &Emulator,
    rt: ResourceType,
    mut next: Value,
    part: Part,
) -> crate::errors::ApiResult<Value> {
    if let Some(m) = next["metadata"].as_object_mut() {
        m.remove("resourceVersion");
    }
    let (namespace, name) = (namespace_of(&next), name_of(&next));
    emulator.store.update(rt, &namespace, &name, next, part)
}
