//! Deletion: preconditions, background, foreground and orphan
//! propagation, finalizers, namespaces taking their contents with them,
//! and the garbage collector that follows ownerReferences.

use serde_json::{Value, json};

use super::{
    ChangeKind, Key, Mode, Preconditions, Propagation, Store,
    object::{meta, now, uid_of},
};
use crate::{
    errors::{ApiError, ApiResult},
    resources::ResourceType,
};

impl Store {
    /// Deletes one object. Foreground deletion marks it and leaves it to the
    /// garbage collector; orphan releases its dependants first.
    pub fn delete(
        &self,
        rt: ResourceType,
        namespace: &str,
        name: &str,
        propagation: Propagation,
        precondition_uid: Option<&str>,
        precondition_rv: Option<&str>,
    ) -> ApiResult<Value> {
        let preconditions = Preconditions {
            uid: precondition_uid,
            resource_version: precondition_rv,
        };
        self.delete_as(
            rt,
            namespace,
            name,
            propagation,
            preconditions,
            Mode::Commit,
        )
    }

    pub fn delete_as(
        &self,
        rt: ResourceType,
        namespace: &str,
        name: &str,
        propagation: Propagation,
        preconditions: Preconditions<'_>,
        mode: Mode,
    ) -> ApiResult<Value> {
        let Preconditions {
            uid: precondition_uid,
            resource_version: precondition_rv,
        } = preconditions;
        let mut inner = self.lock();
        let key = Self::key(rt, namespace, name);
        let current = inner
            .objects
            .get(&key)
            .cloned()
            .ok_or_else(|| ApiError::not_found(rt.group, rt.plural, name))?;
        if precondition_uid.is_some_and(|uid| uid != uid_of(&current)) {
            return Err(ApiError::conflict(
                rt.group,
                rt.plural,
                name,
                "the UID in the precondition does not match",
            ));
        }
        if precondition_rv
            .is_some_and(|rv| Some(rv.to_owned()) != meta(&current, "resourceVersion"))
        {
            return Err(ApiError::conflict(
                rt.group,
                rt.plural,
                name,
                "the ResourceVersion in the precondition does not match",
            ));
        }
        let uid = uid_of(&current);
        let has_dependants = !inner.dependants_of(&uid).is_empty();
        let finalizers = current["metadata"]["finalizers"]
            .as_array()
            .map(|f| !f.is_empty())
            .unwrap_or(false);
        match propagation {
            Propagation::Orphan => {
                for (k, o) in inner.dependants_of(&uid) {
                    let mut released = o.clone();
                    if let Some(refs) = released["metadata"]["ownerReferences"].as_array_mut() {
                        refs.retain(|r| r["uid"] != uid.as_str());
                    }
                    self.commit(
                        &mut inner,
                        mode,
                        &k,
                        ChangeKind::Modified,
                        released,
                        Some(o),
                    );
                }
            }
            Propagation::Foreground if has_dependants || rt.plural == "namespaces" => {
                if current.pointer("/metadata/deletionTimestamp").is_some() {
                    return Ok(current);
                }
                let mut marked = current.clone();
                marked["metadata"]["deletionTimestamp"] = json!(now());
                let mut fin: Vec<Value> = marked["metadata"]["finalizers"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                if !fin.iter().any(|f| f == "foregroundDeletion") {
                    fin.push(json!("foregroundDeletion"));
                }
                marked["metadata"]["finalizers"] = Value::Array(fin);
                return Ok(self.commit(
                    &mut inner,
                    mode,
                    &key,
                    ChangeKind::Modified,
                    marked,
                    Some(current),
                ));
            }
            _ => {}
        }
        if finalizers && rt.plural != "namespaces" {
            let mut marked = current.clone();
            marked["metadata"]["deletionTimestamp"] = json!(now());
            return Ok(self.commit(
                &mut inner,
                mode,
                &key,
                ChangeKind::Modified,
                marked,
                Some(current),
            ));
        }
        if rt.plural == "namespaces" {
            // Everything in it goes with it.
            let inside: Vec<(Key, Value)> = inner
                .objects
                .iter()
                .filter(|(k, _)| k.rt.namespaced && k.namespace == name)
                .map(|(k, o)| (k.clone(), o.clone()))
                .collect();
            for (k, o) in inside {
                self.commit(&mut inner, mode, &k, ChangeKind::Deleted, o, None);
            }
        }
        Ok(self.commit(&mut inner, mode, &key, ChangeKind::Deleted, current, None))
    }

    /// Objects owned by a uid that no longer exists, and foreground
    /// deletions whose dependants are gone: the garbage collector's work.
    pub fn collect_garbage(&self) -> usize {
        let mut inner = self.lock();
        let mut work = 0;
        let orphans: Vec<(Key, Value)> = inner
            .dependants
            .iter()
            .filter_map(|k| inner.objects.get(k).map(|o| (k, o)))
            .filter(|(_, o)| {
                o["metadata"]["ownerReferences"]
                    .as_array()
                    .is_some_and(|refs| {
                        refs.iter()
                            .all(|r| !inner.uids.contains_key(r["uid"].as_str().unwrap_or("")))
                    })
            })
            .map(|(k, o)| (k.clone(), o.clone()))
            .collect();
        for (key, object) in orphans {
            self.commit(
                &mut inner,
                Mode::Commit,
                &key,
                ChangeKind::Deleted,
                object,
                None,
            );
            work += 1;
        }
        // Owners in foreground deletion: dependants get deleted, then the owner.
        let pending: Vec<(Key, Value)> = inner
            .foreground
            .iter()
            .filter_map(|k| inner.objects.get(k).map(|o| (k.clone(), o.clone())))
            .collect();
        for (key, owner) in pending {
            let dependants = inner.dependants_of(&uid_of(&owner));
            if dependants.is_empty() {
                self.commit(
                    &mut inner,
                    Mode::Commit,
                    &key,
                    ChangeKind::Deleted,
                    owner,
                    None,
                );
                work += 1;
                continue;
            }
            for (k, o) in dependants {
                if o.pointer("/metadata/deletionTimestamp").is_some() {
                    continue;
                }
                if inner.dependants_of(&uid_of(&o)).is_empty() {
                    self.commit(&mut inner, Mode::Commit, &k, ChangeKind::Deleted, o, None);
                } else {
                    let mut marked = o.clone();
                    marked["metadata"]["deletionTimestamp"] = json!(now());
                    marked["metadata"]["finalizers"] = json!(["foregroundDeletion"]);
                    self.commit(
                        &mut inner,
                        Mode::Commit,
                        &k,
                        ChangeKind::Modified,
                        marked,
                        Some(o),
                    );
                }
                work += 1;
            }
        }
        work
    }
}
