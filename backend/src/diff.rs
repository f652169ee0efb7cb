//! Field-by-field differences between two versions' manifests, as a
//! release is compared with another. Pure: no I/O.
//!
//! Processes are compared by name (`processes.worker.image`), not by their
//! place in the list, so inserting a stage does not show every later one as
//! changed; maps compare key by key; lists (inputs, args) compare whole.
//!
//! The Kubernetes objects two versions would apply compare the same way,
//! each object by what it is to its version (`Deployment/worker`), lists of
//! named items (containers, env, ports) by name and other lists of objects
//! by position: `Deployment/worker.spec.template.spec.containers.worker.image`.

use lifecycle::Manifest;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::runtime::plan::Planned;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    Added,
    Removed,
    Changed,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Added => "added",
            Self::Removed => "removed",
            Self::Changed => "changed",
        }
    }
}

/// One difference: where, what kind, and the values on each side (as
/// compact text; strings without quotes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub path: String,
    pub kind: ChangeKind,
    pub from: Option<String>,
    pub to: Option<String>,
}

/// The differences from `from` to `to`, in path order, and how many leaf
/// fields are the same on both sides (what a view folds).
pub fn manifests(from: &Manifest, to: &Manifest) -> (Vec<Change>, usize) {
    compare(&keyed(from), &keyed(to))
}

/// Every leaf that differs between two documents, and how many are alike.
fn compare(from: &Value, to: &Value) -> (Vec<Change>, usize) {
    let mut changes = Vec::new();
    let mut unchanged = 0;
    walk("", Some(from), Some(to), &mut changes, &mut unchanged);
    (changes, unchanged)
}

/// The differences between the objects of two plans (see `runtime::plan`),
/// as `manifests` answers them.
pub fn objects(from: &[Planned], to: &[Planned]) -> (Vec<Change>, usize) {
    let keyed = |plan: &[Planned]| {
        let map: Map<String, Value> = plan
            .iter()
            .map(|p| (format!("{}/{}", p.kind, p.role), lists_keyed(&p.object)))
            .collect();
        Value::Object(map)
    };
    compare(&keyed(from), &keyed(to))
}

/// `value` with its lists of objects turned into maps: by each item's
/// `name` when every item has one, else by position (`[0]`). Lists of plain
/// values stay lists, compared whole.
fn lists_keyed(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), lists_keyed(v)))
                .collect(),
        ),
        Value::Array(items) if !items.is_empty() && items.iter().all(Value::is_object) => {
            let named = items
                .iter()
                .all(|i| i.get("name").is_some_and(Value::is_string));
            Value::Object(
                items
                    .iter()
                    .enumerate()
                    .map(|(n, item)| {
                        let key = match item.get("name").and_then(Value::as_str) {
                            Some(name) if named => name.to_owned(),
                            _ => format!("[{n}]"),
                        };
                        (key, lists_keyed(item))
                    })
                    .collect(),
            )
        }
        other => other.clone(),
    }
}

/// The manifest as JSON with its processes keyed by name.
fn keyed(manifest: &Manifest) -> Value {
    let mut value = serde_json::to_value(manifest).unwrap_or(Value::Null);
    if let Some(Value::Array(processes)) = value.get_mut("processes").map(Value::take) {
        let by_name = processes
            .into_iter()
            .map(|p| {
                let name = p
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                (name, p)
            })
            .collect::<serde_json::Map<_, _>>();
        value["processes"] = Value::Object(by_name);
    }
    value
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() || key.starts_with('[') {
        format!("{prefix}{key}")
    } else {
        format!("{prefix}.{key}")
    }
}

