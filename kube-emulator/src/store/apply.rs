//! Server-side apply: field ownership per manager (managedFields), conflicts
//! with other managers unless forced, and removal of the fields a manager
//! stopped applying.

use serde_json::{Value, json};

use super::{
    Applier, Mode, Part, Store,
    object::{name_of, now},
};
use crate::{
    errors::{ApiError, ApiResult},
    merge,
    resources::ResourceType,
};

impl Store {
    /// Server-side apply of `config` by `applier.manager`.
    /// Another writer between reading the object and writing it back is
    /// retried, as the API server does, rather than overwritten.
    pub fn apply(
        &self,
        rt: ResourceType,
        namespace: &str,
        name: &str,
        config: Value,
        applier: Applier<'_>,
        part: Part,
    ) -> ApiResult<Value> {
        self.apply_as(rt, namespace, name, config, applier, part, Mode::Commit)
    }

    #[allow(clippy::too_many_arguments)]
    pub fn apply_as(
        &self,
        rt: ResourceType,
        namespace: &str,
        name: &str,
        config: Value,
        applier: Applier<'_>,
        part: Part,
        mode: Mode,
    ) -> ApiResult<Value> {
        const ATTEMPTS: usize = 8;
        let mut last = None;
        for _ in 0..ATTEMPTS {
            match self.apply_once(rt, namespace, name, config.clone(), applier, part, mode) {
                Err(error) if error.is_stale() || error.reason == "AlreadyExists" => {
                    last = Some(error)
                }
                done => return done,
            }
        }
        Err(last.unwrap_or_else(|| ApiError::internal("apply did not settle")))
    }

    #[allow(clippy::too_many_arguments)]
    fn apply_once(
        &self,
        rt: ResourceType,
        namespace: &str,
        name: &str,
        config: Value,
        applier: Applier<'_>,
        part: Part,
        mode: Mode,
    ) -> ApiResult<Value> {
        let Applier { manager, force } = applier;
        if !config.is_object() {
            return Err(ApiError::bad_request(
                "the applied configuration must be an object",
            ));
        }
        let config_name = name_of(&config);
        if !config_name.is_empty() && config_name != name {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({config_name}) does not match the name on the URL ({name})"
            )));
        }
        if let (Some(api_version), Some(kind)) =
            (config["apiVersion"].as_str(), config["kind"].as_str())
            && (api_version != rt.api_version() || kind != rt.kind)
        {
            return Err(ApiError::bad_request(format!(
                "the apiVersion/kind of the applied object ({api_version}/{kind}) does not match the URL ({}/{})",
                rt.api_version(),
                rt.kind
            )));
        }
        let with_status = part == Part::Status;
        let owned = merge::owned_fields(&config, with_status);
        let existing = self.get(rt, namespace, name).ok();
        let Some(current) = existing else {
            if part == Part::Status {
                return Err(ApiError::not_found(rt.group, rt.plural, name));
            }
            let mut object = config.clone();
            object["metadata"]["name"] = json!(name);
            object["metadata"]["managedFields"] =
                json!([managed_entry(manager, rt, &owned, "Apply")]);
            return self.create_as(rt, namespace, object, mode);
        };

        let mut managers: Vec<Value> = current["metadata"]["managedFields"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let mine = |entry: &Value| {
            entry["manager"] == manager
                && entry["operation"] == "Apply"
                && (entry
                    .get("subresource")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    == if with_status { "status" } else { "" })
        };
        let previous: std::collections::BTreeSet<merge::Path> = managers
            .iter()
            .find(|e| mine(e))
            .map(|e| merge::from_fields_v1(&e["fieldsV1"]))
            .unwrap_or_default();

        // Fields another manager owns whose value this apply would change.
        let mut conflicts = Vec::new();
        for entry in managers.iter().filter(|e| !mine(e)) {
            let theirs = merge::from_fields_v1(&entry["fieldsV1"]);
            for path in owned.intersection(&theirs) {
                if merge::get(&current, path) != merge::get(&config, path) {
                    conflicts.push((
                        entry["manager"].as_str().unwrap_or("").to_owned(),
                        path.clone(),
                    ));
                }
            }
        }
        if !conflicts.is_empty() && !force {
            let text = conflicts
                .iter()
                .map(|(m, path)| format!("conflict with \"{m}\": {}", describe(path)))
                .collect::<Vec<_>>()
                .join(", ");
            let mut error =
                ApiError::conflict(rt.group, rt.plural, name, "Apply failed with conflicts");
            error.message = format!("Apply failed with {} conflict(s): {text}", conflicts.len());
            return Err(error);
        }
        // Forced: the others lose the fields they lost.
        for entry in managers.iter_mut().filter(|e| !mine(e)) {
            let mut theirs = merge::from_fields_v1(&entry["fieldsV1"]);
            let before = theirs.len();
            theirs.retain(|p| !conflicts.iter().any(|(_, c)| c == p));
            if theirs.len() != before {
                entry["fieldsV1"] = merge::to_fields_v1(&theirs);
            }
        }
        let others: std::collections::BTreeSet<merge::Path> = managers
            .iter()
            .filter(|e| !mine(e))
            .flat_map(|e| merge::from_fields_v1(&e["fieldsV1"]))
            .collect();

        let mut next = current.clone();
        for path in previous.difference(&owned) {
            if !others.contains(path) {
                merge::remove(&mut next, path);
            }
        }
        let mut patch = config.clone();
        if let Some(map) = patch.as_object_mut() {
            if !with_status {
                map.remove("status");
            }
            if let Some(Value::Object(m)) = map.get_mut("metadata") {
                m.retain(|k, _| k == "labels" || k == "annotations");
            }
        }
        merge::strategic_merge(&mut next, &patch);
        managers.retain(|e| !mine(e) && e["fieldsV1"].as_object().is_some_and(|m| !m.is_empty()));
        let mut entry = managed_entry(manager, rt, &owned, "Apply");
        if with_status {
            entry["subresource"] = json!("status");
        }
        managers.push(entry);
        // `next` keeps the version it was read at: the update is a
        // compare-and-set against a concurrent writer.
        next["metadata"]["managedFields"] = Value::Array(managers);
        // The managedFields time changes on every apply; an apply that
        // changes nothing else must not bump the version.
        if without_times(&next) == without_times(&current) {
            return Ok(current);
        }
        self.update_as(rt, namespace, name, next, part, mode)
    }
}

fn without_times(object: &Value) -> Value {
    let mut copy = object.clone();
    if let Some(entries) = copy["metadata"]["managedFields"].as_array_mut() {
        for e in entries {
            if let Some(m) = e.as_object_mut() {
                m.remove("time");
            }
        }
    }
    if let Some(m) = copy["metadata"].as_object_mut() {
        m.remove("resourceVersion");
    }
    copy
}

fn describe(path: &merge::Path) -> String {
    path.iter()
        .map(|seg| match seg {
            merge::Seg::Field(f) => format!(".{f}"),
            merge::Seg::Key(k, v) => format!("[{k}={v}]"),
        })
        .collect()
}

fn managed_entry(
    manager: &str,
    rt: ResourceType,
    owned: &std::collections::BTreeSet<merge::Path>,
    operation: &str,
) -> Value {
    json!({
        "manager": manager,
        "operation": operation,
        "apiVersion": rt.api_version(),
        "time": now(),
        "fieldsType": "FieldsV1",
        "fieldsV1": merge::to_fields_v1(owned),
    })
}
