//! Plain axum routes beside the server functions. They answer refusals as
//! `{"error": "..."}` JSON with the status code.

use axum::{
    Json,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use backend::auth::{AuthSession, SessionUser};
use lifecycle::Permission;

pub mod audit_export;
pub mod change_trail;
pub mod csp_report;
pub mod diff;
pub mod health;
pub mod live;
pub mod metrics;
pub mod serving;

fn refuse(code: StatusCode, message: &str) -> Response {
    (code, Json(serde_json::json!({ "error": message }))).into_response()
}

/// The signed-in user when their role grants `permission`; otherwise the
/// status and message to `refuse` with (`forbidden` says why for a 403).
fn permitted(
    auth: AuthSession,
    permission: Permission,
    forbidden: &str,
) -> Result<SessionUser, (StatusCode, &str)> {
    match auth.user {
        None => Err((StatusCode::UNAUTHORIZED, "Please sign in to continue.")),
        Some(user) if !user.role.allows(permission) => Err((StatusCode::FORBIDDEN, forbidden)),
        Some(user) => Ok(user),
    }
}
