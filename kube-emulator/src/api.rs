//! The HTTP surface: discovery, and get/list/watch/create/update/patch/
//! apply/delete/deletecollection on every served type, with the status,
//! scale and log subresources.

use std::{collections::HashMap, convert::Infallible, sync::Arc, time::Duration};

use axum::{
    body::{Body, Bytes},
    extract::State,
    http::{HeaderMap, Method, StatusCode, Uri, header},
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::{
    Emulator,
    errors::{ApiError, ApiResult},
    logs,
    resources::{self, ResourceType},
    selector::{FieldSelector, LabelSelector, supported_fields},
    store::{Change, ChangeKind, Part, Propagation},
};

type Query = HashMap<String, String>;

fn json_response(code: StatusCode, value: &Value) -> Response {
    (
        code,
        [(header::CONTENT_TYPE, "application/json")],
        value.to_string(),
    )
        .into_response()
}

fn parse_query(uri: &Uri) -> Query {
    uri.query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default()
}

/// Where a request points.
enum Target {
    Discovery(Value),
    Collection {
        rt: ResourceType,
        namespace: Option<String>,
    },
    Item {
        rt: ResourceType,
        namespace: String,
        name: String,
        sub: Option<String>,
    },
}

fn route(path: &str) -> ApiResult<Target> {
    let segments: Vec<&str> = path
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let (group, version, rest): (&str, &str, &[&str]) = match segments.as_slice() {
        ["version"] => {
            return Ok(Target::Discovery(json!({
                "major": "1", "minor": "34", "gitVersion": "v1.34.0-emulator",
                "gitCommit": "emulator", "gitTreeState": "clean", "buildDate": "2026-01-01T00:00:00Z",
                "goVersion": "n/a", "compiler": "rustc", "platform": "linux/amd64"
            })));
        }
        ["api"] => {
            return Ok(Target::Discovery(json!({
                "kind": "APIVersions", "versions": ["v1"],
                "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]
            })));
        }
        ["apis"] => return Ok(Target::Discovery(group_list())),
        ["api", "v1", rest @ ..] => ("", "v1", rest),
        ["apis", group, version, rest @ ..] => (*group, *version, rest),
        ["apis", group] => {
            return group_list()["groups"]
                .as_array()
                .and_then(|groups| groups.iter().find(|g| g["name"] == *group).cloned())
                .map(|mut g| {
                    g["kind"] = json!("APIGroup");
                    g["apiVersion"] = json!("v1");
                    Target::Discovery(g)
                })
                .ok_or_else(|| ApiError::no_route(path));
        }
        _ => return Err(ApiError::no_route(path)),
    };
    let find = |plural: &str| {
        resources::find(group, version, plural).ok_or_else(|| ApiError::no_route(path))
    };
    match rest {
        [] if resources::group_versions().contains(&(group, version))
            || (group.is_empty() && version == "v1") =>
        {
            Ok(Target::Discovery(resource_list(group, version)))
        }
        [plural] => Ok(Target::Collection {
            rt: find(plural)?,
            namespace: None,
        }),
        ["namespaces", namespace, plural] => {
            let rt = find(plural)?;
            if !rt.namespaced {
                return Err(ApiError::no_route(path));
            }
            Ok(Target::Collection {
                rt,
                namespace: Some((*namespace).to_owned()),
            })
        }
        ["namespaces", namespace, plural, name] => Ok(Target::Item {
            rt: find(plural)?,
            namespace: (*namespace).to_owned(),
            name: (*name).to_owned(),
            sub: None,
        }),
        ["namespaces", namespace, plural, name, sub] => Ok(Target::Item {
            rt: find(plural)?,
            namespace: (*namespace).to_owned(),
            name: (*name).to_owned(),
            sub: Some((*sub).to_owned()),
        }),
        [plural, name] => {
            let rt = find(plural)?;
            if rt.namespaced {
                return Err(ApiError::no_route(path));
            }
            Ok(Target::Item {
                rt,
                namespace: String::new(),
                name: (*name).to_owned(),
                sub: None,
            })
        }
        [plural, name, sub] => {
            let rt = find(plural)?;
            if rt.namespaced {
                return Err(ApiError::no_route(path));
            }
            Ok(Target::Item {
                rt,
                namespace: String::new(),
                name: (*name).to_owned(),
                sub: Some((*sub).to_owned()),
            })
        }
        _ => Err(ApiError::no_route(path)),
    }
}

/// The authorization request Kubernetes would check for this call: the verb
/// and resource an RBAC rule has to grant. Discovery needs no rule.
fn access_of(target: &Target, method: &Method, query: &Query) -> Option<Access> {
    let (rt, namespace, sub, item) = match target {
        Target::Discovery(_) => return None,
        Target::Collection { rt, namespace } => (rt, namespace.clone(), None, false),
        Target::Item {
            rt, namespace, sub, ..
        } => (
            rt,
            (!namespace.is_empty()).then(|| namespace.clone()),
            sub.clone(),
            true,
        ),
    };
    let verb = match (method.as_str(), item) {
        ("GET", false) if flag(query, "watch") => "watch",
        ("GET", false) => "list",
        ("GET", true) => "get",
        ("POST", _) => "create",
        ("PUT", _) => "update",
        ("PATCH", _) => "patch",
        ("DELETE", false) => "deletecollection",
        ("DELETE", true) => "delete",
        _ => return None,
    };
    let resource = match sub {
        Some(sub) => format!("{}/{sub}", rt.plural),
        None => rt.plural.to_owned(),
    };
    Some(Access {
        verb: verb.to_owned(),
        group: rt.group.to_owned(),
        resource,
        namespaced: namespace.is_some(),
    })
}

/// One kind of request a client made: what an RBAC rule must allow for it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct Access {
    pub verb: String,
    /// The API group, empty for the core group.
    pub group: String,
    /// The plural resource, with its subresource: `pods/log`.
    pub resource: String,
    /// Made inside a namespace (a Role can grant it), or cluster-wide.
    pub namespaced: bool,
}

