//! Watches: the replay from a resourceVersion, then every change that
//! concerns the selection, with bookmarks, a timeout and 410 when the
//! history no longer reaches back.

use std::{convert::Infallible, sync::Arc, time::Duration};

use axum::{
    body::{Body, Bytes},
    http::{StatusCode, header},
    response::Response,
};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use super::request::{Query, flag};
use crate::{
    Emulator,
    errors::{ApiError, ApiResult},
    resources::ResourceType,
    selector::{FieldSelector, LabelSelector},
    store::{Change, ChangeKind},
    table,
};

/// What a watcher is sent for `change`, given its selectors: objects moving
/// into the selection are ADDED, out of it DELETED.
pub(super) fn event_for(
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

pub(super) fn line(kind: &str, object: &Value) -> Result<Bytes, Infallible> {
    line_json(kind, &object.to_string())
}

pub(super) fn line_json(kind: &str, object_json: &str) -> Result<Bytes, Infallible> {
    Ok(Bytes::from(format!(
        "{{\"type\":\"{kind}\",\"object\":{object_json}}}\n"
    )))
}

/// What a watch follows: a type, in a namespace or everywhere, through
/// label and field selectors.
pub(super) type Selection = (ResourceType, Option<String>, LabelSelector, FieldSelector);

/// A watch event's line: the object, or its one-row Table.
pub(super) fn event_line(
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

pub(super) fn watch(
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
