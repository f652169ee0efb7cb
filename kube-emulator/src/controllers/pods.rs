//! The scheduler and the kubelet of the emulated node: pods bound to the
//! node, then their containers' states from their images and age.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::{
    events::{self, Happening},
    objects::{NODE, namespace_of, set_status, terminating, write_back},
    scheduler,
};
use crate::{
    Emulator, resources,
    store::{self, Part, name_of, uid_of},
};

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
            } else if private(image) && !may_pull(emulator, pod) {
                all_ready = false;
                phase = "Pending";
                let reason = if age < ready_after * 2 { "ErrImagePull" } else { "ImagePullBackOff" };
                status["state"] = json!({"waiting": {"reason": reason,
                    "message": format!("Failed to pull image \"{image}\": pull access denied for {image}, repository does not exist or may require authorization: authorization failed: no basic auth credentials")}});
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
        "qosClass": pod["status"]["qosClass"],
        "conditions": [
            {"type": "PodScheduled", "status": "True", "lastTransitionTime": since("PodScheduled", "True")},
            {"type": "Initialized", "status": initialized, "lastTransitionTime": since("Initialized", initialized)},
            {"type": "ContainersReady", "status": ready, "lastTransitionTime": since("ContainersReady", ready)},
            {"type": "Ready", "status": ready, "lastTransitionTime": since("Ready", ready)},
        ],
        "containerStatuses": statuses,
    })
}

/// An image in a registry that wants credentials: its repository path has
/// a `private` segment (`registry.example.com/private/app:1`), as the
/// README documents.
fn private(image: &str) -> bool {
    image
        .split('/')
        .rev()
        .skip(1)
        .any(|segment| segment == "private")
}

/// The pod names a pull secret (`imagePullSecrets`) that exists in its
/// namespace and holds registry credentials.
fn may_pull(emulator: &Emulator, pod: &Value) -> bool {
    let namespace = namespace_of(pod);
    pod["spec"]["imagePullSecrets"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["name"].as_str())
        .any(|name| {
            emulator
                .store
                .get(resources::SECRETS, &namespace, name)
                .is_ok_and(|secret| {
                    matches!(
                        secret["type"].as_str(),
                        Some("kubernetes.io/dockerconfigjson" | "kubernetes.io/dockercfg")
                    )
                })
        })
}

pub(super) fn pods(emulator: &Emulator) -> usize {
    let now = Utc::now();
    let mut work = 0;
    let pods = emulator.store.snapshot(resources::PODS);
    // creationTimestamp has whole seconds, too coarse for a readiness delay
    // of milliseconds: age pods from when they were bound to the node.
    let mut born = emulator
        .pods_born
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let live: std::collections::HashSet<String> = pods.iter().map(uid_of).collect();
    born.retain(|uid, _| live.contains(uid));
    let mut node = scheduler::Node::new(&emulator.config.node, &pods);
    for pod in pods {
        if terminating(&pod) {
            continue;
        }
        if pod["spec"]["nodeName"].is_null() {
            work += schedule(emulator, &mut node, &pod);
            born.insert(uid_of(&pod), now);
            continue;
        }
        let created = *born.entry(uid_of(&pod)).or_insert(now);
        let status = pod_status(emulator, &pod, created, now);
        let changed = set_status(emulator, resources::PODS, &pod, status.clone());
        if changed > 0 {
            container_events(emulator, &pod, &pod["status"], &status);
        }
        // Restart counts and other clock-driven fields change only when
        // something a watcher cares about does.
        work += changed;
    }
    work
}

