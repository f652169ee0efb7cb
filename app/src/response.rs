//! The server function's own answer: its status, and whether the caller is a
//! plain form post that expects a page back.

use http::StatusCode;
use leptos::prelude::use_context;
use leptos_axum::ResponseOptions;

/// Gives the answer `status`, for calls from the wasm (and curl). A plain
/// form post (before the wasm loads) keeps leptos' redirect back to the
/// form, which carries the error for the form to show. Called by
/// [`ConsoleError`] as it is written into the response.
pub fn set_status(status: StatusCode) {
    if plain_form_post() {
        return;
    }
    if let Some(response) = use_context::<ResponseOptions>() {
        response.set_status(status);
    }
}

/// Tells the caller when to try again (a 429's `Retry-After`, seconds).
pub fn set_retry_after(seconds: u64) {
    if let Some(response) = use_context::<ResponseOptions>()
        && let Ok(value) = http::HeaderValue::from_str(&seconds.max(1).to_string())
    {
        response.insert_header(http::header::RETRY_AFTER, value);
    }
}

/// Whether the call is a browser's plain form submission (no wasm yet),
/// which expects a page back rather than data.
pub fn plain_form_post() -> bool {
    use_context::<http::request::Parts>().is_some_and(|parts| {
        parts.method == http::Method::POST
            && parts
                .headers
                .get(http::header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.contains("text/html"))
    })
}
