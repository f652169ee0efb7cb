//! The ReplicaSet controller: pods created and deleted to the desired
//! count, the surplus chosen as a real controller chooses it.

use serde_json::{Value, json};

use super::{
    events,
    objects::{
        children_by_owner, count_ready, namespace_of, owner_ref, pod_ready, replicas, set_status,
        terminating,
    },
};
use crate::{
    Emulator, resources,
    store::{self, Propagation, name_of, uid_of},
};

pub(super) fn replicasets(emulator: &Emulator) -> usize {
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
        // A refused create (a quota, a namespace going away) is retried
        // after a pause, as the controller's rate limiter does, not on
        // every pass.
        let uid = uid_of(&rs);
        let now = std::time::Instant::now();
        let backing_off = emulator
            .create_backoff
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&uid)
            .is_some_and(|until| *until > now);
        let mut failure: Option<String> = rs["status"]["conditions"]
            .as_array()
            .and_then(|cs| cs.iter().find(|c| c["type"] == "ReplicaFailure"))
            .and_then(|c| c["message"].as_str().map(str::to_owned));
        for _ in have..desired {
            if backing_off {
                break;
            }
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
                    record(
                        emulator,
                        &rs,
                        "SuccessfulCreate",
                        format!("Created pod: {name}"),
                        false,
                    );
                    pods.push(created);
                    failure = None;
                    work += 1;
                }
                Err(error) => {
                    tracing::debug!(%error, "pod not created");
                    let message = format!("Error creating: {error}");
                    record(emulator, &rs, "FailedCreate", message.clone(), true);
                    failure = Some(message);
                    emulator
                        .create_backoff
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .insert(uid.clone(), now + std::time::Duration::from_secs(1));
                    break;
                }
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
                    let message = format!("Deleted pod: {}", name_of(&pod));
                    record(emulator, &rs, "SuccessfulDelete", message, false);
                    work += 1;
                }
            }
        }
        let ready = count_ready(&pods);
        let mut status = json!({
            "observedGeneration": rs["metadata"]["generation"],
            "replicas": pods.len(),
            "fullyLabeledReplicas": pods.len(),
            "readyReplicas": ready,
            "availableReplicas": ready,
        });
        if let Some(message) = failure.filter(|_| (pods.len() as i64) < desired) {
            let since = rs["status"]["conditions"]
                .as_array()
                .and_then(|cs| cs.iter().find(|c| c["type"] == "ReplicaFailure"))
                .map(|c| c["lastTransitionTime"].clone())
                .unwrap_or_else(|| json!(store::now()));
            status["conditions"] = json!([{"type": "ReplicaFailure", "status": "True",
                "reason": "FailedCreate", "message": message, "lastTransitionTime": since}]);
        }
        work += set_status(emulator, resources::REPLICASETS, &rs, status);
    }
    work
}

fn record(emulator: &Emulator, rs: &Value, reason: &str, message: String, warning: bool) {
    events::record(
        emulator,
        events::REPLICASET_CONTROLLER,
        events::Happening {
            object: rs,
            field_path: None,
            reason,
            message,
            warning,
        },
    );
}
