//! `GET /api/runtimes/{runtime}/diff?from=<v>&to=<v>`: the comparison the
//! diff page shows, as a JSON download.

use axum::{
    Json,
    extract::{Path, Query, State},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use backend::auth::AuthSession;
use lifecycle::Permission;
use serde::Deserialize;

use super::{permitted, refuse};
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct DiffParams {
    from: String,
    to: String,
}

pub async fn diff(
    State(state): State<AppState>,
    auth: AuthSession,
    Path(runtime): Path<String>,
    params: Result<Query<DiffParams>, axum::extract::rejection::QueryRejection>,
) -> Response {
    if let Err((code, message)) = permitted(auth, Permission::View, Permission::View.refusal()) {
        return refuse(code, message);
    }
    let Ok(Query(params)) = params else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "from and to: the two versions to compare.",
        );
    };
    match app::releases::ssr::diff(&state.services.db, &runtime, &params.from, &params.to).await {
        Ok(diff) => {
            let mut response = Json(diff).into_response();
            response.headers_mut().insert(
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment; filename=\"diff.json\""),
            );
            response
        }
        Err(error) => refuse(error.status(), &error.to_string()),
    }
}
