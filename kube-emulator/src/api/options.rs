//! What a request's options ask for: a dry run, a page, a propagation
//! policy, and how unknown fields are treated (`fieldValidation`).

use axum::{
    body::Bytes,
    http::{HeaderMap, Method},
};
use serde_json::Value;

use super::{
    request::{Query, decode, flag},
    routes::Target,
};
use crate::{
    errors::{ApiError, ApiResult},
    store::{Mode, Propagation, pages::PageRequest},
};

/// `fieldValidation`: how unknown fields in a write are treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum FieldValidation {
    Ignore,
    Warn,
    Strict,
}

/// The unknown fields of a write's body to warn about, and the body
/// without them; with `Strict`, a body that has any is refused, as "Field
/// validation" in the API concepts reference describes.
pub(super) fn unknown_fields(
    target: &Target,
    method: &Method,
    headers: &HeaderMap,
    body: Bytes,
    query: &Query,
) -> ApiResult<(Vec<String>, Bytes)> {
    let validation = match query.get("fieldValidation").map(String::as_str) {
        None | Some("") | Some("Warn") => FieldValidation::Warn,
        Some("Ignore") => FieldValidation::Ignore,
        Some("Strict") => FieldValidation::Strict,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "Invalid value: {other:?}: fieldValidation must be one of \"Ignore\", \"Warn\", or \"Strict\""
            )));
        }
    };
    let rt = match target {
        Target::Collection { rt, .. } if *method == Method::POST => *rt,
        Target::Item { rt, sub, .. }
            if matches!(*method, Method::PUT | Method::PATCH)
                && sub.as_deref().is_none_or(|s| s == "status") =>
        {
            *rt
        }
        _ => return Ok((Vec::new(), body)),
    };
    if body.is_empty() {
        return Ok((Vec::new(), body));
    }
    // A body that does not parse gets its error from the handler.
    let Ok(mut value) = decode(headers, &body) else {
        return Ok((Vec::new(), body));
    };
    if value.is_array() {
        return Ok((Vec::new(), body));
    }
    let unknown: Vec<String> = crate::openapi::fields::prune(rt, &mut value)
        .into_iter()
        .map(|f| f.trim_start_matches('.').to_owned())
        .collect();
    if validation == FieldValidation::Strict && !unknown.is_empty() {
        let fields = unknown
            .iter()
            .map(|f| format!("unknown field {f:?}"))
            .collect::<Vec<_>>()
            .join(", ");
        return Err(ApiError::bad_request(format!(
            "{kind} in version {version:?} cannot be handled as a {kind}: strict decoding error: {fields}",
            kind = rt.kind,
            version = rt.version,
        )));
    }
    if unknown.is_empty() {
        return Ok((unknown, body));
    }
    // JSON is YAML too: the pruned body reads the same whatever its type.
    let pruned = Bytes::from(value.to_string());
    Ok((
        if validation == FieldValidation::Warn {
            unknown
        } else {
            Vec::new()
        },
        pruned,
    ))
}

/// A delete's `DeleteOptions.dryRun` (where clients such as kube and
/// client-go put it), besides the query's.
pub(super) fn delete_mode(mode: Mode, options: &Value) -> ApiResult<Mode> {
    match options.get("dryRun") {
        None | Some(Value::Null) => Ok(mode),
        Some(Value::Array(values)) if values.is_empty() => Ok(mode),
        Some(Value::Array(values)) if values.iter().all(|v| v == "All") => Ok(Mode::DryRun),
        Some(other) => Err(ApiError::bad_request(format!(
            "Invalid dry run value: {other}: supported values are \"All\""
        ))),
    }
}

pub(super) fn page_request(query: &Query) -> ApiResult<PageRequest> {
    let limit = match query.get("limit").map(String::as_str) {
        None | Some("") => None,
        Some(text) => Some(text.parse::<usize>().map_err(|_| {
            ApiError::bad_request(format!(
                "invalid limit {text:?}: must be a non-negative integer"
            ))
        })?),
    };
    Ok(PageRequest {
        limit,
        continue_token: query.get("continue").cloned(),
    })
}

/// `dryRun`: absent, or `All` (the only value the API defines; see "Dry
/// run" in the API concepts reference). Anything else is refused, as a
/// real server does, rather than taken for a write.
pub(super) fn write_mode(query: &Query) -> ApiResult<Mode> {
    match query.get("dryRun").map(String::as_str) {
        None | Some("") => Ok(Mode::Commit),
        Some("All") => Ok(Mode::DryRun),
        Some(other) => Err(ApiError::bad_request(format!(
            "Invalid dry run value: {other:?}: supported values are \"All\""
        ))),
    }
}

pub(super) fn propagation(query: &Query, body: &Bytes) -> ApiResult<Propagation> {
    let from_body = if body.is_empty() {
        None
    } else {
        serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|v| v["propagationPolicy"].as_str().map(str::to_owned))
    };
    let orphan_flag = Some(flag(query, "orphanDependents")).filter(|f| *f);
    match from_body
        .or_else(|| query.get("propagationPolicy").cloned())
        .as_deref()
    {
        Some("Foreground") => Ok(Propagation::Foreground),
        Some("Background") => Ok(Propagation::Background),
        Some("Orphan") => Ok(Propagation::Orphan),
        None if orphan_flag == Some(true) => Ok(Propagation::Orphan),
        None => Ok(Propagation::Background),
        Some(other) => Err(ApiError::bad_request(format!(
            "unknown propagationPolicy {other:?}"
        ))),
    }
}