fn walk(
    path: &str,
    from: Option<&Value>,
    to: Option<&Value>,
    changes: &mut Vec<Change>,
    unchanged: &mut usize,
) {
    match (from, to) {
        (Some(Value::Object(a)), Some(Value::Object(b))) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            for key in keys {
                walk(&join(path, key), a.get(key), b.get(key), changes, unchanged);
            }
        }
        (Some(a), Some(b)) if a == b => *unchanged += 1,
        (a, b) => {
            let kind = match (a, b) {
                (None, _) => ChangeKind::Added,
                (_, None) => ChangeKind::Removed,
                _ => ChangeKind::Changed,
            };
            changes.push(Change {
                path: path.to_owned(),
                kind,
                from: a.map(text),
                to: b.map(text),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example(text: &str) -> Manifest {
        crate::manifest_file::parse(text.as_bytes()).expect("example manifest")
    }

    // Checked by hand against `diff examples/manifests/v1.yaml v2.yaml`.
    #[test]
    fn the_example_versions_differ_where_the_files_do() {
        let v1 = example(include_str!("../../examples/manifests/v1.yaml"));
        let v2 = example(include_str!("../../examples/manifests/v2.yaml"));
        let (changes, unchanged) = manifests(&v1, &v2);
        let seen: Vec<(&str, ChangeKind)> =
            changes.iter().map(|c| (c.path.as_str(), c.kind)).collect();
        use ChangeKind::*;
        assert_eq!(
            seen,
            [
                ("config.threshold", Changed),
                ("description", Changed),
                ("entrypoint.image", Changed),
                ("name", Changed),
                ("processes.enrich.env.LOG_LEVEL", Removed),
                ("processes.enrich.image", Changed),
                ("processes.rules", Added),
                ("processes.score.env.MODEL", Changed),
                ("processes.score.image", Changed),
                ("processes.score.inputs", Changed),
                ("processes.score.replicas", Changed),
            ]
        );
        let inputs = changes
            .iter()
            .find(|c| c.path == "processes.score.inputs")
            .expect("inputs");
        assert_eq!(inputs.from.as_deref(), Some(r#"["enrich"]"#));
        assert_eq!(inputs.to.as_deref(), Some(r#"["enrich","rules"]"#));
        let threshold = &changes[0];
        assert_eq!(
            (threshold.from.as_deref(), threshold.to.as_deref()),
            (Some("0.82"), Some("0.80"))
        );
        assert!(unchanged > 5, "{unchanged}");
        // A version compared with itself has no differences.
        assert_eq!(manifests(&v1, &v1).0, []);
    }

    // The objects of the same two versions: names and version labels
    // follow the version, images and replicas follow the manifests, the new
    // stage brings a whole Deployment, and env compares by variable name.
    #[test]
    fn the_example_versions_objects_differ_where_their_manifests_do() {
        use crate::runtime::plan;
        let runtime = crate::runtimes::RuntimeRecord::for_tests("demo", Default::default());
        let v1 = example(include_str!("../../examples/manifests/v1.yaml"));
        let v2 = example(include_str!("../../examples/manifests/v2.yaml"));
        let objects = |m: &Manifest| {
            let settled = crate::configuration::Settled::placeholders(m);
            let mut planned = plan::start(&runtime, m, &settled);
            planned.push(plan::publish(&runtime, &m.name));
            planned
        };
        let (changes, unchanged) = super::objects(&objects(&v1), &objects(&v2));
        let kind_of = |path: &str| {
            changes
                .iter()
                .find(|c| c.path == path)
                .map(|c| (c.kind, c.from.clone(), c.to.clone()))
        };
        use ChangeKind::*;
        let score = "Deployment/score.spec.template.spec.containers.score";
        assert_eq!(
            kind_of(&format!("{score}.image")),
            Some((
                Changed,
                Some("registry.example.com/fraud/score:1.0.0".into()),
                Some("registry.example.com/fraud/score:1.1.0".into())
            ))
        );
        assert_eq!(
            kind_of("Deployment/score.spec.replicas").map(|c| c.0),
            Some(Changed)
        );
        assert_eq!(
            kind_of(&format!("{score}.env.RUNTIME_INPUTS.value")),
            Some((Changed, Some("enrich".into()), Some("enrich,rules".into())))
        );
        assert_eq!(
            kind_of("Deployment/enrich.spec.template.spec.containers.enrich.env.LOG_LEVEL")
                .map(|c| c.0),
            Some(Removed)
        );
        assert_eq!(kind_of("Deployment/rules").map(|c| c.0), Some(Added));
        assert_eq!(
            kind_of("ConfigMap/config.data.threshold"),
            Some((Changed, Some("0.82".into()), Some("0.80".into())))
        );
        assert_eq!(
            kind_of("Ingress/routing.spec.rules[0].http.paths[0].backend.service.name")
                .map(|c| c.0),
            Some(Changed)
        );
        assert_eq!(kind_of("Namespace/namespace.metadata.name"), None);
        assert!(unchanged > 50, "{unchanged}");
    }
}
