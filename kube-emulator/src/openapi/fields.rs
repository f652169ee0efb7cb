//! Unknown fields, as `fieldValidation` finds them: every field of a
//! request body that the kind's schema does not declare, by its path
//! (`.spec.replicaz`). Maps (`additionalProperties`) and fields without a
//! declared structure (quantities, `int-or-string`, raw extensions) accept
//! anything, as the API server's structural schema does.

use serde_json::{Map, Value};

use super::definitions;
use crate::resources::ResourceType;

/// Strategic-merge-patch directives are not fields.
fn directive(key: &str) -> bool {
    key.starts_with('$')
}

fn resolve<'a>(schema: &'a Value, defs: &'a Map<String, Value>) -> &'a Value {
    let mut schema = schema;
    for _ in 0..16 {
        let reference = schema["$ref"].as_str().or_else(|| {
            schema["allOf"]
                .as_array()
                .and_then(|all| all.first())
                .and_then(|first| first["$ref"].as_str())
        });
        match reference
            .and_then(|r| r.rsplit('/').next())
            .and_then(|name| defs.get(name))
        {
            Some(next) => schema = next,
            None => break,
        }
    }
    schema
}

/// Collects the unknown fields' paths into `out`, and drops them from
/// `value`: the API server decodes into its types, so what they do not
/// declare is never stored.
fn walk(
    value: &mut Value,
    schema: &Value,
    defs: &Map<String, Value>,
    path: &str,
    out: &mut Vec<String>,
) {
    let schema = resolve(schema, defs);
    match value {
        Value::Object(map) => {
            if let Some(properties) = schema["properties"].as_object() {
                map.retain(|key, child| {
                    if directive(key) {
                        return true;
                    }
                    let here = format!("{path}.{key}");
                    match properties.get(key) {
                        Some(property) => {
                            walk(child, property, defs, &here, out);
                            true
                        }
                        None => {
                            out.push(here);
                            false
                        }
                    }
                });
            } else if let Some(values) =
                schema.get("additionalProperties").filter(|v| v.is_object())
            {
                for (key, child) in map.iter_mut() {
                    walk(child, values, defs, &format!("{path}[{key}]"), out);
                }
            }
        }
        Value::Array(items) => {
            if let Some(item) = schema.get("items") {
                for (i, child) in items.iter_mut().enumerate() {
                    walk(child, item, defs, &format!("{path}[{i}]"), out);
                }
            }
        }
        _ => {}
    }
}

/// Removes the fields `object` (a whole or partial `rt`) has that its
/// schema does not declare, and names them.
pub fn prune(rt: ResourceType, object: &mut Value) -> Vec<String> {
    let defs = definitions();
    let Some(schema) = defs.get(super::definition_of(rt)) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    walk(object, schema, defs, "", &mut out);
    out
}
