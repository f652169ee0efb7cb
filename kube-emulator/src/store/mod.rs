//! The object store: every object of every type, one resourceVersion counter
//! for all writes, and a bounded history of changes that watches replay.
//! Reads, commits and watch start here; creates and updates (`writes`),
//! deletion and garbage collection, defaults, validation, Secrets, quotas,
//! Pod Security, paged lists and server-side apply have modules of their own.

mod apply;
mod defaults;
mod delete;
mod object;
pub mod pages;
pub mod pod_security;
mod quota;
mod secrets;
mod validation;
mod writes;

use std::{
    collections::{BTreeMap, VecDeque},
    sync::{Arc, Mutex, MutexGuard},
};

use serde_json::{Value, json};
use tokio::sync::broadcast;

use crate::{
    errors::{ApiError, ApiResult},
    resources::{self, ResourceType},
    selector::{FieldSelector, LabelSelector},
};
use object::{has_owners, in_foreground_deletion, meta};
pub use object::{name_of, now, object, owned_by, random_suffix, uid_of};

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Key {
    pub rt: ResourceType,
    pub namespace: String,
    pub name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Added,
    Modified,
    Deleted,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Added => "ADDED",
            Self::Modified => "MODIFIED",
            Self::Deleted => "DELETED",
        }
    }
}

/// One write, as watches see it.
#[derive(Debug, Clone)]
pub struct Change {
    pub rv: u64,
    pub rt: ResourceType,
    pub namespace: String,
    pub kind: ChangeKind,
    pub object: Value,
    pub previous: Option<Value>,
    /// `object` as JSON, serialised once however many watchers send it.
    text: std::sync::OnceLock<String>,
}

impl Change {
    pub fn new(
        rv: u64,
        rt: ResourceType,
        namespace: String,
        kind: ChangeKind,
        object: Value,
        previous: Option<Value>,
    ) -> Self {
        Self {
            rv,
            rt,
            namespace,
            kind,
            object,
            previous,
            text: std::sync::OnceLock::new(),
        }
    }

    pub fn object_json(&self) -> &str {
        self.text.get_or_init(|| self.object.to_string())
    }
}

/// Whether a write is stored (`Commit`) or only answered (`DryRun`, the
/// API's `dryRun=All`): a dry run goes through defaulting, validation and
/// every error of the real write, but stores nothing, consumes no
/// resourceVersion and sends no watch event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    #[default]
    Commit,
    DryRun,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Main,
    Status,
}

/// Who applies, and whether they take fields other managers own.
#[derive(Debug, Clone, Copy)]
pub struct Applier<'a> {
    pub manager: &'a str,
    pub force: bool,
}

/// Where a watch starts: the changes to replay, a receiver for what
/// follows, and the version the replay is consistent at.
pub type WatchStart = (Vec<Arc<Change>>, broadcast::Receiver<Arc<Change>>, u64);

/// A delete's `DeleteOptions.preconditions`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Preconditions<'a> {
    pub uid: Option<&'a str>,
    pub resource_version: Option<&'a str>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Propagation {
    #[default]
    Background,
    Foreground,
    Orphan,
}

struct Inner {
    rv: u64,
    objects: BTreeMap<Key, Value>,
    /// uid → object, for owner lookups.
    uids: std::collections::HashMap<String, Key>,
    /// Objects with ownerReferences: what the garbage collector looks at.
    dependants: std::collections::BTreeSet<Key>,
    /// Owners being deleted in the foreground: the collector's other work.
    /// Kept here so that its pass after every write costs what is being
    /// deleted, not every object stored.
    foreground: std::collections::BTreeSet<Key>,
    history: VecDeque<Arc<Change>>,
    /// The newest resourceVersion dropped from `history`: a watch from an
    /// older version cannot be served (410 Expired).
    compacted: u64,
    /// Service ClusterIPs handed out so far.
    cluster_ips: u32,
}

pub struct Store {
    inner: Mutex<Inner>,
    changes: broadcast::Sender<Arc<Change>>,
    history_limit: usize,
}