fn group_list() -> Value {
    let groups: Vec<Value> = resources::group_versions()
        .into_iter()
        .filter(|(g, _)| !g.is_empty())
        .map(|(g, v)| {
            let gv = json!({"groupVersion": format!("{g}/{v}"), "version": v});
            json!({"name": g, "versions": [gv.clone()], "preferredVersion": gv})
        })
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

fn resource_list(group: &str, version: &str) -> Value {
    let mut list = Vec::new();
    for rt in resources::ALL
        .into_iter()
        .filter(|t| t.group == group && t.version == version)
    {
        let mut verbs = vec![
            "create", "delete", "get", "list", "patch", "update", "watch",
        ];
        if rt.namespaced {
            verbs.push("deletecollection");
        }
        list.push(json!({
            "name": rt.plural, "singularName": rt.singular, "namespaced": rt.namespaced,
            "kind": rt.kind, "verbs": verbs, "shortNames": rt.short_names,
        }));
        if rt.status {
            list.push(json!({"name": format!("{}/status", rt.plural), "singularName": "", "namespaced": rt.namespaced, "kind": rt.kind, "verbs": ["get", "patch", "update"]}));
        }
        if rt.scale {
            list.push(json!({"name": format!("{}/scale", rt.plural), "singularName": "", "namespaced": rt.namespaced, "group": "autoscaling", "version": "v1", "kind": "Scale", "verbs": ["get", "patch", "update"]}));
        }
        if rt.log {
            list.push(json!({"name": format!("{}/log", rt.plural), "singularName": "", "namespaced": rt.namespaced, "kind": rt.kind, "verbs": ["get"]}));
        }
    }
    let gv = if group.is_empty() {
        version.to_owned()
    } else {
        format!("{group}/{version}")
    };
    json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": list})
}

fn decode(headers: &HeaderMap, body: &Bytes) -> ApiResult<Value> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json");
    if body.is_empty() {
        return Err(ApiError::bad_request("the request body is empty"));
    }
    let value: Value = if content_type.contains("yaml") {
        serde_yaml_ng::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))?
    } else {
        serde_json::from_slice(body).map_err(|e| {
            ApiError::bad_request(format!("couldn't get version/kind; json parse error: {e}"))
        })?
    };
    Ok(value)
}

