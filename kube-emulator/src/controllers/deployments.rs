//! The Deployment controller, as `pkg/controller/deployment` runs it: a
//! ReplicaSet per pod template (reused when a template comes back, as
//! `kubectl rollout undo` does), numbered by the `deployment.kubernetes.io/
//! revision` annotation; a RollingUpdate moves replicas from the old sets
//! to the new one within `maxSurge` and `maxUnavailable`, a Recreate scales
//! the old ones away first; the status carries `observedGeneration` and the
//! `Available` and `Progressing` conditions with their real reasons.

use serde_json::{Value, json};

use super::{
    events,
    objects::{
        children_by_owner, namespace_of, owner_ref, replicas, set_status, template_hash,
        terminating, write_back,
    },
};
use crate::{
    Emulator, resources,
    store::{self, Part, name_of, uid_of},
};

const REVISION: &str = "deployment.kubernetes.io/revision";

fn revision(object: &Value) -> i64 {
    object["metadata"]["annotations"][REVISION]
        .as_str()
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

/// `maxSurge`/`maxUnavailable`: a count, or a percentage of `desired`
/// (surge rounded up, unavailability down, as `ResolveFenceposts`).
fn fencepost(value: &Value, desired: i64, round_up: bool) -> i64 {
    match value {
        Value::Number(n) => n.as_i64().unwrap_or(0),
        Value::String(s) => match s.strip_suffix('%').and_then(|p| p.parse::<i64>().ok()) {
            Some(percent) if round_up => (desired * percent + 99) / 100,
            Some(percent) => desired * percent / 100,
            None => s.parse().unwrap_or(0),
        },
        _ => 0,
    }
}

fn status_of(rs: &Value, field: &str) -> i64 {
    rs["status"][field].as_i64().unwrap_or(0)
}

/// Writes a ReplicaSet's replicas (and revision), recording the scaling.
fn scale(
    emulator: &Emulator,
    deployment: &Value,
    rs: &Value,
    to: i64,
    revision: Option<i64>,
) -> usize {
    let from = replicas(rs);
    let same_revision = revision.is_none_or(|r| r == self::revision(rs));
    if from == to && same_revision {
        return 0;
    }
    let mut next = rs.clone();
    next["spec"]["replicas"] = json!(to);
    if let Some(r) = revision {
        next["metadata"]["annotations"][REVISION] = json!(r.to_string());
    }
    if write_back(emulator, resources::REPLICASETS, next, Part::Main).is_err() {
        return 0;
    }
    if from != to {
        let direction = if to > from { "up" } else { "down" };
        let message = format!(
            "Scaled {direction} replica set {} from {from} to {to}",
            name_of(rs)
        );
        record(emulator, deployment, "ScalingReplicaSet", message);
    }
    1
}

fn record(emulator: &Emulator, deployment: &Value, reason: &str, message: String) {
    events::record(
        emulator,
        events::DEPLOYMENT_CONTROLLER,
        events::Happening {
            object: deployment,
            field_path: None,
            reason,
            message,
            warning: false,
        },
    );
}

pub(super) fn deployments(emulator: &Emulator) -> usize {
    let mut work = 0;
    let sets_by_owner = children_by_owner(emulator, resources::REPLICASETS);
    for deployment in emulator.store.snapshot(resources::DEPLOYMENTS) {
        if terminating(&deployment) {
            continue;
        }
        let owned = sets_by_owner
            .get(&uid_of(&deployment))
            .cloned()
            .unwrap_or_default();
        let changed = reconcile(emulator, &deployment, &owned)
            + annotate(emulator, &deployment, &owned)
            + prune(emulator, &deployment, &owned);
        if changed > 0 {
            // Its sets changed in this pass: the next pass reports them.
            work += changed;
            continue;
        }
        work += set_status(
            emulator,
            resources::DEPLOYMENTS,
            &deployment,
            status(&deployment, &owned),
        );
    }
    work
}

/// The Deployment carries its current set's revision, as `kubectl rollout
/// history` and `kubectl describe` read it.
fn annotate(emulator: &Emulator, deployment: &Value, owned: &[Value]) -> usize {
    let (rs_name, _) = new_set_name(deployment);
    let Some(current) = owned.iter().find(|rs| name_of(rs) == rs_name) else {
        return 0;
    };
    let wanted = revision(current);
    if wanted == 0 || revision(deployment) == wanted {
        return 0;
    }
    let mut next = deployment.clone();
    next["metadata"]["annotations"][REVISION] = json!(wanted.to_string());
    match write_back(emulator, resources::DEPLOYMENTS, next, Part::Main) {
        Ok(_) => 1,
        Err(error) => {
            tracing::debug!(%error, "revision not annotated");
            0
        }
    }
}

/// Old sets scaled to nothing beyond `revisionHistoryLimit` are deleted,
/// oldest first.
fn prune(emulator: &Emulator, deployment: &Value, owned: &[Value]) -> usize {
    let limit = deployment["spec"]["revisionHistoryLimit"]
        .as_i64()
        .unwrap_or(10)
        .max(0) as usize;
    let (rs_name, _) = new_set_name(deployment);
    let mut idle: Vec<&Value> = owned
        .iter()
        .filter(|rs| name_of(rs) != rs_name && replicas(rs) == 0 && status_of(rs, "replicas") == 0)
        .collect();
    if idle.len() <= limit {
        return 0;
    }
    idle.sort_by_key(|rs| revision(rs));
    let surplus = idle.len() - limit;
    idle.into_iter()
        .take(surplus)
        .filter(|rs| {
            emulator
                .store
                .delete(
                    resources::REPLICASETS,
                    &namespace_of(rs),
                    &name_of(rs),
                    store::Propagation::Background,
                    None,
                    None,
                )
                .is_ok()
        })
        .count()
}

fn new_set_name(deployment: &Value) -> (String, String) {
    let hash = template_hash(&deployment["spec"]["template"]);
    (format!("{}-{hash}", name_of(deployment)), hash)
}

/// One step of the rollout; the number of writes made.
fn reconcile(emulator: &Emulator, deployment: &Value, owned: &[Value]) -> usize {
    let namespace = namespace_of(deployment);
    let (rs_name, hash) = new_set_name(deployment);
    let desired = replicas(deployment);
    let newest_revision = owned.iter().map(revision).max().unwrap_or(0);
    let current = owned.iter().find(|rs| name_of(rs) == rs_name);
    let olds: Vec<&Value> = owned.iter().filter(|rs| name_of(rs) != rs_name).collect();
    let strategy = &deployment["spec"]["strategy"];
    let recreate = strategy["type"] == "Recreate";

    let Some(current) = current else {
        // A new template: its set starts empty (or full, if nothing else
        // runs) and takes the next revision.
        let old_total: i64 = olds.iter().map(|rs| replicas(rs)).sum();
        let start = if old_total == 0 { desired } else { 0 };
        let mut template = deployment["spec"]["template"].clone();
        template["metadata"]["labels"]["pod-template-hash"] = json!(hash);
        let mut selector = deployment["spec"]["selector"].clone();
        selector["matchLabels"]["pod-template-hash"] = json!(hash);
        let rs = json!({
            "metadata": {
                "name": rs_name, "namespace": namespace,
                "labels": template["metadata"]["labels"].clone(),
                "annotations": {
                    REVISION: (newest_revision + 1).to_string(),
                    "deployment.kubernetes.io/desired-replicas": desired.to_string(),
                    "deployment.kubernetes.io/max-replicas": (desired + fencepost(&strategy["rollingUpdate"]["maxSurge"], desired, true)).to_string(),
                },
                "ownerReferences": [owner_ref(deployment, resources::DEPLOYMENTS)],
            },
            "spec": {"replicas": start, "selector": selector, "template": template},
        });
        return match emulator
            .store
            .create(resources::REPLICASETS, &namespace, rs)
        {
            Ok(_) => {
                if start > 0 {
                    let message = format!("Scaled up replica set {rs_name} from 0 to {start}");
                    record(emulator, deployment, "ScalingReplicaSet", message);
                }
                1
            }
            Err(error) => {
                tracing::warn!(%error, "replicaset not created");
                0
            }
        };
    };

    // The current set is the newest revision (a template that came back
    // takes a new number, as the controller renumbers on rollback).
    let revision_wanted = (revision(current) < newest_revision).then_some(newest_revision + 1);
    if recreate {
        let mut work = 0;
        for old in &olds {
            work += scale(emulator, deployment, old, 0, None);
        }
        let old_pods: i64 = olds.iter().map(|rs| status_of(rs, "replicas")).sum();
        if work == 0 && old_pods == 0 {
            work += scale(emulator, deployment, current, desired, revision_wanted);
        }
        return work;
    }

    let max_surge = fencepost(&strategy["rollingUpdate"]["maxSurge"], desired, true);
    let mut max_unavailable =
        fencepost(&strategy["rollingUpdate"]["maxUnavailable"], desired, false);
    if max_surge == 0 && max_unavailable == 0 {
        max_unavailable = 1;
    }
    let all: i64 = owned.iter().map(replicas).sum();
    // Scale the new set up within the surge.
    let want_new = if replicas(current) >= desired {
        desired
    } else {
        let room = (desired + max_surge - all).max(0);
        (replicas(current) + room).min(desired)
    };
    if want_new != replicas(current) || revision_wanted.is_some() {
        return scale(emulator, deployment, current, want_new, revision_wanted);
    }
    // Scale old sets down while enough stay available: their unready
    // replicas first, then as many ready ones as `maxUnavailable` allows.
    let available: i64 = owned
        .iter()
        .map(|rs| status_of(rs, "availableReplicas"))
        .sum();
    let min_available = desired - max_unavailable;
    let mut removable = (available - min_available).max(0);
    let mut work = 0;
    let mut olds = olds;
    olds.sort_by_key(|rs| revision(rs));
    for old in olds {
        let have = replicas(old);
        if have == 0 {
            continue;
        }
        let unready = (have - status_of(old, "availableReplicas")).max(0);
        let cut = (unready + removable).min(have);
        removable -= (cut - unready).max(0);
        if cut > 0 {
            work += scale(emulator, deployment, old, have - cut, None);
        }
    }
    work
}

fn condition(
    previous: &Value,
    kind: &str,
    ok: bool,
    reason: &str,
    message: String,
    progressed: bool,
) -> Value {
    let status = if ok { "True" } else { "False" };
    let before = previous
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["type"] == kind))
        .cloned();
    let now = json!(store::now());
    let since = match &before {
        Some(c) if c["status"] == status => c["lastTransitionTime"].clone(),
        _ => now.clone(),
    };
    let updated = match &before {
        Some(c) if c["reason"] == reason && !progressed => c["lastUpdateTime"].clone(),
        _ => now,
    };
    json!({"type": kind, "status": status, "reason": reason, "message": message,
           "lastTransitionTime": since, "lastUpdateTime": updated})
}