impl Inner {
    /// Fills in `object`'s defaults; a dry run allocates no address.
    fn default(&mut self, rt: ResourceType, object: &mut Value, mode: Mode) {
        let mut next = self.cluster_ips;
        defaults::fill(rt, object, &mut || {
            next += 1;
            // 10.96.0.1 is the `kubernetes` Service of a real cluster.
            let n = next + 9;
            format!("10.96.{}.{}", n / 250, n % 250 + 1)
        });
        if mode == Mode::Commit {
            self.cluster_ips = next;
        }
    }

    /// Objects whose ownerReferences name `uid`.
    fn dependants_of(&self, uid: &str) -> Vec<(Key, Value)> {
        self.dependants
            .iter()
            .filter_map(|k| self.objects.get(k).map(|o| (k, o)))
            .filter(|(_, o)| owned_by(o, uid))
            .map(|(k, o)| (k.clone(), o.clone()))
            .collect()
    }
}

impl Store {
    pub fn new(history_limit: usize) -> Self {
        let (changes, _) = broadcast::channel(4096);
        let mut objects = BTreeMap::new();
        for ns in ["default", "kube-system"] {
            objects.insert(
                Key {
                    rt: resources::NAMESPACES,
                    namespace: String::new(),
                    name: ns.to_owned(),
                },
                json!({
                    "apiVersion": "v1", "kind": "Namespace",
                    "metadata": {"name": ns, "uid": uuid::Uuid::new_v4().to_string(), "resourceVersion": "1", "creationTimestamp": now()},
                    "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}
                }),
            );
        }
        let uids = objects
            .iter()
            .map(|(k, o)| (uid_of(o), k.clone()))
            .collect();
        Self {
            inner: Mutex::new(Inner {
                rv: 1,
                objects,
                uids,
                dependants: Default::default(),
                foreground: Default::default(),
                history: VecDeque::new(),
                compacted: 0,
                cluster_ips: 0,
            }),
            changes,
            history_limit: history_limit.max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Change>> {
        self.changes.subscribe()
    }

    pub fn current_rv(&self) -> u64 {
        self.lock().rv
    }

    /// Records a write: bumps the version, stamps it on the object, keeps it
    /// in the bounded history and tells the watchers.
    fn commit(
        &self,
        inner: &mut Inner,
        mode: Mode,
        key: &Key,
        kind: ChangeKind,
        mut object: Value,
        previous: Option<Value>,
    ) -> Value {
        if mode == Mode::DryRun {
            // The answer carries the version the object has now: none yet
            // for a create.
            match inner
                .objects
                .get(key)
                .and_then(|o| meta(o, "resourceVersion"))
            {
                Some(rv) => object["metadata"]["resourceVersion"] = json!(rv),
                None => {
                    if let Some(m) = object["metadata"].as_object_mut() {
                        m.remove("resourceVersion");
                    }
                }
            }
            return object;
        }
        inner.rv += 1;
        let rv = inner.rv;
        object["metadata"]["resourceVersion"] = json!(rv.to_string());
        match kind {
            ChangeKind::Deleted => {
                inner.objects.remove(key);
                inner.uids.remove(&uid_of(&object));
                inner.dependants.remove(key);
                inner.foreground.remove(key);
            }
            _ => {
                inner.objects.insert(key.clone(), object.clone());
                inner.uids.insert(uid_of(&object), key.clone());
                if has_owners(&object) {
                    inner.dependants.insert(key.clone());
                } else {
                    inner.dependants.remove(key);
                }
                if in_foreground_deletion(&object) {
                    inner.foreground.insert(key.clone());
                } else {
                    inner.foreground.remove(key);
                }
            }
        }
        let change = Arc::new(Change::new(
            rv,
            key.rt,
            key.namespace.clone(),
            kind,
            object.clone(),
            previous,
        ));
        inner.history.push_back(change.clone());
        while inner.history.len() > self.history_limit {
            if let Some(dropped) = inner.history.pop_front() {
                inner.compacted = dropped.rv;
            }
        }
        // No receivers is fine: nobody watches yet.
        let _ = self.changes.send(change);
        object
    }

    fn key(rt: ResourceType, namespace: &str, name: &str) -> Key {
        Key {
            rt,
            namespace: if rt.namespaced {
                namespace.to_owned()
            } else {
                String::new()
            },
            name: name.to_owned(),
        }
    }

    fn require_namespace(inner: &Inner, rt: ResourceType, namespace: &str) -> ApiResult<()> {
        if !rt.namespaced {
            return Ok(());
        }
        let key = Self::key(resources::NAMESPACES, "", namespace);
        match inner.objects.get(&key) {
            None => Err(ApiError::not_found("", "namespaces", namespace)),
            Some(ns) if ns.pointer("/metadata/deletionTimestamp").is_some() => {
                Err(ApiError::forbidden(format!(
                    "{} \"{}\" is forbidden: unable to create new content in namespace {namespace} because it is being terminated",
                    rt.plural, ""
                )))
            }
            Some(_) => Ok(()),
        }
    }

    pub fn get(&self, rt: ResourceType, namespace: &str, name: &str) -> ApiResult<Value> {
        self.lock()
            .objects
            .get(&Self::key(rt, namespace, name))
            .cloned()
            .ok_or_else(|| ApiError::not_found(rt.group, rt.plural, name))
    }

    /// Objects of `rt` (in `namespace`, or everywhere) matching the
    /// selectors, and the version the list is consistent at.
    pub fn list(
        &self,
        rt: ResourceType,
        namespace: Option<&str>,
        labels: &LabelSelector,
        fields: &FieldSelector,
    ) -> (Vec<Value>, u64) {
        let inner = self.lock();
        let namespace = namespace.filter(|_| rt.namespaced);
        let items = of_type(&inner.objects, rt, namespace)
            .filter(|(_, v)| labels.matches(v) && fields.matches(v))
            .map(|(_, v)| v.clone())
            .collect();
        (items, inner.rv)
    }

    /// A consistent starting point for a watch: the events after `rv` and a
    /// receiver for what follows, taken under one lock so nothing falls
    /// between them.
    pub fn watch_from(&self, rv: Option<u64>) -> Result<WatchStart, u64> {
        let inner = self.lock();
        let receiver = self.changes.subscribe();
        match rv {
            Some(rv) => {
                if rv < inner.compacted {
                    return Err(inner.compacted);
                }
                let replay = inner
                    .history
                    .iter()
                    .filter(|c| c.rv > rv)
                    .cloned()
                    .collect();
                Ok((replay, receiver, inner.rv))
            }
            None => {
                // No version: the current state as ADDED events.
                let replay = inner
                    .objects
                    .iter()
                    .map(|(k, o)| {
                        Arc::new(Change::new(
                            inner.rv,
                            k.rt,
                            k.namespace.clone(),
                            ChangeKind::Added,
                            o.clone(),
                            None,
                        ))
                    })
                    .collect();
                Ok((replay, receiver, inner.rv))
            }
        }
    }

    /// Every object (for controllers that scan).
    pub fn snapshot(&self, rt: ResourceType) -> Vec<Value> {
        let inner = self.lock();
        of_type(&inner.objects, rt, None)
            .map(|(_, o)| o.clone())
            .collect()
    }
}

/// The objects of one type (in one namespace), through the key order.
fn of_type<'a>(
    objects: &'a BTreeMap<Key, Value>,
    rt: ResourceType,
    namespace: Option<&'a str>,
) -> impl Iterator<Item = (&'a Key, &'a Value)> + 'a {
    let start = Key {
        rt,
        namespace: namespace.unwrap_or("").to_owned(),
        name: String::new(),
    };
    objects
        .range(start..)
        .take_while(move |(k, _)| k.rt == rt && namespace.is_none_or(|ns| k.namespace == ns))
}