fn selectors(rt: ResourceType, query: &Query) -> ApiResult<(LabelSelector, FieldSelector)> {
    let labels =
        LabelSelector::parse(query.get("labelSelector").map(String::as_str).unwrap_or(""))?;
    let fields = FieldSelector::parse(
        query.get("fieldSelector").map(String::as_str).unwrap_or(""),
        rt.kind,
        if rt.group == "events.k8s.io" {
            crate::selector::EVENTS_V1_FIELDS
        } else {
            supported_fields(rt.plural)
        },
    )?;
    Ok((labels, fields))
}

fn flag(query: &Query, name: &str) -> bool {
    query.get(name).is_some_and(|v| v == "true" || v == "1")
}

pub async fn dispatch(
    State(emulator): State<Arc<Emulator>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match handle(&emulator, &method, &uri, &headers, body).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

async fn handle(
    emulator: &Arc<Emulator>,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let query = parse_query(uri);
    let store = &emulator.store;
    let target = route(uri.path())?;
    if let Some(access) = access_of(&target, method, &query) {
        emulator.record(access);
    }
    match target {
        Target::Discovery(value) => {
            if method != Method::GET {
                return Err(ApiError::method_not_allowed());
            }
            Ok(json_response(StatusCode::OK, &value))
        }
        Target::Collection { rt, namespace } => {
            let (labels, fields) = selectors(rt, &query)?;
            match *method {
                Method::GET if flag(&query, "watch") => {
                    watch(emulator, rt, namespace, labels, fields, &query)
                }
                Method::GET => {
                    let (items, rv) = store.list(rt, namespace.as_deref(), &labels, &fields);
                    Ok(json_response(StatusCode::OK, &list_of(rt, items, rv)))
                }
                Method::POST => {
                    let namespace = namespace
                        .ok_or_else(|| {
                            if rt.namespaced {
                                ApiError::method_not_allowed()
                            } else {
                                ApiError::bad_request("")
                            }
                        })
                        .or_else(|e| {
                            if rt.namespaced {
                                Err(e)
                            } else {
                                Ok(String::new())
                            }
                        })?;
                    let object = decode(headers, &body)?;
                    if flag_dry_run(&query) {
                        return Ok(json_response(StatusCode::CREATED, &object));
                    }
                    let created = store.create(rt, &namespace, object)?;
                    Ok(json_response(StatusCode::CREATED, &created))
                }
                Method::DELETE => {
                    let (items, _) = store.list(rt, namespace.as_deref(), &labels, &fields);
                    let propagation = propagation(&query, &body)?;
                    let mut deleted = Vec::new();
                    for item in items {
                        let name = crate::store::name_of(&item);
                        let ns = item["metadata"]["namespace"]
                            .as_str()
                            .unwrap_or("")
                            .to_owned();
                        if let Ok(object) = store.delete(rt, &ns, &name, propagation, None, None) {
                            deleted.push(object);
                        }
                    }
                    emulator.kick();
                    Ok(json_response(
                        StatusCode::OK,
                        &list_of(rt, deleted, store.current_rv()),
                    ))
                }
                _ => Err(ApiError::method_not_allowed()),
            }
        }
        Target::Item {
            rt,
            namespace,
            name,
            sub,
        } => {
            let part = match sub.as_deref() {
                None => Part::Main,
                Some("status") if rt.status => Part::Status,
                Some("scale") if rt.scale => {
                    return scale(emulator, rt, &namespace, &name, method, headers, body);
                }
                Some("log") if rt.log && *method == Method::GET => {
                    return logs::serve(emulator, &namespace, &name, &query);
                }
                Some(other) => return Err(ApiError::no_route(&format!("{}/{other}", rt.plural))),
            };
            match *method {
                Method::GET => Ok(json_response(
                    StatusCode::OK,
                    &store.get(rt, &namespace, &name)?,
                )),
                Method::PUT => {
                    let object = decode(headers, &body)?;
                    let updated = store.update(rt, &namespace, &name, object, part)?;
                    emulator.kick();
                    Ok(json_response(StatusCode::OK, &updated))
                }
                Method::PATCH => {
                    let patched = patch(
                        emulator, rt, &namespace, &name, part, headers, &body, &query,
                    )?;
                    emulator.kick();
                    Ok(patched)
                }
                Method::DELETE => {
                    let options: Value = if body.is_empty() {
                        json!({})
                    } else {
                        serde_json::from_slice(&body).map_err(|e| {
                            ApiError::bad_request(format!("invalid DeleteOptions: {e}"))
                        })?
                    };
                    let propagation = propagation(&query, &body)?;
                    let deleted = store.delete(
                        rt,
                        &namespace,
                        &name,
                        propagation,
                        options
                            .pointer("/preconditions/uid")
                            .and_then(Value::as_str),
                        options
                            .pointer("/preconditions/resourceVersion")
                            .and_then(Value::as_str),
                    )?;
                    emulator.kick();
                    let code = if deleted.pointer("/metadata/deletionTimestamp").is_some() {
                        StatusCode::ACCEPTED
                    } else {
                        StatusCode::OK
                    };
                    Ok(json_response(code, &deleted))
                }
                _ => Err(ApiError::method_not_allowed()),
            }
        }
    }
}

fn flag_dry_run(query: &Query) -> bool {
    query.get("dryRun").is_some_and(|v| v == "All")
}

fn propagation(query: &Query, body: &Bytes) -> ApiResult<Propagation> {
    let from_body = if body.is_empty() {
        None
    } else {
        serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|v| v["propagationPolicy"].as_str().map(str::to_owned))
    };
    let orphan_flag = query.get("orphanDependents").map(|v| v == "true");
    match from_body
        .or_else(|| query.get("propagationPolicy").cloned())
        .as_deref()
    {
        Some("Foreground") => Ok(Propagation::Foreground),
        Some("Background") => Ok(Propagation::Background),
        Some("Orphan") => Ok(Propagation::Orphan),
        None if orphan_flag == Some(true) => Ok(Propagation::Orphan),
        None => Ok(Propagation::Background),
        Some(other) => Err(ApiError::bad_request(format!(
            "unknown propagationPolicy {other:?}"
        ))),
    }
}

