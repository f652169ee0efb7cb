//! Field-by-field differences between two versions' manifests, as a
//! release is compared with another. Pure: no I/O.
//!
//! Processes are compared by name (`processes.worker.image`), not by their
//! place in the list, so inserting a stage does not show every later one as
//! changed; maps compare key by key; lists (inputs, args) compare whole.

use lifecycle::Manifest;
use serde::{Deserialize, Serialize};
use serde_json::Value;

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
    let mut changes = Vec::new();
    let mut unchanged = 0;
    walk(
        "",
        Some(&keyed(from)),
        Some(&keyed(to)),
        &mut changes,
        &mut unchanged,
    );
    (changes, unchanged)
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
    if prefix.is_empty() {
        key.to_owned()
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
}
