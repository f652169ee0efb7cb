//! What a real API server refuses an object for at create and update (a
//! subset): names, labels, and each type's required fields.

use serde_json::Value;

use super::object::name_of;
use crate::{
    errors::{ApiError, ApiResult},
    resources::ResourceType,
};

fn dns_label(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

fn dns_subdomain(name: &str) -> bool {
    !name.is_empty() && name.len() <= 253 && name.split('.').all(dns_label)
}

fn label_value(value: &str) -> bool {
    value.is_empty()
        || (value.len() <= 63
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
            && value.as_bytes()[0].is_ascii_alphanumeric()
            && value.as_bytes()[value.len() - 1].is_ascii_alphanumeric())
}

/// The problems a real API server would refuse `object` for (a subset).
pub fn validate(rt: ResourceType, object: &Value) -> ApiResult<()> {
    let name = name_of(object);
    let mut causes: Vec<(String, String)> = Vec::new();
    let ok = if rt.label_names() {
        dns_label(&name)
    } else {
        dns_subdomain(&name)
    };
    if !ok {
        causes.push((
            "metadata.name".into(),
            format!("Invalid value: {name:?}: a lowercase RFC 1123 {} must consist of lower case alphanumeric characters or '-'", if rt.label_names() { "label" } else { "subdomain" }),
        ));
    }
    if let Some(labels) = object
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
    {
        for (key, value) in labels {
            match value.as_str() {
                Some(v) if label_value(v) => {}
                _ => causes.push((
                    format!("metadata.labels.{key}"),
                    format!("Invalid value: {value}: a valid label must be 63 characters or less"),
                )),
            }
        }
    }
    let containers = |pointer: &str, causes: &mut Vec<(String, String)>| {
        let field = pointer.trim_start_matches('/').replace('/', ".");
        match object.pointer(pointer).and_then(Value::as_array) {
            Some(list) if !list.is_empty() => {
                for (i, c) in list.iter().enumerate() {
                    if c.get("image")
                        .and_then(Value::as_str)
                        .is_none_or(str::is_empty)
                    {
                        causes.push((format!("{field}[{i}].image"), "Required value".into()));
                    }
                    if c.get("name")
                        .and_then(Value::as_str)
                        .is_none_or(|n| !dns_label(n))
                    {
                        causes.push((format!("{field}[{i}].name"), "Required value".into()));
                    }
                }
            }
            _ => causes.push((field, "Required value".into())),
        }
    };
    match rt.plural {
        "pods" => containers("/spec/containers", &mut causes),
        "deployments" | "replicasets" => {
            containers("/spec/template/spec/containers", &mut causes);
            let selector = object
                .pointer("/spec/selector/matchLabels")
                .and_then(Value::as_object);
            let labels = object
                .pointer("/spec/template/metadata/labels")
                .and_then(Value::as_object);
            match (selector, labels) {
                (Some(selector), Some(labels))
                    if !selector.is_empty()
                        && selector.iter().all(|(k, v)| labels.get(k) == Some(v)) => {}
                (None, _) => causes.push(("spec.selector".into(), "Required value".into())),
                _ => causes.push((
                    "spec.template.metadata.labels".into(),
                    "Invalid value: `selector` does not match template `labels`".into(),
                )),
            }
            if object
                .pointer("/spec/replicas")
                .and_then(Value::as_i64)
                .is_some_and(|r| r < 0)
            {
                causes.push((
                    "spec.replicas".into(),
                    "Invalid value: must be greater than or equal to 0".into(),
                ));
            }
        }
        "ingresses" => {
            let rules = object.pointer("/spec/rules").and_then(Value::as_array);
            for (r, rule) in rules.into_iter().flatten().enumerate() {
                let paths = rule.pointer("/http/paths").and_then(Value::as_array);
                for (p, path) in paths.into_iter().flatten().enumerate() {
                    let field = format!("spec.rules[{r}].http.paths[{p}].pathType");
                    match path["pathType"].as_str() {
                        None => causes.push((field, "Required value: pathType must be specified".into())),
                        Some("Exact" | "Prefix" | "ImplementationSpecific") => {}
                        Some(other) => causes.push((field, format!("Unsupported value: {other:?}: supported values: \"Exact\", \"ImplementationSpecific\", \"Prefix\""))),
                    }
                }
            }
        }
        _ => {}
    }
    if causes.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(rt.kind, &name, &causes))
    }
}

/// What an update may not change (a subset of the API's update
/// validation): a Deployment's or ReplicaSet's selector (`apps/v1`) and a
/// Service's `clusterIP` once set.
pub fn validate_update(
    rt: ResourceType,
    name: &str,
    current: &Value,
    next: &Value,
) -> ApiResult<()> {
    let immutable: &[&str] = match rt.plural {
        "deployments" | "replicasets" if rt.group == "apps" => &["/spec/selector"],
        "services" => &["/spec/clusterIP"],
        _ => return Ok(()),
    };
    let causes: Vec<(String, String)> = immutable
        .iter()
        .filter_map(|pointer| {
            let (before, after) = (current.pointer(pointer)?, next.pointer(pointer));
            (Some(before) != after).then(|| {
                (
                    pointer.trim_start_matches('/').replace('/', "."),
                    format!(
                        "Invalid value: {}: field is immutable",
                        after.cloned().unwrap_or(Value::Null)
                    ),
                )
            })
        })
        .collect();
    if causes.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(rt.kind, name, &causes))
    }
}
