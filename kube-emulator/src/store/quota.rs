//! ResourceQuota admission: a create in a namespace whose quota it would
//! exceed is refused with 403 Forbidden ("exceeded quota"), and a pod that
//! does not state a request the quota constrains ("must specify"), as the
//! ResourceQuota admission plugin answers (see "Resource Quotas" in the
//! Kubernetes concepts). Usage is counted from the stored objects at the
//! moment of the write, under the store's lock, so two creates cannot both
//! take the last unit.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::{Inner, Key, of_type};
use crate::{
    errors::{ApiError, ApiResult},
    quantity,
    resources::{self, ResourceType},
};

/// The names a quota counts `rt` under.
fn count_names(rt: ResourceType) -> Vec<String> {
    let mut names = vec![if rt.group.is_empty() {
        format!("count/{}", rt.plural)
    } else {
        format!("count/{}.{}", rt.plural, rt.group)
    }];
    if rt.group.is_empty()
        && matches!(
            rt.plural,
            "pods" | "services" | "configmaps" | "secrets" | "resourcequotas"
        )
    {
        names.push(rt.plural.to_owned());
    }
    names
}

fn pod_counts(pod: &Value) -> bool {
    !matches!(
        pod["status"]["phase"].as_str(),
        Some("Succeeded" | "Failed")
    )
}

/// What `object` uses of each resource a quota can name, in thousandths.
fn usage_of(rt: ResourceType, object: &Value) -> BTreeMap<String, i128> {
    let mut usage: BTreeMap<String, i128> =
        count_names(rt).into_iter().map(|n| (n, 1000)).collect();
    if rt == resources::PODS {
        for container in object["spec"]["containers"]
            .as_array()
            .into_iter()
            .flatten()
        {
            for (part, prefix) in [("requests", "requests."), ("limits", "limits.")] {
                for resource in ["cpu", "memory"] {
                    if let Some(q) = quantity::milli(&container["resources"][part][resource]) {
                        *usage.entry(format!("{prefix}{resource}")).or_default() += q;
                        if part == "requests" {
                            *usage.entry(resource.to_owned()).or_default() += q;
                        }
                    }
                }
            }
        }
    }
    usage
}

/// What a namespace's objects use of the resources `hard` names.
fn used(
    objects: &BTreeMap<Key, Value>,
    namespace: &str,
    hard: &Map<String, Value>,
) -> BTreeMap<String, i128> {
    let mut used: BTreeMap<String, i128> = hard.keys().map(|k| (k.clone(), 0)).collect();
    for rt in resources::ALL.into_iter().filter(|t| t.namespaced) {
        for (_, object) in of_type(objects, rt, Some(namespace)) {
            if rt == resources::PODS && !pod_counts(object) {
                continue;
            }
            for (name, amount) in usage_of(rt, object) {
                if let Some(total) = used.get_mut(&name) {
                    *total += amount;
                }
            }
        }
    }
    used
}

/// A quantity as the quota messages print it.
fn format(name: &str, milli: i128) -> String {
    let memory = name.ends_with("memory");
    if milli % 1000 != 0 {
        return format!("{milli}m");
    }
    let whole = milli / 1000;
    if memory {
        for (suffix, size) in [("Gi", 1i128 << 30), ("Mi", 1 << 20), ("Ki", 1 << 10)] {
            if whole != 0 && whole % size == 0 {
                return format!("{}{suffix}", whole / size);
            }
        }
    }
    whole.to_string()
}

fn listing(values: &BTreeMap<String, i128>) -> String {
    values
        .iter()
        .map(|(k, v)| format!("{k}={}", format(k, *v)))
        .collect::<Vec<_>>()
        .join(",")
}

impl Inner {
    /// Refuses `object` if a quota of its namespace would be exceeded.
    pub(super) fn admit_quota(
        &self,
        rt: ResourceType,
        namespace: &str,
        object: &Value,
    ) -> ApiResult<()> {
        admit(&self.objects, rt, namespace, object)
    }
}

fn admit(
    objects: &BTreeMap<Key, Value>,
    rt: ResourceType,
    namespace: &str,
    object: &Value,
) -> ApiResult<()> {
    if !rt.namespaced {
        return Ok(());
    }
    let wanted = usage_of(rt, object);
    let forbidden = |why: String| {
        let name = object["metadata"]["name"].as_str().unwrap_or("");
        let resource = if rt.group.is_empty() {
            rt.plural.to_owned()
        } else {
            format!("{}.{}", rt.plural, rt.group)
        };
        ApiError::forbidden(format!("{resource} \"{name}\" is forbidden: {why}"))
    };
    for (_, quota) in of_type(objects, resources::RESOURCEQUOTAS, Some(namespace)) {
        let Some(hard) = quota.pointer("/spec/hard").and_then(Value::as_object) else {
            continue;
        };
        let quota_name = quota["metadata"]["name"].as_str().unwrap_or("");
        if rt == resources::PODS {
            let missing: Vec<&str> = hard
                .keys()
                .filter(|k| {
                    k.starts_with("requests.")
                        || k.starts_with("limits.")
                        || *k == "cpu"
                        || *k == "memory"
                })
                .filter(|k| !wanted.contains_key(k.as_str()))
                .map(String::as_str)
                .collect();
            if !missing.is_empty() {
                return Err(forbidden(format!(
                    "failed quota: {quota_name}: must specify {}",
                    missing.join(",")
                )));
            }
        }
        let used = used(objects, namespace, hard);
        let mut requested = BTreeMap::new();
        let mut over = BTreeMap::new();
        let mut limited = BTreeMap::new();
        for (name, amount) in &wanted {
            let Some(limit) = hard.get(name).and_then(quantity::milli) else {
                continue;
            };
            let already = used.get(name).copied().unwrap_or(0);
            requested.insert(name.clone(), *amount);
            if already + amount > limit {
                over.insert(name.clone(), already);
                limited.insert(name.clone(), limit);
            }
        }
        if !over.is_empty() {
            requested.retain(|k, _| over.contains_key(k));
            return Err(forbidden(format!(
                "exceeded quota: {quota_name}, requested: {}, used: {}, limited: {}",
                listing(&requested),
                listing(&over),
                listing(&limited)
            )));
        }
    }
    Ok(())
}

/// A quota's status: what it allows and what its namespace uses.
fn status(objects: &BTreeMap<Key, Value>, quota: &Value) -> Value {
    let hard = quota
        .pointer("/spec/hard")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let namespace = quota["metadata"]["namespace"].as_str().unwrap_or("");
    let used: Map<String, Value> = used(objects, namespace, &hard)
        .into_iter()
        .map(|(k, v)| {
            let text = format(&k, v);
            (k, json!(text))
        })
        .collect();
    json!({"hard": hard, "used": used})
}

impl super::Store {
    /// Every quota with the status it should have now: the quota
    /// controller's input.
    pub fn quotas_with_usage(&self) -> Vec<(Value, Value)> {
        let inner = self.lock();
        of_type(&inner.objects, resources::RESOURCEQUOTAS, None)
            .map(|(_, q)| (q.clone(), status(&inner.objects, q)))
            .collect()
    }
}