fn list_of(rt: ResourceType, items: Vec<Value>, rv: u64) -> Value {
    json!({
        "kind": format!("{}List", rt.kind),
        "apiVersion": rt.api_version(),
        "metadata": {"resourceVersion": rv.to_string()},
        "items": items,
    })
}

#[allow(clippy::too_many_arguments)]
fn patch(
    emulator: &Arc<Emulator>,
    rt: ResourceType,
    namespace: &str,
    name: &str,
    part: Part,
    headers: &HeaderMap,
    body: &Bytes,
    query: &Query,
) -> ApiResult<Response> {
    let store = &emulator.store;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_owned();
    if content_type == "application/apply-patch+yaml"
        || content_type == "application/apply-patch+json"
    {
        let manager = query.get("fieldManager").filter(|m| !m.is_empty()).ok_or_else(|| {
            ApiError::bad_request("PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch")
        })?;
        let config = decode(headers, body)?;
        let existed = store.get(rt, namespace, name).is_ok();
        let applied = store.apply(
            rt,
            namespace,
            name,
            config,
            crate::store::Applier {
                manager,
                force: flag(query, "force"),
            },
            part,
        )?;
        let code = if existed {
            StatusCode::OK
        } else {
            StatusCode::CREATED
        };
        return Ok(json_response(code, &applied));
    }
    let current = store.get(rt, namespace, name)?;
    let patch_doc: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
    let mut next = current.clone();
    match content_type.as_str() {
        "application/merge-patch+json" => json_patch::merge(&mut next, &patch_doc),
        "application/strategic-merge-patch+json" => {
            crate::merge::strategic_merge(&mut next, &patch_doc)
        }
        "application/json-patch+json" => {
            let operations: json_patch::Patch = serde_json::from_value(patch_doc)
                .map_err(|e| ApiError::bad_request(format!("invalid JSON patch: {e}")))?;
            json_patch::patch(&mut next, &operations).map_err(|e| {
                ApiError::invalid(rt.kind, name, &[("patch".into(), e.to_string())])
            })?;
        }
        other => return Err(ApiError::unsupported_media_type(other)),
    }
    // A patch that names a version is a precondition on it.
    let patched_rv = next["metadata"]["resourceVersion"].clone();
    if patched_rv != current["metadata"]["resourceVersion"] && !patched_rv.is_null() {
        return Err(ApiError::stale(rt.group, rt.plural, name));
    }
    let updated = store.update(rt, namespace, name, next, part)?;
    Ok(json_response(StatusCode::OK, &updated))
}