fn status(deployment: &Value, sets: &[Value]) -> Value {
    let desired = replicas(deployment);
    let (rs_name, _) = new_set_name(deployment);
    let current = sets.iter().find(|rs| name_of(rs) == rs_name);
    let sum = |field: &str| -> i64 { sets.iter().map(|rs| status_of(rs, field)).sum() };
    let updated = current.map(|rs| status_of(rs, "replicas")).unwrap_or(0);
    let available = sum("availableReplicas");
    let replicas_now = sum("replicas");
    let strategy = &deployment["spec"]["strategy"];
    let max_unavailable = if strategy["type"] == "Recreate" {
        0
    } else {
        fencepost(&strategy["rollingUpdate"]["maxUnavailable"], desired, false)
    };
    let previous = &deployment["status"]["conditions"];
    let was = &deployment["status"];
    // Progress: any count moving toward the new template.
    let progressed = was["updatedReplicas"].as_i64() != Some(updated)
        || was["availableReplicas"].as_i64() != Some(available)
        || was["replicas"].as_i64() != Some(replicas_now);
    let complete = updated == desired
        && replicas_now == desired
        && current.is_some_and(|rs| status_of(rs, "availableReplicas") >= desired);
    let enough = available >= desired - max_unavailable;
    let deadline = deployment["spec"]["progressDeadlineSeconds"]
        .as_i64()
        .unwrap_or(600);
    let stalled_for = previous
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["type"] == "Progressing"))
        .and_then(|c| c["lastUpdateTime"].as_str())
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| (chrono::Utc::now() - t.with_timezone(&chrono::Utc)).num_seconds())
        .unwrap_or(0);
    let failure = current
        .and_then(|rs| rs["status"]["conditions"].as_array())
        .and_then(|cs| cs.iter().find(|c| c["type"] == "ReplicaFailure"))
        .cloned();
    let progressing = if complete {
        condition(
            previous,
            "Progressing",
            true,
            "NewReplicaSetAvailable",
            format!("ReplicaSet \"{rs_name}\" has successfully progressed."),
            progressed,
        )
    } else if !progressed && stalled_for > deadline {
        condition(
            previous,
            "Progressing",
            false,
            "ProgressDeadlineExceeded",
            format!("ReplicaSet \"{rs_name}\" has timed out progressing."),
            false,
        )
    } else {
        condition(
            previous,
            "Progressing",
            true,
            "ReplicaSetUpdated",
            format!("ReplicaSet \"{rs_name}\" is progressing."),
            progressed,
        )
    };
    let mut conditions = vec![
        condition(
            previous,
            "Available",
            enough,
            if enough {
                "MinimumReplicasAvailable"
            } else {
                "MinimumReplicasUnavailable"
            },
            if enough {
                "Deployment has minimum availability.".into()
            } else {
                "Deployment does not have minimum availability.".into()
            },
            false,
        ),
        progressing,
    ];
    if let Some(failure) = failure {
        conditions.push(json!({"type": "ReplicaFailure", "status": "True", "reason": failure["reason"],
            "message": failure["message"], "lastTransitionTime": failure["lastTransitionTime"], "lastUpdateTime": failure["lastTransitionTime"]}));
    }
    json!({
        "observedGeneration": deployment["metadata"]["generation"],
        "replicas": replicas_now,
        "updatedReplicas": updated,
        "readyReplicas": sum("readyReplicas"),
        "availableReplicas": available,
        "unavailableReplicas": (replicas_now.max(desired) - available).max(0),
        "conditions": conditions,
    })
}
