//! The controllers a cluster runs for the console's resources, simulated:
//! Deployment → ReplicaSet → Pod, pod scheduling and readiness with the
//! configured delay, image-pull and crash-loop failures by image name, and
//! garbage collection through ownerReferences.

mod deployments;
pub mod events;
mod objects;
mod pods;
mod replicasets;
mod scheduler;

use std::{sync::Arc, time::Duration};

use serde_json::{Value, json};

use crate::Emulator;
use deployments::deployments;
pub use objects::NODE;
use objects::set_status;
use pods::pods;
use replicasets::replicasets;

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
