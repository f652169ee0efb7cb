//! What the API server does to the data of Secrets and ConfigMaps on a
//! write: `stringData` folded into base64 `data` (and never stored or
//! returned), `data` checked to be base64, keys checked, and immutable
//! objects refused any change of their data. From "Secrets" and
//! "ConfigMaps" in the Kubernetes concepts (the `immutable` field) and
//! `ValidateSecret`/`ValidateConfigMap` in the API validation.

use base64::Engine;
use serde_json::{Map, Value, json};

use crate::{
    errors::{ApiError, ApiResult},
    resources::ResourceType,
};

type Causes = Vec<(String, String)>;

fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 253
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && key != "."
        && key != ".."
}

fn check_keys(field: &str, map: &Map<String, Value>, causes: &mut Causes) {
    for key in map.keys().filter(|k| !valid_key(k)) {
        causes.push((
            format!("{field}[{key}]"),
            format!("Invalid value: {key:?}: a valid config key must consist of alphanumeric characters, '-', '_' or '.'"),
        ));
    }
}

/// Normalises and checks a Secret's or ConfigMap's data before it is
/// stored.
pub fn fold(rt: ResourceType, name: &str, object: &mut Value) -> ApiResult<()> {
    let mut causes = Causes::new();
    match rt.plural {
        "secrets" => {
            let engine = base64::engine::general_purpose::STANDARD;
            if let Some(Value::Object(plain)) =
                object.as_object_mut().and_then(|o| o.remove("stringData"))
            {
                check_keys("stringData", &plain, &mut causes);
                if !object["data"].is_object() {
                    object["data"] = json!({});
                }
                for (key, value) in plain {
                    match value.as_str() {
                        Some(text) => object["data"][&key] = json!(engine.encode(text)),
                        None => causes.push((
                            format!("stringData[{key}]"),
                            "Invalid value: must be a string".into(),
                        )),
                    }
                }
            }
            if let Some(data) = object["data"].as_object() {
                check_keys("data", data, &mut causes);
                for value in data.values() {
                    // `data` is `[]byte` in the type: what is not base64
                    // fails decoding, before any validation.
                    match value.as_str().map(|v| engine.decode(v)) {
                        Some(Ok(_)) => {}
                        Some(Err(error)) => {
                            // Go's encoding/base64 names the first bad byte.
                            let at = match error {
                                base64::DecodeError::InvalidByte(at, _)
                                | base64::DecodeError::InvalidLastSymbol(at, _) => at,
                                _ => value.as_str().map_or(0, str::len),
                            };
                            return Err(ApiError::bad_request(format!(
                                "Secret in version \"v1\" cannot be handled as a Secret: illegal base64 data at input byte {at}"
                            )));
                        }
                        None => {
                            return Err(ApiError::bad_request(
                                "Secret in version \"v1\" cannot be handled as a Secret: data values must be base64 strings",
                            ));
                        }
                    }
                }
            }
        }
        "configmaps" => {
            let data = object["data"].as_object().cloned().unwrap_or_default();
            let binary = object["binaryData"]
                .as_object()
                .cloned()
                .unwrap_or_default();
            check_keys("data", &data, &mut causes);
            check_keys("binaryData", &binary, &mut causes);
            for key in data.keys().filter(|k| binary.contains_key(*k)) {
                causes.push((
                    format!("data[{key}]"),
                    "Invalid value: duplicate of key present in binaryData".into(),
                ));
            }
        }
        _ => return Ok(()),
    }
    if causes.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(rt.kind, name, &causes))
    }
}

/// An `immutable: true` Secret or ConfigMap keeps its data (and a Secret
/// its type) until it is deleted.
pub fn check_immutable(
    rt: ResourceType,
    name: &str,
    current: &Value,
    next: &Value,
) -> ApiResult<()> {
    if !matches!(rt.plural, "secrets" | "configmaps") {
        return Ok(());
    }
    let mut causes = Causes::new();
    const FORBIDDEN: &str = "Forbidden: field is immutable when `immutable` is set";
    if rt.plural == "secrets" && current["type"] != next["type"] {
        causes.push((
            "type".into(),
            format!("Invalid value: {}: field is immutable", next["type"]),
        ));
    }
    if current["immutable"] == true {
        if next["immutable"] != true {
            causes.push(("immutable".into(), FORBIDDEN.into()));
        }
        for field in ["data", "binaryData"] {
            if current.get(field) != next.get(field) {
                causes.push((field.into(), FORBIDDEN.into()));
            }
        }
    }
    if causes.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(rt.kind, name, &causes))
    }
}
