//! Patches (apply, merge, strategic merge, JSON patch) and the scale
//! subresource.

use std::sync::Arc;

use axum::{
    body::Bytes,
    http::{HeaderMap, Method, StatusCode, header},
    response::Response,
};
use serde_json::{Value, json};

use super::request::{Query, Write, decode, flag, json_response};
use crate::{
    Emulator,
    errors::{ApiError, ApiResult},
    store::Part,
};

pub(super) fn patch(
    emulator: &Arc<Emulator>,
    (rt, namespace, name, part, mode): Write<'_>,
    headers: &HeaderMap,
    body: &Bytes,
    query: &Query,
) -> ApiResult<Response> {
    let store = &emulator.store;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_owned();
    if content_type == "application/apply-patch+yaml"
        || content_type == "application/apply-patch+json"
    {
        let manager = query.get("fieldManager").filter(|m| !m.is_empty()).ok_or_else(|| {
            ApiError::bad_request("PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch")
        })?;
        let config = decode(headers, body)?;
        let existed = store.get(rt, namespace, name).is_ok();
        let applier = crate::store::Applier {
            manager,
            force: flag(query, "force"),
        };
        let applied = store.apply_as(rt, namespace, name, config, applier, part, mode)?;
        let code = if existed {
            StatusCode::OK
        } else {
            StatusCode::CREATED
        };
        return Ok(json_response(code, &applied));
    }
    let current = store.get(rt, namespace, name)?;
    let patch_doc: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
    let mut next = current.clone();
    match content_type.as_str() {
        "application/merge-patch+json" => json_patch::merge(&mut next, &patch_doc),
        "application/strategic-merge-patch+json" => {
            crate::merge::strategic_merge(&mut next, &patch_doc)
        }
        "application/json-patch+json" => {
            let operations: json_patch::Patch = serde_json::from_value(patch_doc)
                .map_err(|e| ApiError::bad_request(format!("invalid JSON patch: {e}")))?;
            json_patch::patch(&mut next, &operations).map_err(|e| {
                ApiError::invalid(rt.kind, name, &[("patch".into(), e.to_string())])
            })?;
        }
        other => return Err(ApiError::unsupported_media_type(other)),
    }
    // A patch that names a version is a precondition on it.
    let patched_rv = next["metadata"]["resourceVersion"].clone();
    if patched_rv != current["metadata"]["resourceVersion"] && !patched_rv.is_null() {
        return Err(ApiError::stale(rt.group, rt.plural, name));
    }
    let updated = store.update_as(rt, namespace, name, next, part, mode)?;
    Ok(json_response(StatusCode::OK, &updated))
}

pub(super) fn scale(
    emulator: &Arc<Emulator>,
    (rt, namespace, name, _, mode): Write<'_>,
    method: &Method,
    headers: &HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let store = &emulator.store;
    let scale_of = |object: &Value| {
        let selector = object
            .pointer("/spec/selector/matchLabels")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .unwrap_or_default();
        json!({
            "kind": "Scale", "apiVersion": "autoscaling/v1",
            "metadata": {"name": name, "namespace": namespace,
                "uid": object["metadata"]["uid"], "resourceVersion": object["metadata"]["resourceVersion"],
                "creationTimestamp": object["metadata"]["creationTimestamp"]},
            "spec": {"replicas": object.pointer("/spec/replicas").cloned().unwrap_or(json!(1))},
            "status": {"replicas": object.pointer("/status/replicas").cloned().unwrap_or(json!(0)), "selector": selector},
        })
    };
    let current = store.get(rt, namespace, name)?;
    let replicas = match *method {
        Method::GET => return Ok(json_response(StatusCode::OK, &scale_of(&current))),
        Method::PUT => decode(headers, &body)?
            .pointer("/spec/replicas")
            .and_then(Value::as_i64),
        Method::PATCH => {
            let mut doc = scale_of(&current);
            let patch_doc = decode(headers, &body)?;
            json_patch::merge(&mut doc, &patch_doc);
            doc.pointer("/spec/replicas").and_then(Value::as_i64)
        }
        _ => return Err(ApiError::method_not_allowed()),
    }
    .ok_or_else(|| {
        ApiError::invalid(
            "Scale",
            name,
            &[("spec.replicas".into(), "Required value".into())],
        )
    })?;
    let mut next = current;
    next["spec"]["replicas"] = json!(replicas);
    let updated = store.update_as(rt, namespace, name, next, Part::Main, mode)?;
    emulator.kick();
    Ok(json_response(StatusCode::OK, &scale_of(&updated)))
}
