//! What every handler reads of a request: its query, its body as JSON or
//! YAML, its flags; and how an object goes back as JSON.

use std::collections::HashMap;

use axum::{
    body::Bytes,
    http::{HeaderMap, StatusCode, Uri, header},
    response::{IntoResponse, Response},
};
use serde_json::Value;

use crate::{
    errors::{ApiError, ApiResult},
    resources::ResourceType,
    store::{Mode, Part},
};

pub type Query = HashMap<String, String>;

/// What a write to one object names: its type, namespace and name, the
/// part written and whether it is a dry run.
pub type Write<'a> = (ResourceType, &'a str, &'a str, Part, Mode);

pub fn json_response(code: StatusCode, value: &Value) -> Response {
    (
        code,
        [(header::CONTENT_TYPE, "application/json")],
        value.to_string(),
    )
        .into_response()
}

pub fn parse_query(uri: &Uri) -> Query {
    uri.query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default()
}

pub fn decode(headers: &HeaderMap, body: &Bytes) -> ApiResult<Value> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json");
    if body.is_empty() {
        return Err(ApiError::bad_request("the request body is empty"));
    }
    let media = content_type.split(';').next().unwrap_or("").trim();
    if !(media.is_empty() || media.ends_with("json") || media.ends_with("yaml")) {
        // Protobuf and CBOR are the API server's too; the emulator speaks
        // JSON and YAML, and says so as the server does for what it lacks.
        return Err(ApiError::unsupported_media_type(media));
    }
    let value: Value = if content_type.contains("yaml") {
        serde_yaml_ng::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))?
    } else {
        serde_json::from_slice(body).map_err(|e| {
            ApiError::bad_request(format!("couldn't get version/kind; json parse error: {e}"))
        })?
    };
    Ok(value)
}

/// A boolean query parameter as Go's `strconv.ParseBool` reads it (the
/// Python client sends `watch=True`).
pub fn flag(query: &Query, name: &str) -> bool {
    query
        .get(name)
        .is_some_and(|v| matches!(v.as_str(), "1" | "t" | "T" | "true" | "TRUE" | "True"))
}
