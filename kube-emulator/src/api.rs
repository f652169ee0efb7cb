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
    store::{Change, ChangeKind, Mode, PageRequest, Part, Preconditions, Propagation},
    table,
};

pub type Query = HashMap<String, String>;

/// What a write to one object names: its type, namespace and name, the
/// part written and whether it is a dry run.
type Write<'a> = (ResourceType, &'a str, &'a str, Part, Mode);

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
    let media = content_type.split(';').next().unwrap_or("").trim();
    if !(media.is_empty() || media.ends_with("json") || media.ends_with("yaml")) {
        // Protobuf and CBOR are the API server's too; the emulator speaks
        // JSON and YAML, and says so as the server does for what it lacks.
        return Err(ApiError::unsupported_media_type(media));
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
        supported_fields(rt.plural),
    )?;
    Ok((labels, fields))
}

/// A boolean query parameter as Go's `strconv.ParseBool` reads it (the
/// Python client sends `watch=True`).
pub(crate) fn flag(query: &Query, name: &str) -> bool {
    query
        .get(name)
        .is_some_and(|v| matches!(v.as_str(), "1" | "t" | "T" | "true" | "TRUE" | "True"))
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
    let target = route(uri.path())?;
    if let Some(access) = access_of(&target, method, &query) {
        emulator.record(access);
    }
    // events.k8s.io/v1 is a view of the core events: the request is
    // carried out on them, and the answer converted back.
    let v1_events = match &target {
        Target::Collection { rt, .. } | Target::Item { rt, .. } => *rt == resources::EVENTS_V1,
        Target::Discovery(_) => false,
    };
    if !v1_events {
        return serve(emulator, target, method, headers, body, query).await;
    }
    let target = match target {
        Target::Collection { namespace, .. } => Target::Collection {
            rt: resources::EVENTS,
            namespace,
        },
        Target::Item {
            namespace,
            name,
            sub,
            ..
        } => Target::Item {
            rt: resources::EVENTS,
            namespace,
            name,
            sub,
        },
        discovery => discovery,
    };
    let watching = flag(&query, "watch");
    let body = crate::events_v1::request_body(headers, body)?;
    let query = crate::events_v1::query(query);
    let response = serve(emulator, target, method, headers, body, query).await?;
    Ok(crate::events_v1::response(response, watching).await)
}

async fn serve(
    emulator: &Arc<Emulator>,
    target: Target,
    method: &Method,
    headers: &HeaderMap,
    body: Bytes,
    query: Query,
) -> ApiResult<Response> {
    let mode = write_mode(&query)?;
    let (unknown, body) = unknown_fields(&target, method, headers, body, &query)?;
    let mut response = carry_out(emulator, target, method, headers, body, query, mode).await?;
    // `fieldValidation=Warn` (the default): the write is made and each
    // unknown field comes back as a warning, as `kubectl` prints them.
    for field in unknown {
        let warning = format!("299 - \"unknown field \\\"{field}\\\"\"");
        if let Ok(value) = header::HeaderValue::from_str(&warning) {
            response.headers_mut().append(header::WARNING, value);
        }
    }
    Ok(response)
}

/// `fieldValidation`: how unknown fields in a write are treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FieldValidation {
    Ignore,
    Warn,
    Strict,
}

/// The unknown fields of a write's body to warn about, and the body
/// without them; with `Strict`, a body that has any is refused, as "Field
/// validation" in the API concepts reference describes.
fn unknown_fields(
    target: &Target,
    method: &Method,
    headers: &HeaderMap,
    body: Bytes,
    query: &Query,
) -> ApiResult<(Vec<String>, Bytes)> {
    let validation = match query.get("fieldValidation").map(String::as_str) {
        None | Some("") | Some("Warn") => FieldValidation::Warn,
        Some("Ignore") => FieldValidation::Ignore,
        Some("Strict") => FieldValidation::Strict,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "Invalid value: {other:?}: fieldValidation must be one of \"Ignore\", \"Warn\", or \"Strict\""
            )));
        }
    };
    let rt = match target {
        Target::Collection { rt, .. } if *method == Method::POST => *rt,
        Target::Item { rt, sub, .. }
            if matches!(*method, Method::PUT | Method::PATCH)
                && sub.as_deref().is_none_or(|s| s == "status") =>
        {
            *rt
        }
        _ => return Ok((Vec::new(), body)),
    };
    if body.is_empty() {
        return Ok((Vec::new(), body));
    }
    // A body that does not parse gets its error from the handler.
    let Ok(mut value) = decode(headers, &body) else {
        return Ok((Vec::new(), body));
    };
    if value.is_array() {
        return Ok((Vec::new(), body));
    }
    let unknown: Vec<String> = crate::openapi::fields::prune(rt, &mut value)
        .into_iter()
        .map(|f| f.trim_start_matches('.').to_owned())
        .collect();
    if validation == FieldValidation::Strict && !unknown.is_empty() {
        let fields = unknown
            .iter()
            .map(|f| format!("unknown field {f:?}"))
            .collect::<Vec<_>>()
            .join(", ");
        return Err(ApiError::bad_request(format!(
            "{kind} in version {version:?} cannot be handled as a {kind}: strict decoding error: {fields}",
            kind = rt.kind,
            version = rt.version,
        )));
    }
    if unknown.is_empty() {
        return Ok((unknown, body));
    }
    // JSON is YAML too: the pruned body reads the same whatever its type.
    let pruned = Bytes::from(value.to_string());
    Ok((
        if validation == FieldValidation::Warn {
            unknown
        } else {
            Vec::new()
        },
        pruned,
    ))
}

