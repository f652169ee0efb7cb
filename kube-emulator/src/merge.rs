//! Strategic merge (the subset the console's resources need: objects merge,
//! lists of objects merge by their key field, other lists replace) and
//! server-side apply with per-manager field ownership kept in
//! `metadata.managedFields` (FieldsV1).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

/// Fields that identify list elements, in the order they are tried.
const LIST_KEYS: [&str; 4] = ["name", "type", "containerPort", "port"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    Field(String),
    /// A list element by its key field and value.
    Key(String, Value),
}

// Value has no order; segments order by their FieldsV1 text.
impl Ord for Seg {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.sort_key().cmp(&other.sort_key())
    }
}

impl PartialOrd for Seg {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Seg {
    fn sort_key(&self) -> String {
        match self {
            Seg::Field(f) => format!("f:{f}"),
            Seg::Key(k, v) => format!("k:{{\"{k}\":{v}}}"),
        }
    }
}

pub type Path = Vec<Seg>;

/// The key field shared by every element of `list`, if the list is keyed.
fn list_key(list: &[Value]) -> Option<&'static str> {
    if list.is_empty() {
        return None;
    }
    LIST_KEYS.into_iter().find(|key| {
        list.iter()
            .all(|e| e.get(key).is_some_and(|v| !v.is_null()))
    })
}

/// Merges `patch` into `target`: `null` removes a field, objects merge,
/// keyed lists merge element by element, anything else replaces.
pub fn strategic_merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else if let Some(existing) = t.get_mut(k) {
                    strategic_merge(existing, v);
                } else {
                    t.insert(k.clone(), v.clone());
                }
            }
        }
        (Value::Array(t), Value::Array(p)) => match (list_key(t), list_key(p)) {
            (Some(key), Some(pkey)) if key == pkey => {
                for element in p {
                    let id = &element[key];
                    match t.iter_mut().find(|e| &e[key] == id) {
                        Some(existing) => strategic_merge(existing, element),
                        None => t.push(element.clone()),
                    }
                }
            }
            _ => *t = p.clone(),
        },
        (t, p) => *t = p.clone(),
    }
}

/// The leaf paths `value` sets.
pub fn field_set(value: &Value) -> BTreeSet<Path> {
    let mut out = BTreeSet::new();
    collect(value, &mut Vec::new(), &mut out);
    out
}

fn collect(value: &Value, prefix: &mut Path, out: &mut BTreeSet<Path>) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (k, v) in map {
                prefix.push(Seg::Field(k.clone()));
                collect(v, prefix, out);
                prefix.pop();
            }
        }
        Value::Array(list) => match list_key(list) {
            Some(key) => {
                for element in list {
                    prefix.push(Seg::Key(key.to_owned(), element[key].clone()));
                    collect(element, prefix, out);
                    prefix.pop();
                }
            }
            None => {
                out.insert(prefix.clone());
            }
        },
        _ => {
            out.insert(prefix.clone());
        }
    }
}

pub fn get<'a>(value: &'a Value, path: &Path) -> Option<&'a Value> {
    let mut current = value;
    for seg in path {
        current = match seg {
            Seg::Field(f) => current.get(f)?,
            Seg::Key(k, v) => current.as_array()?.iter().find(|e| &e[k] == v)?,
        };
    }
    Some(current)
}

/// Removes the leaf at `path`; a list element left with only its key, or
/// an object left empty, goes too.
pub fn remove(value: &mut Value, path: &Path) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut current = &mut *value;
    for seg in parents {
        let next = match seg {
            Seg::Field(f) => current.get_mut(f),
            Seg::Key(k, v) => current
                .as_array_mut()
                .and_then(|list| list.iter_mut().find(|e| &e[k] == v)),
        };
        match next {
            Some(next) => current = next,
            None => return,
        }
    }
    match last {
        Seg::Field(f) => {
            if let Some(map) = current.as_object_mut() {
                map.remove(f);
            }
        }
        Seg::Key(k, v) => {
            if let Some(list) = current.as_array_mut() {
                list.retain(|e| &e[k] != v);
            }
        }
    }
    prune(value);
}

/// Drops empty objects and keyed list elements holding only their key.
fn prune(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for v in map.values_mut() {
                prune(v);
            }
            map.retain(|_, v| match v {
                Value::Object(m) => !m.is_empty(),
                Value::Array(a) => !a.is_empty(),
                _ => true,
            });
        }
        Value::Array(list) => {
            let key = list_key(list);
            for v in list.iter_mut() {
                prune(v);
            }
            if let Some(key) = key {
                list.retain(|e| {
                    e.as_object()
                        .is_none_or(|m| m.len() > 1 || !m.contains_key(key))
                });
            }
        }
        _ => {}
    }
}

