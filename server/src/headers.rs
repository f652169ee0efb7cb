//! What every answer tells the browser to protect: a strict
//! Content-Security-Policy whose only inline script is the page's own
//! hydration script (allowed by a nonce made for each response), no caching
//! of anything but the static bundle, HSTS when the cookies are secure, and
//! no powerful browser features.

use axum::{
    body::Body,
    extract::{Request, State},
    http::{HeaderValue, header},
    middleware::Next,
    response::Response,
};
use leptos::nonce::Nonce;

/// Where browsers send Content-Security-Policy violation reports.
pub const CSP_REPORT_PATH: &str = "/api/csp-report";

/// What the header middleware needs to know of the configuration.
#[derive(Debug, Clone, Copy)]
pub struct HeaderPolicy {
    /// HTTPS in front: `Strict-Transport-Security` too.
    pub secure: bool,
}

/// The policy for a page rendered with `nonce`. Scripts: this origin's
/// bundle and the one inline script carrying the nonce (`wasm-unsafe-eval`
/// lets the bundle compile its WebAssembly; it allows no `eval` of
/// JavaScript). No inline styles, plugins, frames, `<base>` or form posts
/// elsewhere.
pub fn content_security_policy(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; \
         object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; \
         report-uri {CSP_REPORT_PATH}"
    )
}

const PERMISSIONS_POLICY: &str = "camera=(), microphone=(), geolocation=(), payment=(), usb=(), \
                                  serial=(), browsing-topics=()";

/// Answers that may be cached: the bundle under `/pkg/` (its names change
/// with each build) and the public static files.
fn cacheable(path: &str) -> bool {
    path.starts_with("/pkg/") || (crate::security::is_public(path) && path.contains('.'))
}

/// Makes the response's nonce (the page renderer reads it from the request,
/// see [`request_nonce`]) and sets every protective header on the answer.
pub async fn protect(
    State(policy): State<HeaderPolicy>,
    mut request: Request,
    next: Next,
) -> Response<Body> {
    let nonce = Nonce::new();
    let cache = !cacheable(request.uri().path());
    request.extensions_mut().insert(nonce.clone());
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(
        "permissions-policy",
        HeaderValue::from_static(PERMISSIONS_POLICY),
    );
    if let Ok(csp) = HeaderValue::from_str(&content_security_policy(&nonce)) {
        headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    // Signed-in pages and API answers (audit entries, user lists) are
    // nobody's to keep: not a shared cache's, not the back button's after
    // sign-out.
    if cache {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if policy.secure {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    response
}

/// The nonce [`protect`] made for this request, for the page renderer to
/// put on its hydration script. Called inside a render, where the request's
/// parts are in context.
pub fn request_nonce() -> Option<Nonce> {
    leptos::prelude::use_context::<http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<Nonce>().cloned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_allows_no_inline_script_but_the_nonced_one() {
        let csp = content_security_policy("abc");
        assert!(csp.contains("script-src 'self' 'nonce-abc' 'wasm-unsafe-eval';"));
        assert!(!csp.contains("unsafe-inline"));
        for directive in [
            "frame-ancestors 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "object-src 'none'",
        ] {
            assert!(csp.contains(directive), "{directive}");
        }
    }

    #[test]
    fn only_the_bundle_and_static_files_may_be_cached() {
        for path in ["/pkg/console.wasm", "/favicon.svg"] {
            assert!(cacheable(path), "{path}");
        }
        for path in [
            "/",
            "/audit",
            "/users",
            "/api/audit",
            "/api/me",
            "/api/audit/export",
            "/login",
        ] {
            assert!(!cacheable(path), "{path}");
        }
    }
}
