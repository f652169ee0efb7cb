//! Runtimes through the REST API.

use axum::{Extension, Json, extract::State};
use lifecycle::Permission;
use serde::Serialize;

use super::{caller::Caller, problem::Problem};
use crate::state::AppState;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RuntimeSummary {
    pub name: String,
    pub description: String,
    pub host: Option<String>,
    /// The version the runtime's traffic goes to, if any.
    pub serving: Option<String>,
    pub created_at: String,
}

#[utoipa::path(get, path = "/api/v1/runtimes", operation_id = "listRuntimes", tag = "runtimes",
    responses((status = 200, description = "Every runtime", body = [RuntimeSummary]),
        (status = 401, response = super::schema::Unauthenticated),
        (status = 429, response = super::schema::Throttled),
        (status = 503, response = super::schema::Unavailable)))]
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<Vec<RuntimeSummary>>, Problem> {
    let services = &state.services;
    caller.require(services, Permission::View, None).await?;
    let runtimes = backend::runtimes::list(&services.db)
        .await
        .map_err(|e| Problem::from(app::ConsoleError::from(e)))?;
    Ok(Json(
        runtimes
            .into_iter()
            .map(|r| RuntimeSummary {
                host: r.settings.host.clone(),
                name: r.name,
                description: r.description,
                serving: r.serving_version,
                created_at: r.created_at,
            })
            .collect(),
    ))
}
