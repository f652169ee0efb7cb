//! `GET /api/runtimes/{runtime}/change-requests`: the trail of a runtime's
//! change control, for managers and admins, newest first: each request
//! with who asked, when and why, every approval and rejection, and how it
//! ended (when it ran, or why it failed, expired or was withdrawn). The
//! audit log holds the same steps, chained; this reads them as one story.

use axum::{
    Json,
    extract::{Path, State},
    response::{IntoResponse, Response},
};
use backend::{auth::AuthSession, change_requests};
use lifecycle::Permission;

use super::{permitted, refuse};
use crate::state::AppState;

pub async fn trail(
    State(state): State<AppState>,
    auth: AuthSession,
    Path(runtime): Path<String>,
) -> Response {
    if let Err((code, message)) =
        permitted(auth, Permission::ReadAudit, Permission::ReadAudit.refusal())
    {
        return refuse(code, message);
    }
    let policy = match backend::runtimes::get(&state.services.db, &runtime).await {
        Ok(record) => record.settings.change_policy,
        Err(error) => {
            let error = app::ConsoleError::from(error);
            return refuse(error.status(), &error.to_string());
        }
    };
    match change_requests::of_runtime(&state.services.db, &runtime).await {
        Ok(requests) => Json(serde_json::json!({
            "runtime": runtime,
            "policy": policy,
            "requests": requests,
        }))
        .into_response(),
        Err(error) => {
            let error = app::ConsoleError::from(error);
            refuse(error.status(), &error.to_string())
        }
    }
}
