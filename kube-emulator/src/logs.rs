//! Pod logs: every running container writes a plausible line every few
//! seconds from its start. Lines are computed from the clock, not stored, so
//! memory stays flat however long pods run.

use std::{collections::HashMap, sync::Arc, time::Duration};

use axum::{
    body::{Body, Bytes},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::{
    Emulator,
    errors::{ApiError, ApiResult},
    resources,
};

fn started(pod: &Value, container: &str) -> Option<DateTime<Utc>> {
    pod["status"]["containerStatuses"]
        .as_array()?
        .iter()
        .find(|c| c["name"] == container)?
        .pointer("/state/running/startedAt")?
        .as_str()?
        .parse()
        .ok()
}

fn line(pod: &str, container: &str, at: DateTime<Utc>, n: u64) -> String {
    let message = match n % 4 {
        0 => format!("INFO  {container}: ready, serving on :8080"),
        1 => format!(
            "INFO  {container}: processed batch {n} in {} ms",
            3 + n % 17
        ),
        2 => format!("DEBUG {container}: heartbeat from {pod}"),
        _ => format!("INFO  {container}: queue depth {}", n % 9),
    };
    format!("{} {message}\n", at.format("%Y-%m-%dT%H:%M:%SZ"))
}

/// Lines `first..` up to now.
fn lines_until(
    pod: &str,
    container: &str,
    start: DateTime<Utc>,
    interval: Duration,
    first: u64,
    now: DateTime<Utc>,
) -> (String, u64) {
    let step = chrono::Duration::from_std(interval).unwrap_or(chrono::Duration::seconds(2));
    let mut out = String::new();
    let mut n = first;
    loop {
        let at = start + step * (n as i32);
        if at > now {
            break;
        }
        out.push_str(&line(pod, container, at, n));
        n += 1;
    }
    (out, n)
}

pub fn serve(
    emulator: &Arc<Emulator>,
    namespace: &str,
    name: &str,
    query: &HashMap<String, String>,
) -> ApiResult<Response> {
    let pod = emulator.store.get(resources::PODS, namespace, name)?;
    let containers: Vec<String> = pod["spec"]["containers"]
        .as_array()
        .map(|cs| {
            cs.iter()
                .filter_map(|c| c["name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let container = match query.get("container") {
        Some(c) if containers.contains(c) => c.clone(),
        Some(c) => {
            return Err(ApiError::bad_request(format!(
                "container {c} is not valid for pod {name}"
            )));
        }
        None if containers.len() == 1 => containers[0].clone(),
        None => {
            return Err(ApiError::bad_request(format!(
                "a container name must be specified for pod {name}, choose one of: {containers:?}"
            )));
        }
    };
    let Some(start) = started(&pod, &container) else {
        let reason = pod["status"]["containerStatuses"]
            .as_array()
            .and_then(|cs| cs.iter().find(|c| c["name"] == container.as_str()))
            .and_then(|c| c.pointer("/state/waiting/reason"))
            .and_then(Value::as_str)
            .unwrap_or("ContainerCreating");
        return Err(ApiError::bad_request(format!(
            "container \"{container}\" in pod \"{name}\" is waiting to start: {reason}"
        )));
    };
    let interval = emulator.config.log_interval;
    let now = Utc::now();
    let (all, next) = lines_until(name, &container, start, interval, 0, now);
    let mut lines: Vec<&str> = all.split_inclusive('\n').collect();
    if let Some(since) = query
        .get("sinceSeconds")
        .and_then(|s| s.parse::<i64>().ok())
    {
        let cutoff = (now - chrono::Duration::seconds(since))
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string();
        lines.retain(|l| l[..20.min(l.len())] >= cutoff[..]);
    }
    if let Some(tail) = query.get("tailLines").and_then(|s| s.parse::<usize>().ok()) {
        let skip = lines.len().saturating_sub(tail);
        lines.drain(..skip);
    }
    let head: String = lines.concat();
    let follow = crate::api::request::flag(query, "follow");
    if !follow {
        return Ok((StatusCode::OK, [(header::CONTENT_TYPE, "text/plain")], head).into_response());
    }
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<Bytes, std::convert::Infallible>>(64);
    let store = emulator.store.clone();
    let (namespace, name, uid) = (
        namespace.to_owned(),
        name.to_owned(),
        crate::store::uid_of(&pod),
    );
    tokio::spawn(async move {
        if tx.send(Ok(Bytes::from(head))).await.is_err() {
            return;
        }
        let mut next = next;
        let mut ticks = tokio::time::interval(interval);
        loop {
            ticks.tick().await;
            // The stream ends with the pod.
            match store.get(resources::PODS, &namespace, &name) {
                Ok(pod) if crate::store::uid_of(&pod) == uid => {}
                _ => return,
            }
            let (more, after) = lines_until(&name, &container, start, interval, next, Utc::now());
            next = after;
            if !more.is_empty() && tx.send(Ok(Bytes::from(more))).await.is_err() {
                return;
            }
        }
    });
    let stream = futures::stream::poll_fn(move |cx| rx.poll_recv(cx));
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "text/plain")
        .body(Body::from_stream(stream))
        .map_err(|e| ApiError::internal(e.to_string()))
}