/// Binds `pod` to the node if it fits; otherwise leaves it Pending with
/// the scheduler's reason, as `kube-scheduler` reports it.
fn schedule(emulator: &Emulator, node: &mut scheduler::Node, pod: &Value) -> usize {
    match node.fit(pod) {
        Ok(()) => {
            let mut next = pod.clone();
            next["spec"]["nodeName"] = json!(NODE);
            let bound = write_back(emulator, resources::PODS, next, Part::Main);
            if bound.is_ok() {
                node.bind(pod);
                let message = format!(
                    "Successfully assigned {}/{} to {NODE}",
                    namespace_of(pod),
                    name_of(pod)
                );
                events::record(
                    emulator,
                    events::SCHEDULER,
                    Happening {
                        object: pod,
                        field_path: None,
                        reason: "Scheduled",
                        message,
                        warning: false,
                    },
                );
            }
            1
        }
        Err(message) => {
            let previous = pod["status"]["conditions"]
                .as_array()
                .and_then(|cs| cs.iter().find(|c| c["type"] == "PodScheduled"))
                .cloned();
            if previous
                .as_ref()
                .is_some_and(|c| c["message"] == message.as_str())
            {
                return 0;
            }
            let status = json!({
                "phase": "Pending",
                "qosClass": pod["status"]["qosClass"],
                "conditions": [{
                    "type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                    "message": message, "lastProbeTime": null, "lastTransitionTime": store::now(),
                }],
            });
            let changed = set_status(emulator, resources::PODS, pod, status);
            events::record(
                emulator,
                events::SCHEDULER,
                Happening {
                    object: pod,
                    field_path: None,
                    reason: "FailedScheduling",
                    message,
                    warning: true,
                },
            );
            changed
        }
    }
}

fn waiting_reason(status: Option<&Value>) -> Option<&str> {
    status?.pointer("/state/waiting/reason")?.as_str()
}

/// The kubelet's events for what changed in the containers' states.
fn container_events(emulator: &Emulator, pod: &Value, before: &Value, after: &Value) {
    let containers = pod["spec"]["containers"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let find = |status: &Value, name: &Value| -> Option<Value> {
        status["containerStatuses"]
            .as_array()
            .and_then(|cs| cs.iter().find(|c| &c["name"] == name))
            .cloned()
    };
    for container in containers {
        let name = container["name"].as_str().unwrap_or("").to_owned();
        let image = container["image"].as_str().unwrap_or("").to_owned();
        let old = find(before, &container["name"]);
        let new = find(after, &container["name"]);
        let Some(new) = new else { continue };
        let old_reason = waiting_reason(old.as_ref()).map(str::to_owned);
        let new_reason = waiting_reason(Some(&new)).map(str::to_owned);
        let was_running = old
            .as_ref()
            .is_some_and(|o| o.pointer("/state/running").is_some());
        let restarts = |s: Option<&Value>| s.and_then(|s| s["restartCount"].as_i64()).unwrap_or(0);
        let mut emit = |reason: &str, message: String, warning: bool| {
            events::record(
                emulator,
                events::KUBELET,
                Happening {
                    object: pod,
                    field_path: Some(format!("spec.containers{{{name}}}")),
                    reason,
                    message,
                    warning,
                },
            );
        };
        let started = |emit: &mut dyn FnMut(&str, String, bool)| {
            emit(
                "Pulled",
                format!(
                    "Successfully pulled image \"{image}\" in 1.5s (1.5s including waiting). Image size: 0 bytes."
                ),
                false,
            );
            emit("Created", format!("Created container: {name}"), false);
            emit("Started", format!("Started container {name}"), false);
        };
        if old.is_none() {
            emit("Pulling", format!("Pulling image \"{image}\""), false);
        }
        match new_reason.as_deref() {
            None if new.pointer("/state/running").is_some() && !was_running => started(&mut emit),
            Some("ErrImagePull") if old_reason.as_deref() != Some("ErrImagePull") => {
                emit(
                    "Failed",
                    format!(
                        "Failed to pull image \"{image}\": failed to pull and unpack image \"{image}\": not found"
                    ),
                    true,
                );
                emit("Failed", "Error: ErrImagePull".into(), true);
            }
            Some("ImagePullBackOff") if old_reason.as_deref() != Some("ImagePullBackOff") => {
                emit(
                    "BackOff",
                    format!("Back-off pulling image \"{image}\""),
                    false,
                );
                emit("Failed", "Error: ImagePullBackOff".into(), true);
            }
            Some("CrashLoopBackOff") => {
                if old_reason.as_deref() != Some("CrashLoopBackOff") {
                    started(&mut emit);
                }
                if old_reason.as_deref() != Some("CrashLoopBackOff")
                    || restarts(Some(&new)) > restarts(old.as_ref())
                {
                    let message = format!(
                        "Back-off restarting failed container {name} in pod {}_{}({})",
                        name_of(pod),
                        namespace_of(pod),
                        uid_of(pod)
                    );
                    emit("BackOff", message, true);
                }
            }
            _ => {}
        }
    }
}