fn scale(
    emulator: &Arc<Emulator>,
    rt: ResourceType,
    namespace: &str,
    name: &str,
    method: &Method,
    headers: &HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let store = &emulator.store;
    let scale_of = |object: &Value| {
        let selector = object
            .pointer("/spec/selector/matchLabels")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .unwrap_or_default();
        json!({
            "kind": "Scale", "apiVersion": "autoscaling/v1",
            "metadata": {"name": name, "namespace": namespace,
                "uid": object["metadata"]["uid"], "resourceVersion": object["metadata"]["resourceVersion"],
                "creationTimestamp": object["metadata"]["creationTimestamp"]},
            "spec": {"replicas": object.pointer("/spec/replicas").cloned().unwrap_or(json!(1))},
            "status": {"replicas": object.pointer("/status/replicas").cloned().unwrap_or(json!(0)), "selector": selector},
        })
    };
    let current = store.get(rt, namespace, name)?;
    let replicas = match *method {
        Method::GET => return Ok(json_response(StatusCode::OK, &scale_of(&current))),
        Method::PUT => decode(headers, &body)?
            .pointer("/spec/replicas")
            .and_then(Value::as_i64),
        Method::PATCH => {
            let mut doc = scale_of(&current);
            let patch_doc = decode(headers, &body)?;
            json_patch::merge(&mut doc, &patch_doc);
            doc.pointer("/spec/replicas").and_then(Value::as_i64)
        }
        _ => return Err(ApiError::method_not_allowed()),
    }
    .ok_or_else(|| {
        ApiError::invalid(
            "Scale",
            name,
            &[("spec.replicas".into(), "Required value".into())],
        )
    })?;
    let mut next = current;
    next["spec"]["replicas"] = json!(replicas);
    let updated = store.update(rt, namespace, name, next, Part::Main)?;
    emulator.kick();
    Ok(json_response(StatusCode::OK, &scale_of(&updated)))
}

