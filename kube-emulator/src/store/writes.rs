//! Creates and updates: names generated, namespaces required, defaults,
//! admission (quotas, Pod Security), validation on create and on update
//! (what may not change), preconditions on the resourceVersion, and the
//! generation bumped when the spec changes.

use serde_json::{Value, json};

use super::{
    ChangeKind, Mode, Part, Store,
    object::{meta, name_of, now, random_suffix},
    secrets,
    validation::{self, validate},
};
use crate::{
    errors::{ApiError, ApiResult},
    resources::ResourceType,
};

/// Everything but metadata and status: a change here bumps `generation`.
fn spec_part(object: &Value) -> Value {
    let mut copy = object.clone();
    if let Some(map) = copy.as_object_mut() {
        map.remove("metadata");
        map.remove("status");
    }
    copy
}

impl Store {
    pub fn create(&self, rt: ResourceType, namespace: &str, object: Value) -> ApiResult<Value> {
        self.create_as(rt, namespace, object, Mode::Commit)
    }

    pub fn create_as(
        &self,
        rt: ResourceType,
        namespace: &str,
        mut object: Value,
        mode: Mode,
    ) -> ApiResult<Value> {
        if !object.is_object() {
            return Err(ApiError::bad_request("the body must be an object"));
        }
        let mut inner = self.lock();
        Self::require_namespace(&inner, rt, namespace)?;
        if !object["metadata"].is_object() {
            object["metadata"] = json!({});
        }
        if name_of(&object).is_empty()
            && let Some(prefix) = meta(&object, "generateName")
        {
            object["metadata"]["name"] = json!(format!("{prefix}{}", random_suffix()));
        }
        if rt.namespaced {
            match meta(&object, "namespace") {
                Some(ns) if ns != namespace => {
                    return Err(ApiError::bad_request(format!(
                        "the namespace of the provided object ({ns}) does not match the namespace sent on the request ({namespace})"
                    )));
                }
                _ => object["metadata"]["namespace"] = json!(namespace),
            }
        }
        object["apiVersion"] = json!(rt.api_version());
        object["kind"] = json!(rt.kind);
        let name = name_of(&object);
        secrets::fold(rt, &name, &mut object)?;
        // Status is the controllers' to write; namespaces and nodes (whose
        // kubelet registers it) are the exceptions a real server makes.
        if rt.status
            && !matches!(rt.plural, "namespaces" | "nodes")
            && let Some(map) = object.as_object_mut()
        {
            map.remove("status");
        }
        inner.default(rt, &mut object, mode);
        validate(rt, &object)?;
        let key = Self::key(rt, namespace, &name);
        if inner.objects.contains_key(&key) {
            return Err(ApiError::already_exists(rt.group, rt.plural, &name));
        }
        inner.admit_quota(rt, namespace, &object)?;
        inner.admit_pod_security(rt, namespace, &object)?;
        let metadata = object["metadata"]
            .as_object_mut()
            .expect("metadata is an object");
        metadata.insert("uid".into(), json!(uuid::Uuid::new_v4().to_string()));
        metadata.insert("creationTimestamp".into(), json!(now()));
        metadata.insert("generation".into(), json!(1));
        metadata.remove("deletionTimestamp");
        if rt.plural == "namespaces" {
            object["status"] = json!({"phase": "Active"});
        }
        Ok(self.commit(&mut inner, mode, &key, ChangeKind::Added, object, None))
    }

    /// Replaces an object (PUT, or the result of a patch). A non-empty
    /// `metadata.resourceVersion` must match the stored one.
    pub fn update(
        &self,
        rt: ResourceType,
        namespace: &str,
        name: &str,
        object: Value,
        part: Part,
    ) -> ApiResult<Value> {
        self.update_as(rt, namespace, name, object, part, Mode::Commit)
    }

    pub fn update_as(
        &self,
        rt: ResourceType,
        namespace: &str,
        name: &str,
        mut object: Value,
        part: Part,
        mode: Mode,
    ) -> ApiResult<Value> {
        if !object.is_object() {
            return Err(ApiError::bad_request("the body must be an object"));
        }
        let mut inner = self.lock();
        let key = Self::key(rt, namespace, name);
        let current = inner
            .objects
            .get(&key)
            .cloned()
            .ok_or_else(|| ApiError::not_found(rt.group, rt.plural, name))?;
        if let Some(rv) = meta(&object, "resourceVersion").filter(|rv| !rv.is_empty())
            && Some(rv) != meta(&current, "resourceVersion")
        {
            return Err(ApiError::stale(rt.group, rt.plural, name));
        }
        let given_name = name_of(&object);
        if !given_name.is_empty() && given_name != name {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({given_name}) does not match the name on the URL ({name})"
            )));
        }
        let next = match part {
            Part::Status => {
                let mut next = current.clone();
                next["status"] = object.get("status").cloned().unwrap_or(Value::Null);
                next
            }
            Part::Main => {
                if !object["metadata"].is_object() {
                    object["metadata"] = json!({});
                }
                object["apiVersion"] = json!(rt.api_version());
                object["kind"] = json!(rt.kind);
                object["metadata"]["name"] = json!(name);
                if rt.namespaced {
                    object["metadata"]["namespace"] = json!(namespace);
                }
                for field in [
                    "uid",
                    "creationTimestamp",
                    "deletionTimestamp",
                    "generation",
                ] {
                    match current["metadata"].get(field) {
                        Some(v) => object["metadata"][field] = v.clone(),
                        None => {
                            if let Some(m) = object["metadata"].as_object_mut() {
                                m.remove(field);
                            }
                        }
                    }
                }
                if object["metadata"].get("managedFields").is_none()
                    && let Some(fields) = current["metadata"].get("managedFields")
                {
                    object["metadata"]["managedFields"] = fields.clone();
                }
                if rt.status {
                    match current.get("status") {
                        Some(status) => object["status"] = status.clone(),
                        None => {
                            if let Some(m) = object.as_object_mut() {
                                m.remove("status");
                            }
                        }
                    }
                }
                secrets::fold(rt, name, &mut object)?;
                if rt.plural == "services"
                    && object["spec"].is_object()
                    && object.pointer("/spec/clusterIP").is_none()
                    && let Some(ip) = current.pointer("/spec/clusterIP")
                {
                    object["spec"]["clusterIP"] = ip.clone();
                }
                inner.default(rt, &mut object, mode);
                secrets::check_immutable(rt, name, &current, &object)?;
                validate(rt, &object)?;
                validation::validate_update(rt, name, &current, &object)?;
                if spec_part(&object) != spec_part(&current) {
                    let generation = current["metadata"]["generation"].as_i64().unwrap_or(1);
                    object["metadata"]["generation"] = json!(generation + 1);
                }
                object
            }
        };
        if next == current {
            // Nothing changed: no new version, no event (as the API server).
            return Ok(current);
        }
        Ok(self.commit(
            &mut inner,
            mode,
            &key,
            ChangeKind::Modified,
            next,
            Some(current),
        ))
    }
}
