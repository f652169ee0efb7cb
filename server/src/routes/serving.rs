//! `GET /api/runtimes/{runtime}/serving?at=<RFC 3339>`: which version served
//! the runtime's traffic at an instant (now when `at` is left out), who had
//! published it and why, or that nothing did. The page at
//! `/runtimes/<runtime>/releases?at=` gives the same answer.

use axum::{
    Json,
    extract::{Path, Query, State},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use backend::auth::AuthSession;
use lifecycle::Permission;
use serde::Deserialize;

use super::{permitted, refuse};
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct ServingParams {
    at: Option<String>,
}

pub async fn serving(
    State(state): State<AppState>,
    auth: AuthSession,
    Path(runtime): Path<String>,
    params: Result<Query<ServingParams>, axum::extract::rejection::QueryRejection>,
) -> Response {
    if let Err((code, message)) = permitted(auth, Permission::View, Permission::View.refusal()) {
        return refuse(code, message);
    }
    let Ok(Query(params)) = params else {
        return refuse(StatusCode::BAD_REQUEST, "The parameters could not be read.");
    };
    let now = chrono::Utc::now();
    let at = params
        .at
        .filter(|at| !at.trim().is_empty())
        .unwrap_or_else(|| now.to_rfc3339());
    match app::releases::ssr::answer(&state.services.db, &runtime, &at, now).await {
        Ok(answer) => Json(serde_json::json!({
            "runtime": runtime,
            "at": answer.at,
            "before_runtime": answer.before_runtime,
            "serving": answer.release,
        }))
        .into_response(),
        Err(error) => refuse(error.status(), &error.to_string()),
    }
}
