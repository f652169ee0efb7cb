//! `/openapi/v2` and `/openapi/v3` (with its per-group-version documents),
//! generated once from the Kubernetes types, so that `kubectl apply` with
//! validation on, `kubectl explain` and clients that read the schema work
//! as against a real API server ("OpenAPI" in the API concepts reference).
//! [`fields`] uses the same schemas to find unknown fields for
//! `fieldValidation`.

pub mod fields;
mod paths;
mod schemas;

use std::sync::OnceLock;

use axum::{
    extract::{Path, RawQuery},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::{Map, Value, json};

use crate::resources;

pub use schemas::definition_of;

struct Documents {
    v2: String,
    /// `(api/v1, document)` for each group/version.
    v3: Vec<(String, String, String)>,
    v3_root: String,
    /// The v3 definitions, for field validation.
    definitions: Map<String, Value>,
}

fn hash(text: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{hash:016X}")
}

fn info() -> Value {
    json!({"title": "Kubernetes", "version": "v1.34.0-emulator"})
}

fn build() -> Documents {
    let mut v2_paths = Map::new();
    for rt in resources::ALL {
        v2_paths.extend(paths::paths(rt, false));
    }
    let v2 = json!({
        "swagger": "2.0",
        "info": info(),
        "paths": v2_paths,
        "definitions": schemas::definitions(false),
        "securityDefinitions": {"BearerToken": {"type": "apiKey", "name": "authorization", "in": "header"}},
        "security": [{"BearerToken": []}],
    })
    .to_string();
    let definitions = schemas::definitions(true);
    let mut v3 = Vec::new();
    let mut root = Map::new();
    for (group, version) in resources::group_versions() {
        let key = if group.is_empty() {
            format!("api/{version}")
        } else {
            format!("apis/{group}/{version}")
        };
        let mut gv_paths = Map::new();
        for rt in resources::ALL
            .into_iter()
            .filter(|t| t.group == group && t.version == version)
        {
            gv_paths.extend(paths::paths(rt, true));
        }
        let document = json!({
            "openapi": "3.0.0",
            "info": info(),
            "paths": gv_paths,
            "components": {
                "schemas": definitions,
                "securitySchemes": {"BearerToken": {"type": "apiKey", "name": "authorization", "in": "header"}},
            },
        })
        .to_string();
        let digest = hash(&document);
        root.insert(
            key.clone(),
            json!({"serverRelativeURL": format!("/openapi/v3/{key}?hash={digest}")}),
        );
        v3.push((key, digest, document));
    }
    Documents {
        v2,
        v3,
        v3_root: json!({"paths": root}).to_string(),
        definitions,
    }
}

fn documents() -> &'static Documents {
    static DOCUMENTS: OnceLock<Documents> = OnceLock::new();
    DOCUMENTS.get_or_init(build)
}

/// The v3 definitions by name.
pub fn definitions() -> &'static Map<String, Value> {
    &documents().definitions
}

fn json(body: &str) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_owned(),
    )
        .into_response()
}

pub async fn v2() -> Response {
    json(&documents().v2)
}

pub async fn v3_root() -> Response {
    json(&documents().v3_root)
}

/// One group/version's document. A `hash` that matches lets clients cache
/// it for good, as the real server's `Cache-Control` says.
pub async fn v3(Path(group_version): Path<String>, RawQuery(query): RawQuery) -> Response {
    let Some((_, digest, document)) = documents()
        .v3
        .iter()
        .find(|(key, _, _)| *key == group_version)
    else {
        return crate::errors::ApiError::no_route(&format!("/openapi/v3/{group_version}"))
            .into_response();
    };
    let mut response = json(document);
    let pinned = query
        .as_deref()
        .is_some_and(|q| q == format!("hash={digest}"));
    let cache = if pinned {
        "public, immutable"
    } else {
        "no-cache, private"
    };
    if let Ok(value) = header::HeaderValue::from_str(cache) {
        response.headers_mut().insert(header::CACHE_CONTROL, value);
    }
    if let Ok(value) = header::HeaderValue::from_str(&format!("\"{digest}\"")) {
        response.headers_mut().insert(header::ETAG, value);
    }
    response
}