/// What a watcher is sent for `change`, given its selectors: objects moving
/// into the selection are ADDED, out of it DELETED.
fn event_for(
    change: &Change,
    rt: ResourceType,
    namespace: Option<&str>,
    labels: &LabelSelector,
    fields: &FieldSelector,
) -> Option<&'static str> {
    if change.rt != rt || namespace.is_some_and(|ns| ns != change.namespace) {
        return None;
    }
    let matches = |o: &Value| labels.matches(o) && fields.matches(o);
    let now = matches(&change.object);
    match change.kind {
        ChangeKind::Added => now.then_some("ADDED"),
        ChangeKind::Deleted => now.then_some("DELETED"),
        ChangeKind::Modified => match (change.previous.as_ref().map(matches), now) {
            (Some(true) | None, true) => Some("MODIFIED"),
            (Some(false), true) => Some("ADDED"),
            (Some(true) | None, false) => Some("DELETED"),
            (Some(false), false) => None,
        },
    }
}

fn line(kind: &str, object: &Value) -> Result<Bytes, Infallible> {
    line_json(kind, &object.to_string())
}

fn line_json(kind: &str, object_json: &str) -> Result<Bytes, Infallible> {
    Ok(Bytes::from(format!(
        "{{\"type\":\"{kind}\",\"object\":{object_json}}}\n"
    )))
}

fn watch(
    emulator: &Arc<Emulator>,
    rt: ResourceType,
    namespace: Option<String>,
    labels: LabelSelector,
    fields: FieldSelector,
    query: &Query,
) -> ApiResult<Response> {
    let since = match query.get("resourceVersion").map(String::as_str) {
        None | Some("") | Some("0") => None,
        Some(text) => Some(
            text.parse::<u64>()
                .map_err(|_| ApiError::bad_request(format!("invalid resourceVersion {text:?}")))?,
        ),
    };
    let (replay, mut receiver, start_rv) =
        emulator.store.watch_from(since).map_err(|compacted| {
            ApiError::expired(format!(
                "too old resource version: {} ({})",
                since.unwrap_or(0),
                compacted + 1
            ))
        })?;
    let timeout = query
        .get("timeoutSeconds")
        .and_then(|t| t.parse::<u64>().ok())
        .map(Duration::from_secs)
        .unwrap_or(Duration::from_secs(30 * 60));
    let bookmarks = flag(query, "allowWatchBookmarks");
    let bookmark_every = emulator.config.bookmark_interval;
    let mut dropped = emulator.faults.watch_drops();
    let (tx, mut rx) = mpsc::channel::<Result<Bytes, Infallible>>(256);
    let kind = rt.kind;
    let api_version = rt.api_version();
    tokio::spawn(async move {
        let ns = namespace.as_deref();
        let mut last_rv = start_rv;
        for change in replay {
            if let Some(event) = event_for(&change, rt, ns, &labels, &fields) {
                last_rv = last_rv.max(change.rv);
                if tx
                    .send(line_json(event, change.object_json()))
                    .await
                    .is_err()
                {
                    return;
                }
            }
        }
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(deadline);
        let mut ticks = tokio::time::interval(bookmark_every);
        ticks.tick().await;
        loop {
            tokio::select! {
                _ = &mut deadline => return,
                _ = dropped.changed() => return,
                _ = ticks.tick(), if bookmarks => {
                    let bookmark = json!({"kind": kind, "apiVersion": api_version, "metadata": {"resourceVersion": last_rv.to_string()}});
                    if tx.send(line("BOOKMARK", &bookmark)).await.is_err() {
                        return;
                    }
                }
                received = receiver.recv() => match received {
                    Ok(change) => {
                        if change.rv <= last_rv {
                            continue;
                        }
                        last_rv = last_rv.max(change.rv);
                        if let Some(event) = event_for(&change, rt, ns, &labels, &fields)
                            && tx.send(line_json(event, change.object_json())).await.is_err()
                        {
                            return;
                        }
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                        let error = ApiError::expired("the watch fell behind; relist").status();
                        let _ = tx.send(line("ERROR", &error)).await;
                        return;
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                },
            }
        }
    });
    let stream = futures::stream::poll_fn(move |cx| rx.poll_recv(cx));
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from_stream(stream))
        .map_err(|e| ApiError::internal(e.to_string()))
}
