//! The controllers a cluster runs for the console's resources, simulated:
//! Deployment → ReplicaSet → Pod, pod scheduling and readiness with the
//! configured delay, image-pull and crash-loop failures by image name, and
//! garbage collection through ownerReferences.

mod deployments;
pub mod events;
mod pods;
mod replicasets;
mod scheduler;

use std::{collections::HashMap, sync::Arc, time::Duration};

use serde_json::{Value, json};

use crate::{
    Emulator,
    resources::ResourceType,
    store::{Part, name_of, uid_of},
};
use deployments::deployments;
use pods::pods;
use replicasets::replicasets;

/// The one node's name.
pub const NODE: &str = "emulator-node";

/// The Node object the emulator serves, from its configuration: what
/// `kubectl get nodes` and `kubectl describe node` show.
pub fn node_object(config: &crate::NodeConfig) -> Value {
    let labels: serde_json::Map<String, Value> = config
        .labels
        .iter()
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect();
    let cpu = format!("{}m", config.cpu_milli);
    let memory = format!("{}Ki", config.memory_milli / 1000 / 1024);
    let resources = json!({"cpu": cpu, "memory": memory, "pods": config.pods.to_string(), "ephemeral-storage": "100Gi"});
    let now = crate::store::now();
    json!({
        "metadata": {"name": NODE, "labels": labels},
        "spec": {"podCIDR": "10.1.0.0/16"},
        "status": {
            "capacity": resources, "allocatable": resources,
            "conditions": [
                {"type": "MemoryPressure", "status": "False", "reason": "KubeletHasSufficientMemory", "message": "kubelet has sufficient memory available", "lastHeartbeatTime": now, "lastTransitionTime": now},
                {"type": "DiskPressure", "status": "False", "reason": "KubeletHasNoDiskPressure", "message": "kubelet has no disk pressure", "lastHeartbeatTime": now, "lastTransitionTime": now},
                {"type": "PIDPressure", "status": "False", "reason": "KubeletHasSufficientPID", "message": "kubelet has sufficient PID available", "lastHeartbeatTime": now, "lastTransitionTime": now},
                {"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status", "lastHeartbeatTime": now, "lastTransitionTime": now},
            ],
            "addresses": [{"type": "InternalIP", "address": "10.0.0.1"}, {"type": "Hostname", "address": NODE}],
            "nodeInfo": {"kubeletVersion": "v1.34.0-emulator", "kubeProxyVersion": "v1.34.0-emulator", "operatingSystem": "linux", "architecture": "amd64",
                "containerRuntimeVersion": "emulated://1.0", "osImage": "kube-emulator", "kernelVersion": "n/a",
                "machineID": "emulator", "systemUUID": "emulator", "bootID": "emulator"},
        },
    })
}

/// Runs until the emulator stops: reconciles after every kick and on a
/// short tick for the timed transitions.
pub async fn run(emulator: Arc<Emulator>) {
    let tick = Duration::from_millis(50);
    loop {
        reconcile(&emulator);
        tokio::select! {
            _ = emulator.kicks.notified() => {}
            _ = tokio::time::sleep(tick) => {}
        }
    }
}

fn reconcile(emulator: &Emulator) {
    // A few passes settle chains (deployment → rs → pods) in one go.
    for _ in 0..4 {
        let mut work = 0;
        work += deployments(emulator);
        work += replicasets(emulator);
        work += pods(emulator);
        work += quotas(emulator);
        work += emulator.store.collect_garbage();
        if work == 0 {
            break;
        }
    }
}

fn namespace_of(object: &Value) -> String {
    object["metadata"]["namespace"]
        .as_str()
        .unwrap_or("")
        .to_owned()
}

fn owner_ref(owner: &Value, rt: ResourceType) -> Value {
    json!({
        "apiVersion": rt.api_version(), "kind": rt.kind, "name": name_of(owner),
        "uid": uid_of(owner), "controller": true, "blockOwnerDeletion": true,
    })
}

fn terminating(object: &Value) -> bool {
    object.pointer("/metadata/deletionTimestamp").is_some()
}

/// Objects of `rt` by the uid of each owner they name: one snapshot per
/// pass instead of one per owner (which made a pass quadratic).
fn children_by_owner(emulator: &Emulator, rt: ResourceType) -> HashMap<String, Vec<Value>> {
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

fn replicas(object: &Value) -> i64 {
    object
        .pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(1)
}

/// FNV-1a of the pod template, as a short label-safe hash.
fn template_hash(template: &Value) -> String {
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

fn set_status(emulator: &Emulator, rt: ResourceType, object: &Value, status: Value) -> usize {
    if object.get("status") == Some(&status) {
        return 0;
    }
    let mut next = object.clone();
    next["status"] = status;
    if let Some(m) = next["metadata"].as_object_mut() {
        m.remove("resourceVersion");
    }
    match emulator.store.update(
        rt,
        &namespace_of(object),
        &name_of(object),
        next,
        Part::Status,
    ) {
        Ok(_) => 1,
        Err(error) => {
            tracing::debug!(%error, "status update skipped");
            0
        }
    }
}

fn count_ready(pods: &[Value]) -> i64 {
    pods.iter().filter(|p| pod_ready(p)).count() as i64
}

fn pod_ready(pod: &Value) -> bool {
    pod["status"]["conditions"].as_array().is_some_and(|cs| {
        cs.iter()
            .any(|c| c["type"] == "Ready" && c["status"] == "True")
    })
}

/// The quota controller: each ResourceQuota's `status.used` follows its
/// namespace.
fn quotas(emulator: &Emulator) -> usize {
    emulator
        .store
        .quotas_with_usage()
        .into_iter()
        .map(|(quota, status)| {
            set_status(emulator, crate::resources::RESOURCEQUOTAS, &quota, status)
        })
        .sum()
}
