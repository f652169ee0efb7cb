//! Request guards around every route: cross-site refusal, the session gate
//! (sign-in required everywhere but sign-in, probes and static files), the
//! absolute session lifetime, request body size and unusable paths. The
//! browser protections on every answer are in [`crate::headers`].

use axum::{
    body::Body,
    extract::{Request, State},
    http::{HeaderValue, Method, header},
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
};
use backend::auth::AuthSession;

use app::{ConsoleError, server::LOGIN_AT_KEY};

/// Session lifetimes.
#[derive(Debug, Clone, Copy)]
pub struct SessionPolicy {
    /// Ends the session this long after sign-in, however active.
    pub absolute: std::time::Duration,
}

/// Paths reachable without signing in.
pub(crate) fn is_public(path: &str) -> bool {
    matches!(
        path,
        "/login"
            | "/healthz"
            | "/readyz"
            | "/api/login"
            | "/api/logout"
            | "/api/me"
            | "/api/csp-report"
    ) || path.starts_with("/pkg/")
        // Static files from `public/` (favicon.svg, ...): a dot in the last
        // segment; no page route has one.
        || path.rsplit('/').next().is_some_and(|last| last.contains('.'))
}

/// A refusal as the server functions answer it: the error's own status and
/// its JSON.
fn error_response(error: ConsoleError) -> Response {
    let body = serde_json::to_string(&error).unwrap_or_else(|_| "\"Internal\"".to_owned());
    (
        error.status(),
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

/// Largest request body accepted. The biggest legitimate one is a manifest
/// (256 KiB) form-encoded, which can triple in size.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Refuses oversized bodies with 413 before anything reads them: a declared
/// length is checked up front; a body without one (chunked) is read up to
/// the limit and no further.
pub async fn limit_body(request: Request, next: Next) -> Response {
    let too_large = || {
        error_response(ConsoleError::TooLarge(format!(
            "The request is larger than the {} KiB the console accepts.",
            MAX_BODY_BYTES / 1024
        )))
    };
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match declared {
        Some(length) if length > MAX_BODY_BYTES as u64 => {
            tracing::warn!(path = %request.uri().path(), length, "oversized body refused");
            too_large()
        }
        Some(_) => next.run(request).await,
        None if matches!(*request.method(), Method::GET | Method::HEAD) => next.run(request).await,
        None => {
            use http_body_util::BodyExt;
            let (parts, body) = request.into_parts();
            match http_body_util::Limited::new(body, MAX_BODY_BYTES)
                .collect()
                .await
            {
                Ok(collected) => {
                    next.run(Request::from_parts(parts, Body::from(collected.to_bytes())))
                        .await
                }
                Err(error) if error.is::<http_body_util::LengthLimitError>() => {
                    tracing::warn!(path = %parts.uri.path(), "oversized chunked body refused");
                    too_large()
                }
                Err(error) => {
                    tracing::warn!(path = %parts.uri.path(), %error, "request body unreadable");
                    error_response(ConsoleError::Malformed(
                        "The request body could not be read.".into(),
                    ))
                }
            }
        }
    }
}

/// Longest path (bytes, as sent) the console answers; no page, function or
/// file comes near it.
const MAX_PATH_BYTES: usize = 2048;
/// Longest path segment: a file name longer than this cannot exist (the
/// file system refuses it with an I/O error), and no name the console
/// issues is longer.
const MAX_SEGMENT_BYTES: usize = 255;

/// Refuses requests nothing can answer before they reach a handler:
/// CONNECT is 405, no path is 400, a path
/// over [`MAX_PATH_BYTES`] is 414, a segment over [`MAX_SEGMENT_BYTES`] or
/// a NUL (either would be an I/O error in the file service) is 404.
pub async fn refuse_unusable_paths(request: Request, next: Next) -> Response {
    // The console is no proxy. An answer to CONNECT may carry no body, so
    // this one has none.
    if request.method() == Method::CONNECT {
        tracing::warn!(uri = %request.uri(), "CONNECT refused");
        return axum::http::StatusCode::METHOD_NOT_ALLOWED.into_response();
    }
    // `CONNECT host:port` and `OPTIONS *` name no path at all; the page
    // renderer and the file service both assume one.
    let Some(path) = request
        .uri()
        .path_and_query()
        .map(|pq| pq.path())
        .filter(|path| path.starts_with('/'))
    else {
        tracing::warn!(uri = %request.uri(), "request without a path refused");
        return error_response(ConsoleError::Malformed(
            "The request must name a path on this site.".into(),
        ));
    };
    if path.len() > MAX_PATH_BYTES {
        tracing::warn!(length = path.len(), "over-long path refused");
        return error_response(ConsoleError::UriTooLong(format!(
            "The path is longer than the {MAX_PATH_BYTES} bytes the console accepts."
        )));
    }
    let unusable = path.split('/').any(|segment| {
        segment.len() > MAX_SEGMENT_BYTES || segment.contains('\0') || segment.contains("%00")
    });
    if unusable {
        tracing::warn!(length = path.len(), "unusable path refused");
        return error_response(ConsoleError::NotFound(
            "There is nothing at this address.".into(),
        ));
    }
    next.run(request).await
}

/// Refuses state-changing requests another site's page sends: when the
/// browser names the request's origin and it is not this host, or says
/// the request is cross-site. Non-browser clients send neither.
pub async fn refuse_cross_site(request: Request, next: Next) -> Response {
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) {
        return next.run(request).await;
    }
    let headers = request.headers();
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let same_origin = |origin: &str| {
        host.is_some_and(|host| {
            origin
                .strip_prefix("http://")
                .or_else(|| origin.strip_prefix("https://"))
                == Some(host)
        })
    };
    let cross_site = match headers.get(header::ORIGIN).map(|o| o.to_str()) {
        Some(Ok(origin)) => !same_origin(origin),
        Some(Err(_)) => true,
        None => headers
            .get("sec-fetch-site")
            .is_some_and(|site| site.as_bytes() == b"cross-site"),
    };
    if cross_site {
        tracing::warn!(path = %request.uri().path(), "cross-site request refused");
        return error_response(ConsoleError::Forbidden(
            "Cross-site requests are not accepted.".into(),
        ));
    }
    next.run(request).await
}

/// Runs inside the auth layer: ends sessions past their absolute lifetime,
/// keeps active sessions from idling out, and sends the anonymous to sign in.
pub async fn session_gate(
    State(policy): State<SessionPolicy>,
    mut request: Request,
    next: Next,
) -> Response {
    let Some(mut auth) = request.extensions().get::<AuthSession>().cloned() else {
        tracing::error!("session gate without an auth session: layer order is wrong");
        return error_response(ConsoleError::Internal);
    };
    if auth.user.is_some() {
        let now = app::server::unix_now();
        let login_at = auth.session.get::<i64>(LOGIN_AT_KEY).await.ok().flatten();
        let expired =
            login_at.is_none_or(|at| now.saturating_sub(at) >= policy.absolute.as_secs() as i64);
        if expired {
            if let Err(error) = auth.logout().await {
                tracing::error!(%error, "could not end an expired session");
            }
            request.extensions_mut().insert(auth.clone());
        } else {
            touch(&auth.session, now).await;
        }
    }

    let path = request.uri().path().to_owned();
    let signed_in = auth.user.is_some();
    // The REST API authenticates its own callers (a bearer token, or this
    // session) and answers with problem details.
    let api = path.starts_with("/api/v1/");
    if !signed_in && !api && !is_public(&path) {
        if path.starts_with("/api/") {
            return error_response(ConsoleError::Unauthenticated);
        }
        if matches!(*request.method(), Method::GET | Method::HEAD) {
            let target = request
                .uri()
                .path_and_query()
                .map(|pq| pq.as_str().to_owned())
                .unwrap_or_else(|| path.clone());
            let next = form_urlencoded::byte_serialize(target.as_bytes()).collect::<String>();
            return Redirect::to(&format!("/login?next={next}")).into_response();
        }
        return error_response(ConsoleError::Unauthenticated);
    }
    if signed_in && path == "/login" && *request.method() == Method::GET {
        return Redirect::to("/").into_response();
    }
    next.run(request).await
}

/// Idle expiry counts from the session's last write; write at most once a
/// minute so an active user stays signed in without a write per request.
async fn touch(session: &tower_sessions::Session, now: i64) {
    const KEY: &str = "console.seen_at";
    let seen = session.get::<i64>(KEY).await.ok().flatten().unwrap_or(0);
    if now - seen >= 60
        && let Err(error) = session.insert(KEY, now).await
    {
        tracing::warn!(%error, "could not refresh the session");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sign_in_probes_and_static_files_are_public() {
        for public in [
            "/login",
            "/healthz",
            "/readyz",
            "/api/login",
            "/pkg/console.wasm",
            "/favicon.svg",
        ] {
            assert!(is_public(public), "{public}");
        }
        for private in [
            "/",
            "/audit",
            "/runtimes/demo/versions/v1",
            "/api/status",
            "/api/register_version",
            "/users",
        ] {
            assert!(!is_public(private), "{private}");
        }
    }
}
