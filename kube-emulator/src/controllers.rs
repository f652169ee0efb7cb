//! The controllers a cluster runs for the console's resources, simulated:
//! Deployment → ReplicaSet → Pod, pod scheduling and readiness with the
//! configured delay, image-pull and crash-loop failures by image name, and
//! garbage collection through ownerReferences.

use std::{collections::HashMap, sync::Arc, time::Duration};

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::{
    Emulator,
    resources::{self, ResourceType},
    store::{self, Part, Propagation, name_of, uid_of},
};

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
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in template.to_string().bytes() {
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

fn deployments(emulator: &Emulator) -> usize {
    let mut work = 0;
    let sets_by_owner = children_by_owner(emulator, resources::REPLICASETS);
    for deployment in emulator.store.snapshot(resources::DEPLOYMENTS) {
        if terminating(&deployment) {
            continue;
        }
        let work_before = work;
        let owned = sets_by_owner
            .get(&uid_of(&deployment))
            .cloned()
            .unwrap_or_default();
        let namespace = namespace_of(&deployment);
        let template = deployment["spec"]["template"].clone();
        let hash = template_hash(&template);
        let rs_name = format!("{}-{hash}", name_of(&deployment));
        let desired = replicas(&deployment);
        if !owned.iter().any(|rs| name_of(rs) == rs_name) {
            let mut template = template.clone();
            template["metadata"]["labels"]["pod-template-hash"] = json!(hash);
            let mut selector = deployment["spec"]["selector"].clone();
            selector["matchLabels"]["pod-template-hash"] = json!(hash);
            let rs = json!({
                "metadata": {
                    "name": rs_name, "namespace": namespace,
                    "labels": template["metadata"]["labels"].clone(),
                    "ownerReferences": [owner_ref(&deployment, resources::DEPLOYMENTS)],
                },
                "spec": {"replicas": desired, "selector": selector, "template": template},
            });
            match emulator
                .store
                .create(resources::REPLICASETS, &namespace, rs)
            {
                Ok(_) => work += 1,
                Err(error) => tracing::warn!(%error, "replicaset not created"),
            }
        }
        // The current set gets the replicas; older sets are scaled away.
        for rs in &owned {
            let want = if name_of(rs) == rs_name { desired } else { 0 };
            if replicas(rs) != want {
                let mut next = rs.clone();
                next["spec"]["replicas"] = json!(want);
                if let Some(m) = next["metadata"].as_object_mut() {
                    m.remove("resourceVersion");
                }
                if emulator
                    .store
                    .update(
                        resources::REPLICASETS,
                        &namespace,
                        &name_of(rs),
                        next,
                        Part::Main,
                    )
                    .is_ok()
                {
                    work += 1;
                }
            }
        }
        if work > work_before {
            // Its sets changed in this pass: the next pass reports them.
            continue;
        }
        let sets = owned;
        let sum = |field: &str| -> i64 {
            sets.iter()
                .map(|rs| rs["status"][field].as_i64().unwrap_or(0))
                .sum()
        };
        let updated = sets
            .iter()
            .find(|rs| name_of(rs) == rs_name)
            .map(|rs| rs["status"]["replicas"].as_i64().unwrap_or(0))
            .unwrap_or(0);
        let available = sum("availableReplicas");
        let previous_conditions = deployment["status"]["conditions"].clone();
        let condition = |kind: &str, ok: bool, reason: &str, message: String| {
            let status = if ok { "True" } else { "False" };
            let since = previous_conditions
                .as_array()
                .and_then(|cs| {
                    cs.iter()
                        .find(|c| c["type"] == kind && c["status"] == status)
                })
                .and_then(|c| c["lastTransitionTime"].as_str().map(str::to_owned))
                .unwrap_or_else(store::now);
            json!({"type": kind, "status": status, "reason": reason, "message": message,
                   "lastTransitionTime": since, "lastUpdateTime": since})
        };
        let complete = updated == desired && available >= desired;
        let status = json!({
            "observedGeneration": deployment["metadata"]["generation"],
            "replicas": sum("replicas"),
            "updatedReplicas": updated,
            "readyReplicas": sum("readyReplicas"),
            "availableReplicas": available,
            "unavailableReplicas": (desired - available).max(0),
            "conditions": [
                condition("Available", available >= desired,
                    if available >= desired { "MinimumReplicasAvailable" } else { "MinimumReplicasUnavailable" },
                    format!("Deployment has {available} of {desired} replicas available.")),
                condition("Progressing", true,
                    if complete { "NewReplicaSetAvailable" } else { "ReplicaSetUpdated" },
                    format!("ReplicaSet \"{rs_name}\" {}.", if complete { "has successfully progressed" } else { "is progressing" })),
            ],
        });
        work += set_status(emulator, resources::DEPLOYMENTS, &deployment, status);
    }
    work
}

fn replicasets(emulator: &Emulator) -> usize {
    let mut work = 0;
    let pods_by_owner = children_by_owner(emulator, resources::PODS);
    for rs in emulator.store.snapshot(resources::REPLICASETS) {
        if terminating(&rs) {
            continue;
        }
        let namespace = namespace_of(&rs);
        let desired = replicas(&rs);
        let mut pods: Vec<Value> = pods_by_owner
            .get(&uid_of(&rs))
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|p| !terminating(p))
            .collect();
        let have = pods.len() as i64;
        for _ in have..desired {
            let mut template = rs["spec"]["template"].clone();
            let name = format!("{}-{}", name_of(&rs), store::random_suffix());
            template["metadata"]["name"] = json!(name);
            template["metadata"]["namespace"] = json!(namespace);
            template["metadata"]["ownerReferences"] =
                json!([owner_ref(&rs, resources::REPLICASETS)]);
            let pod =
                json!({"metadata": template["metadata"].clone(), "spec": template["spec"].clone()});
            match emulator.store.create(resources::PODS, &namespace, pod) {
                Ok(created) => {
                    pods.push(created);
                    work += 1;
                }
                Err(error) => tracing::warn!(%error, "pod not created"),
            }
        }
        if have > desired {
            // Newest go first, not-ready before ready.
            pods.sort_by_key(|p| {
                (
                    pod_ready(p),
                    std::cmp::Reverse(
                        p["metadata"]["creationTimestamp"]
                            .as_str()
                            .unwrap_or("")
                            .to_owned(),
                    ),
                )
            });
            let surplus = (have - desired) as usize;
            for pod in pods.drain(..surplus) {
                if emulator
                    .store
                    .delete(
                        resources::PODS,
                        &namespace,
                        &name_of(&pod),
                        Propagation::Background,
                        None,
                        None,
                    )
                    .is_ok()
                {
                    work += 1;
                }
            }
        }
        let ready = count_ready(&pods);
        let status = json!({
            "observedGeneration": rs["metadata"]["generation"],
            "replicas": pods.len(),
            "fullyLabeledReplicas": pods.len(),
            "readyReplicas": ready,
            "availableReplicas": ready,
        });
        work += set_status(emulator, resources::REPLICASETS, &rs, status);
    }
    work
}

