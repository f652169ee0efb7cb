//! `events.k8s.io/v1` as a real server serves it: a second view of the
//! same core/v1 Event objects (one storage, converted on the way in and
//! out), so that what kube-runtime's `Recorder` writes there shows in
//! `kubectl get events` and `kubectl describe`, and the controllers'
//! core events show to events.k8s.io clients. The conversion is the one
//! of `pkg/apis/events/v1` (`regarding` ↔ `involvedObject`, `note` ↔
//! `message`, the `deprecated*` fields ↔ the core ones).

use axum::{
    body::{Body, Bytes},
    http::{HeaderMap, header},
    response::{IntoResponse, Response},
};
use futures::StreamExt;
use serde_json::{Value, json};

use crate::errors::{ApiError, ApiResult};

/// events.k8s.io/v1 field → core/v1 field, for the fields that differ.
const RENAMES: &[(&str, &str)] = &[
    ("regarding", "involvedObject"),
    ("note", "message"),
    ("deprecatedSource", "source"),
    ("deprecatedFirstTimestamp", "firstTimestamp"),
    ("deprecatedLastTimestamp", "lastTimestamp"),
    ("deprecatedCount", "count"),
    ("reportingController", "reportingComponent"),
];

fn rename(object: &mut Value, to_core: bool) {
    let Some(map) = object.as_object_mut() else {
        return;
    };
    for (v1, core) in RENAMES {
        let (from, to) = if to_core { (v1, core) } else { (core, v1) };
        if let Some(value) = map.remove(*from) {
            map.insert((*to).to_owned(), value);
        }
    }
    if map.contains_key("apiVersion") {
        let api_version = if to_core { "v1" } else { "events.k8s.io/v1" };
        map.insert("apiVersion".into(), json!(api_version));
    }
}

/// A field path of events.k8s.io in core terms: `regarding.name` →
/// `involvedObject.name`.
fn field_to_core(field: &str) -> String {
    let (head, rest) = field
        .split_once('.')
        .map_or((field, None), |(h, r)| (h, Some(r)));
    let head = RENAMES
        .iter()
        .find(|(v1, _)| *v1 == head)
        .map_or(head, |(_, core)| core);
    match rest {
        Some(rest) => format!("{head}.{rest}"),
        None => head.to_owned(),
    }
}

/// The query with its field selector in core terms.
pub fn query(mut query: crate::api::request::Query) -> crate::api::request::Query {
    if let Some(selector) = query.get_mut("fieldSelector") {
        *selector = selector
            .split(',')
            .map(|term| {
                let split = term.find(['=', '!']).unwrap_or(term.len());
                let (field, rest) = term.split_at(split);
                format!("{}{rest}", field_to_core(field.trim()))
            })
            .collect::<Vec<_>>()
            .join(",");
    }
    query
}

/// A request body in core terms: an Event (or a partial one, as merge and
/// apply patches are), or a JSON patch whose paths name v1 fields.
pub fn request_body(headers: &HeaderMap, body: Bytes) -> ApiResult<Bytes> {
    if body.is_empty() {
        return Ok(body);
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json")
        .to_owned();
    let mut value: Value = if content_type.contains("yaml") {
        serde_yaml_ng::from_slice(&body)
            .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))?
    } else {
        match serde_json::from_slice(&body) {
            Ok(value) => value,
            // Left for the handler to refuse with its own message.
            Err(_) => return Ok(body),
        }
    };
    match &mut value {
        Value::Array(operations) => {
            for op in operations {
                for key in ["path", "from"] {
                    if let Some(path) = op[key].as_str() {
                        let rest = path.trim_start_matches('/');
                        let core = field_to_core(&rest.replace('/', "\u{1}")).replace('\u{1}', "/");
                        op[key] = json!(format!("/{core}"));
                    }
                }
            }
        }
        object => rename(object, true),
    }
    // JSON is also YAML: the body keeps its media type for the handler.
    Ok(Bytes::from(value.to_string()))
}

fn present(value: &mut Value) {
    match value["kind"].as_str() {
        Some("Event") => rename(value, false),
        Some("EventList") => {
            value["apiVersion"] = json!("events.k8s.io/v1");
            if let Some(items) = value["items"].as_array_mut() {
                items.iter_mut().for_each(|i| rename(i, false));
            }
        }
        Some("Table") => {
            if let Some(rows) = value["rows"].as_array_mut() {
                for row in rows {
                    if row["object"]["kind"] == "Event" {
                        rename(&mut row["object"], false);
                    }
                }
            }
        }
        _ => {}
    }
}

/// The handler's answer in events.k8s.io terms: objects and lists
/// converted, watch streams converted line by line.
pub async fn response(response: Response, watching: bool) -> Response {
    let (mut parts, body) = response.into_parts();
    if watching && parts.status.is_success() {
        let lines = body.into_data_stream().map(|chunk| {
            chunk.map(|bytes| match serde_json::from_slice::<Value>(&bytes) {
                Ok(mut line) => {
                    present(&mut line["object"]);
                    Bytes::from(format!("{line}\n"))
                }
                Err(_) => bytes,
            })
        });
        return Response::from_parts(parts, Body::from_stream(lines));
    }
    let bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(bytes) => bytes,
        Err(error) => return ApiError::internal(error.to_string()).into_response(),
    };
    let Ok(mut value) = serde_json::from_slice::<Value>(&bytes) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    present(&mut value);
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(value.to_string()))
}