/// FieldsV1: `{"f:spec": {"f:replicas": {}}, ...}`. A leaf is `{}`; a keyed
/// element that also has children carries `".": {}`.
pub fn to_fields_v1(paths: &BTreeSet<Path>) -> Value {
    fn insert(node: &mut Map<String, Value>, path: &[Seg]) {
        let Some((first, rest)) = path.split_first() else {
            return;
        };
        let child = node
            .entry(first.sort_key())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(child) = child {
            if matches!(first, Seg::Key(..)) && !rest.is_empty() {
                child.entry(".").or_insert_with(|| json!({}));
            }
            insert(child, rest);
        }
    }
    let mut root = Map::new();
    for path in paths {
        insert(&mut root, path);
    }
    Value::Object(root)
}

pub fn from_fields_v1(fields: &Value) -> BTreeSet<Path> {
    let mut out = BTreeSet::new();
    walk_fields(fields, &mut Vec::new(), &mut out);
    out
}

fn walk_fields(node: &Value, prefix: &mut Path, out: &mut BTreeSet<Path>) {
    let Some(map) = node.as_object() else {
        return;
    };
    let children: Vec<_> = map.iter().filter(|(k, _)| k.as_str() != ".").collect();
    if children.is_empty() && !prefix.is_empty() {
        out.insert(prefix.clone());
        return;
    }
    for (k, v) in children {
        let seg = if let Some(field) = k.strip_prefix("f:") {
            Seg::Field(field.to_owned())
        } else if let Some(key) = k.strip_prefix("k:") {
            match serde_json::from_str::<BTreeMap<String, Value>>(key) {
                Ok(map) if map.len() == 1 => {
                    let (name, value) = map.into_iter().next().expect("one entry");
                    Seg::Key(name, value)
                }
                _ => continue,
            }
        } else {
            continue;
        };
        prefix.push(seg);
        walk_fields(v, prefix, out);
        prefix.pop();
    }
}

/// What applying means for ownership: the fields of `config` the manager
/// will own (identity fields and status excluded).
pub fn owned_fields(config: &Value, with_status: bool) -> BTreeSet<Path> {
    let mut owned = config.clone();
    if let Some(map) = owned.as_object_mut() {
        map.remove("apiVersion");
        map.remove("kind");
        if !with_status {
            map.remove("status");
        }
        if let Some(Value::Object(meta)) = map.get_mut("metadata") {
            meta.retain(|k, _| k == "labels" || k == "annotations");
        }
        if map
            .get("metadata")
            .is_some_and(|m| m.as_object().is_some_and(|m| m.is_empty()))
        {
            map.remove("metadata");
        }
    }
    field_set(&owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyed_lists_merge_by_name_and_null_removes() {
        let mut target = json!({"spec": {"containers": [{"name": "a", "image": "1"}, {"name": "b", "image": "1"}], "x": 1}});
        strategic_merge(
            &mut target,
            &json!({"spec": {"containers": [{"name": "b", "image": "2"}], "x": null}}),
        );
        assert_eq!(
            target,
            json!({"spec": {"containers": [{"name": "a", "image": "1"}, {"name": "b", "image": "2"}]}})
        );
    }

    #[test]
    fn fields_round_trip_through_fields_v1() {
        let config = json!({"metadata": {"labels": {"app": "x"}}, "spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "c", "image": "i"}]}}}});
        let owned = owned_fields(&config, false);
        let v1 = to_fields_v1(&owned);
        assert_eq!(v1["f:spec"]["f:replicas"], json!({}));
        assert!(
            v1["f:spec"]["f:template"]["f:spec"]["f:containers"]
                .get("k:{\"name\":\"c\"}")
                .is_some()
        );
        assert_eq!(from_fields_v1(&v1), owned);
    }

    #[test]
    fn removing_a_leaf_prunes_what_it_leaves_empty() {
        let mut value =
            json!({"spec": {"containers": [{"name": "c", "image": "i"}], "replicas": 1}});
        let paths = field_set(&json!({"spec": {"containers": [{"name": "c", "image": "i"}]}}));
        for path in &paths {
            remove(&mut value, path);
        }
        assert_eq!(value, json!({"spec": {"replicas": 1}}));
    }
}
