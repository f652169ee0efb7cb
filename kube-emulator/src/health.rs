//! `/livez`, `/readyz` and `/healthz` as the API server answers them: `ok`
//! in plain text, the list of checks with `?verbose`, each check on its own
//! path (`/livez/ping`), and 404 for a check that does not exist.
//! Reference: "Kubernetes API health endpoints"
//! (kubernetes.io/docs/reference/using-api/health-checks/).

use axum::{
    extract::{Path, RawQuery},
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};

/// The checks the emulator runs: it has no etcd or informers to wait for,
/// so each passes as soon as it answers.
const LIVEZ: &[&str] = &[
    "ping",
    "log",
    "etcd",
    "poststarthook/start-apiextensions-controllers",
];
const READYZ: &[&str] = &[
    "ping",
    "log",
    "etcd",
    "etcd-readiness",
    "informer-sync",
    "poststarthook/start-apiextensions-controllers",
    "shutdown",
];

fn text(code: StatusCode, body: String) -> Response {
    (
        code,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body,
    )
        .into_response()
}

fn verbose(query: &Option<String>) -> bool {
    query.as_deref().is_some_and(|q| {
        form_urlencoded::parse(q.as_bytes()).any(|(k, v)| k == "verbose" && v != "false")
    })
}

fn report(endpoint: &str, checks: &[&str], query: &Option<String>) -> Response {
    if !verbose(query) {
        return text(StatusCode::OK, "ok".into());
    }
    let mut body: String = checks.iter().map(|c| format!("[+]{c} ok\n")).collect();
    body.push_str(&format!("{endpoint} check passed\n"));
    text(StatusCode::OK, body)
}

fn one(checks: &[&str], check: &str) -> Response {
    if checks.contains(&check) {
        text(StatusCode::OK, "ok".into())
    } else {
        text(StatusCode::NOT_FOUND, "404 page not found\n".into())
    }
}

pub async fn livez(RawQuery(query): RawQuery) -> Response {
    report("livez", LIVEZ, &query)
}

pub async fn readyz(RawQuery(query): RawQuery) -> Response {
    report("readyz", READYZ, &query)
}

/// `/healthz` is the deprecated form of both; it runs the liveness checks.
pub async fn healthz(RawQuery(query): RawQuery) -> Response {
    report("healthz", LIVEZ, &query)
}

pub async fn livez_check(Path(check): Path<String>) -> Response {
    one(LIVEZ, &check)
}

pub async fn readyz_check(Path(check): Path<String>) -> Response {
    one(READYZ, &check)
}

pub async fn healthz_check(Path(check): Path<String>) -> Response {
    one(LIVEZ, &check)
}
