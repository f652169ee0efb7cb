//! The HTTP surface: discovery, and get/list/watch/create/update/patch/
//! apply/delete/deletecollection on every served type, with the status,
//! scale and log subresources. Here the request is carried out; `routes`
//! says where it points, `options` what its parameters ask for, `writes`
//! holds patches and scale, `watch` the streams.

mod options;
pub mod request;
mod routes;
mod watch;
mod writes;

use std::sync::Arc;

use axum::{
    body::Bytes,
    extract::State,
    http::{HeaderMap, Method, StatusCode, Uri, header},
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

use crate::{
    Emulator,
    errors::{ApiError, ApiResult},
    logs,
    resources::{self, ResourceType},
    selector::{FieldSelector, LabelSelector, supported_fields},
    store::{Mode, Part, Preconditions},
    table,
};
use options::{delete_mode, page_request, propagation, unknown_fields, write_mode};
use request::{Query, decode, flag, json_response, parse_query};
pub use routes::Access;
use routes::{Target, access_of, route};
use watch::watch;
use writes::{patch, scale};

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
    let security = pod_security_warnings(emulator, &target, method, headers, &body);
    let mut response = carry_out(emulator, target, method, headers, body, query, mode).await?;
    // `fieldValidation=Warn` (the default): the write is made and each
    // unknown field comes back as a warning, as `kubectl` prints them; so
    // do the Pod Security levels a workload would violate.
    let warnings = unknown
        .iter()
        .map(|field| format!("unknown field \"{field}\""))
        .chain(security);
    for text in warnings {
        let warning = format!(
            "299 - \"{}\"",
            text.replace('\\', "\\\\").replace('"', "\\\"")
        );
        if let Ok(value) = header::HeaderValue::from_str(&warning) {
            response.headers_mut().append(header::WARNING, value);
        }
    }
    Ok(response)
}

/// What the namespace's Pod Security labels say of a pod or workload
/// being written (its pods are refused by the store; this is the warning).
fn pod_security_warnings(
    emulator: &Emulator,
    target: &Target,
    method: &Method,
    headers: &HeaderMap,
    body: &Bytes,
) -> Vec<String> {
    let (rt, namespace) = match target {
        Target::Collection {
            rt,
            namespace: Some(ns),
        } if *method == Method::POST => (*rt, ns),
        Target::Item {
            rt,
            namespace,
            sub: None,
            ..
        } if matches!(*method, Method::PUT | Method::PATCH) => (*rt, namespace),
        _ => return Vec::new(),
    };
    let Ok(object) = decode(headers, body) else {
        return Vec::new();
    };
    let labels = emulator
        .store
        .get(resources::NAMESPACES, "", namespace)
        .ok()
        .map(|ns| ns["metadata"]["labels"].clone());
    crate::store::pod_security::admit(rt, labels.as_ref(), &object).unwrap_or_default()
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

fn list_of(rt: ResourceType, items: Vec<Value>, rv: u64) -> Value {
    json!({
        "kind": format!("{}List", rt.kind),
        "apiVersion": rt.api_version(),
        "metadata": {"resourceVersion": rv.to_string()},
        "items": items,
    })
}