async fn carry_out(
    emulator: &Arc<Emulator>,
    target: Target,
    method: &Method,
    headers: &HeaderMap,
    body: Bytes,
    query: Query,
    mode: Mode,
) -> ApiResult<Response> {
    let store = &emulator.store;
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
                    let selection = (rt, namespace, labels, fields);
                    watch(emulator, selection, as_table(headers, &query), &query)
                }
                Method::GET => {
                    let request = page_request(&query)?;
                    let page =
                        store.list_page(rt, namespace.as_deref(), &labels, &fields, &request)?;
                    let mut metadata = json!({"resourceVersion": page.rv.to_string()});
                    if let Some(token) = page.continue_token {
                        metadata["continue"] = json!(token);
                    }
                    if let Some(remaining) = page.remaining {
                        metadata["remainingItemCount"] = json!(remaining);
                    }
                    let body = match as_table(headers, &query) {
                        Some(include) => table::table(rt, &page.items, metadata, include),
                        None => {
                            let mut list = list_of(rt, page.items, page.rv);
                            list["metadata"] = metadata;
                            list
                        }
                    };
                    Ok(json_response(StatusCode::OK, &body))
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
                    let created = store.create_as(rt, &namespace, object, mode)?;
                    Ok(json_response(StatusCode::CREATED, &created))
                }
                Method::DELETE => {
                    let (items, _) = store.list(rt, namespace.as_deref(), &labels, &fields);
                    let propagation = propagation(&query, &body)?;
                    let options = serde_json::from_slice::<Value>(&body).unwrap_or(Value::Null);
                    let mode = delete_mode(mode, &options)?;
                    let mut deleted = Vec::new();
                    for item in items {
                        let name = crate::store::name_of(&item);
                        let ns = item["metadata"]["namespace"]
                            .as_str()
                            .unwrap_or("")
                            .to_owned();
                        let preconditions = Preconditions::default();
                        if let Ok(object) =
                            store.delete_as(rt, &ns, &name, propagation, preconditions, mode)
                        {
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
                    let target = (rt, namespace.as_str(), name.as_str(), Part::Main, mode);
                    return scale(emulator, target, method, headers, body);
                }
                Some("log") if rt.log && *method == Method::GET => {
                    return logs::serve(emulator, &namespace, &name, &query);
                }
                Some(other) => return Err(ApiError::no_route(&format!("{}/{other}", rt.plural))),
            };
            match *method {
                Method::GET => {
                    let object = store.get(rt, &namespace, &name)?;
                    let body = match as_table(headers, &query) {
                        Some(include) => {
                            let metadata =
                                json!({"resourceVersion": object["metadata"]["resourceVersion"]});
                            table::table(rt, std::slice::from_ref(&object), metadata, include)
                        }
                        None => object,
                    };
                    Ok(json_response(StatusCode::OK, &body))
                }
                Method::PUT => {
                    let object = decode(headers, &body)?;
                    let updated = store.update_as(rt, &namespace, &name, object, part, mode)?;
                    emulator.kick();
                    Ok(json_response(StatusCode::OK, &updated))
                }
                Method::PATCH => {
                    let target = (rt, namespace.as_str(), name.as_str(), part, mode);
                    let patched = patch(emulator, target, headers, &body, &query)?;
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
                    let mode = delete_mode(mode, &options)?;
                    let preconditions = Preconditions {
                        uid: options
                            .pointer("/preconditions/uid")
                            .and_then(Value::as_str),
                        resource_version: options
                            .pointer("/preconditions/resourceVersion")
                            .and_then(Value::as_str),
                    };
                    let deleted =
                        store.delete_as(rt, &namespace, &name, propagation, preconditions, mode)?;
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

/// Whether the client asked for a Table (and with what of each object).
fn as_table(headers: &HeaderMap, query: &Query) -> Option<table::Include> {
    let accept = headers.get(header::ACCEPT)?.to_str().ok()?;
    table::wanted(accept)
        .then(|| table::Include::parse(query.get("includeObject").map(String::as_str)))
}

/// A delete's `DeleteOptions.dryRun` (where clients such as kube and
/// client-go put it), besides the query's.
fn delete_mode(mode: Mode, options: &Value) -> ApiResult<Mode> {
    match options.get("dryRun") {
        None | Some(Value::Null) => Ok(mode),
        Some(Value::Array(values)) if values.is_empty() => Ok(mode),
        Some(Value::Array(values)) if values.iter().all(|v| v == "All") => Ok(Mode::DryRun),
        Some(other) => Err(ApiError::bad_request(format!(
            "Invalid dry run value: {other}: supported values are \"All\""
        ))),
    }
}

fn page_request(query: &Query) -> ApiResult<PageRequest> {
    let limit = match query.get("limit").map(String::as_str) {
        None | Some("") => None,
        Some(text) => Some(text.parse::<usize>().map_err(|_| {
            ApiError::bad_request(format!(
                "invalid limit {text:?}: must be a non-negative integer"
            ))
        })?),
    };
    Ok(PageRequest {
        limit,
        continue_token: query.get("continue").cloned(),
    })
}

/// `dryRun`: absent, or `All` (the only value the API defines; see "Dry
/// run" in the API concepts reference). Anything else is refused, as a
/// real server does, rather than taken for a write.
fn write_mode(query: &Query) -> ApiResult<Mode> {
    match query.get("dryRun").map(String::as_str) {
        None | Some("") => Ok(Mode::Commit),
        Some("All") => Ok(Mode::DryRun),
        Some(other) => Err(ApiError::bad_request(format!(
            "Invalid dry run value: {other:?}: supported values are \"All\""
        ))),
    }
}

fn propagation(query: &Query, body: &Bytes) -> ApiResult<Propagation> {
    let from_body = if body.is_empty() {
        None
    } else {
        serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|v| v["propagationPolicy"].as_str().map(str::to_owned))
    };
    let orphan_flag = Some(flag(query, "orphanDependents")).filter(|f| *f);
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

fn patch(
    emulator: &Arc<Emulator>,
    (rt, namespace, name, part, mode): Write<'_>,
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
        let applier = crate::store::Applier {
            manager,
            force: flag(query, "force"),
        };
        let applied = store.apply_as(rt, namespace, name, config, applier, part, mode)?;
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
    let updated = store.update_as(rt, namespace, name, next, part, mode)?;
    Ok(json_response(StatusCode::OK, &updated))
}

fn scale(
    emulator: &Arc<Emulator>,
    (rt, namespace, name, _, mode): Write<'_>,
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
    let updated = store.update_as(rt, namespace, name, next, Part::Main, mode)?;
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

/// What a watch follows: a type, in a namespace or everywhere, through
/// label and field selectors.
type Selection = (ResourceType, Option<String>, LabelSelector, FieldSelector);

/// A watch event's line: the object, or its one-row Table.
fn event_line(
    kind: &str,
    change: &Change,
    table: Option<table::Include>,
) -> Result<Bytes, Infallible> {
    match table {
        None => line_json(kind, change.object_json()),
        Some(include) => {
            let metadata = json!({"resourceVersion": change.rv.to_string()});
            let rows = table::table(
                change.rt,
                std::slice::from_ref(&change.object),
                metadata,
                include,
            );
            line(kind, &rows)
        }
    }
}

fn watch(
    emulator: &Arc<Emulator>,
    (rt, namespace, labels, fields): Selection,
    table: Option<table::Include>,
    query: &Query,
) -> ApiResult<Response> {
    let since = match query.get("resourceVersion").map(String::as_str) {
        None | Some("") | Some("0") => None,
        Some(text) => Some(
            text.parse::<u64>()
                .map_err(|_| ApiError::bad_request(format!("invalid resourceVersion {text:?}")))?,
        ),
    };
    let (replay, mut receiver, start_rv) = match emulator.store.watch_from(since) {
        Ok(start) => start,
        Err(compacted) => {
            // As the watch cache answers: the watch opens, and its one
            // event is the 410 (so that clients relist rather than retry
            // the same version).
            emulator.count_expired_watch();
            let error = ApiError::expired(format!(
                "too old resource version: {} ({})",
                since.unwrap_or(0),
                compacted + 1
            ));
            return Response::builder()
                .status(StatusCode::OK)
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(format!(
                    "{{\"type\":\"ERROR\",\"object\":{}}}\n",
                    error.status()
                )))
                .map_err(|e| ApiError::internal(e.to_string()));
        }
    };
    emulator.count_started_watch();
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
                if tx.send(event_line(event, &change, table)).await.is_err() {
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
                            && tx.send(event_line(event, &change, table)).await.is_err()
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