/// A pod's status at `now`, from its spec and age.
fn pod_status(
    emulator: &Emulator,
    pod: &Value,
    created: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Value {
    let age = (now - created).to_std().unwrap_or_default();
    let scheduled_at = pod["metadata"]["creationTimestamp"].clone();
    let ready_after = emulator.config.ready_after;
    let previous = &pod["status"];
    let since = |kind: &str, status: &str| -> Value {
        previous["conditions"]
            .as_array()
            .and_then(|cs| {
                cs.iter()
                    .find(|c| c["type"] == kind && c["status"] == status)
            })
            .map(|c| c["lastTransitionTime"].clone())
            .unwrap_or_else(|| json!(store::now()))
    };
    let containers: Vec<Value> = pod["spec"]["containers"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut all_ready = true;
    let mut phase = "Running";
    let statuses: Vec<Value> = containers
        .iter()
        .map(|c| {
            let image = c["image"].as_str().unwrap_or("");
            let name = c["name"].clone();
            let base = json!({"name": name, "image": image, "imageID": "", "started": false, "ready": false, "restartCount": 0});
            let mut status = base;
            if age < ready_after {
                all_ready = false;
                phase = "Pending";
                status["state"] = json!({"waiting": {"reason": "ContainerCreating"}});
            } else if image.contains("fail-pull") {
                all_ready = false;
                phase = "Pending";
                let reason = if age < ready_after * 2 { "ErrImagePull" } else { "ImagePullBackOff" };
                status["state"] = json!({"waiting": {"reason": reason,
                    "message": format!("Back-off pulling image \"{image}\": failed to pull and unpack image: not found")}});
            } else if image.contains("crashloop") {
                all_ready = false;
                let restarts = ((age - ready_after).as_millis() / emulator.config.crash_interval.as_millis().max(1)) as i64;
                status["restartCount"] = json!(restarts);
                status["state"] = json!({"waiting": {"reason": "CrashLoopBackOff",
                    "message": format!("back-off restarting failed container {} in pod {}", c["name"].as_str().unwrap_or(""), name_of(pod))}});
                status["lastState"] = json!({"terminated": {"exitCode": 1, "reason": "Error"}});
            } else {
                let started_at = previous["containerStatuses"]
                    .as_array()
                    .and_then(|cs| cs.iter().find(|s| s["name"] == c["name"]))
                    .and_then(|s| s.pointer("/state/running/startedAt").cloned())
                    .unwrap_or_else(|| json!(store::now()));
                status["state"] = json!({"running": {"startedAt": started_at}});
                status["started"] = json!(true);
                status["ready"] = json!(true);
            }
            status
        })
        .collect();
    let ready = if all_ready { "True" } else { "False" };
    let initialized = if age < ready_after { "False" } else { "True" };
    json!({
        "phase": phase,
        "hostIP": "10.0.0.1",
        "podIP": format!("10.1.{}.{}", (uid_of(pod).len() % 250) + 1, (name_of(pod).len() % 250) + 1),
        "startTime": scheduled_at,
        "qosClass": "BestEffort",
        "conditions": [
            {"type": "PodScheduled", "status": "True", "lastTransitionTime": since("PodScheduled", "True")},
            {"type": "Initialized", "status": initialized, "lastTransitionTime": since("Initialized", initialized)},
            {"type": "ContainersReady", "status": ready, "lastTransitionTime": since("ContainersReady", ready)},
            {"type": "Ready", "status": ready, "lastTransitionTime": since("Ready", ready)},
        ],
        "containerStatuses": statuses,
    })
}

fn pods(emulator: &Emulator) -> usize {
    let now = Utc::now();
    let mut work = 0;
    let pods = emulator.store.snapshot(resources::PODS);
    // creationTimestamp has whole seconds, too coarse for a readiness delay
    // of milliseconds: age pods from when the controller first saw them.
    let mut born = emulator
        .pods_born
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let live: std::collections::HashSet<String> = pods.iter().map(uid_of).collect();
    born.retain(|uid, _| live.contains(uid));
    for pod in pods {
        if terminating(&pod) {
            continue;
        }
        let created = *born.entry(uid_of(&pod)).or_insert(now);
        if pod["spec"]["nodeName"].is_null() {
            let mut next = pod.clone();
            next["spec"]["nodeName"] = json!("emulator-node");
            if let Some(m) = next["metadata"].as_object_mut() {
                m.remove("resourceVersion");
            }
            let _ = emulator.store.update(
                resources::PODS,
                &namespace_of(&pod),
                &name_of(&pod),
                next,
                Part::Main,
            );
            work += 1;
            continue;
        }
        let status = pod_status(emulator, &pod, created, now);
        // Restart counts and other clock-driven fields change only when
        // something a watcher cares about does.
        work += set_status(emulator, resources::PODS, &pod, status);
    }
    work
}
