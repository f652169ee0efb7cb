//! Releases and change requests through the REST API: a runtime's release
//! history, the open change requests, and deciding on one with a reason.
//! The rules (four eyes, quorum, expiry) are the backend's, as for the
//! `/approvals` page.

use axum::{
    Extension, Json,
    extract::{
        Path, Query, State,
        rejection::{JsonRejection, PathRejection},
    },
};
use backend::{change_requests::ChangeRequest, releases::Release};
use lifecycle::{AuditAction, Permission, Reason, RequestState};
use serde::{Deserialize, Serialize};

use super::{
    caller::Caller,
    problem::{Problem, bad_path, store_failed},
};
use crate::state::AppState;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ApiRelease {
    pub id: i64,
    pub version: String,
    pub published_by: String,
    pub publish_reason: Option<String>,
    /// When the traffic first went to the version.
    pub started_at: String,
    /// Absent while it serves.
    pub ended_at: Option<String>,
    /// superseded, unpublished or failed.
    pub end_cause: Option<String>,
    pub superseded_by: Option<String>,
}

impl From<Release> for ApiRelease {
    fn from(r: Release) -> Self {
        Self {
            id: r.id,
            version: r.version,
            published_by: r.published_by,
            publish_reason: r.publish_reason,
            started_at: r.started_at,
            ended_at: r.ended_at,
            end_cause: r.end_cause.map(|c| c.as_str().to_owned()),
            superseded_by: r.superseded_by,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReleasePage {
    /// Newest first.
    pub releases: Vec<ApiRelease>,
    /// Pass as `cursor` for the next (older) page; absent on the last.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct ReleaseParams {
    cursor: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/runtimes/{runtime}/releases", operation_id = "listReleases", tag = "releases",
    params(("runtime" = String, Path), ("cursor" = Option<String>, Query, description = "The previous page's next_cursor")),
    responses((status = 200, description = "The runtime's releases, newest first", body = ReleasePage),
        (status = 400, response = super::schema::Malformed),
        (status = 401, response = super::schema::Unauthenticated),
        (status = 404, response = super::schema::NotFound),
        (status = 422, response = super::schema::Invalid),
        (status = 429, response = super::schema::Throttled),
        (status = 503, response = super::schema::Unavailable)))]
pub async fn releases(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(runtime): Path<String>,
    params: Result<Query<ReleaseParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<ReleasePage>, Problem> {
    let services = &state.services;
    caller.require(services, Permission::View, None).await?;
    let Query(params) = params
        .map_err(|e| Problem::rejected(e.status(), "The query parameters could not be read."))?;
    let before = match params.cursor.as_deref().filter(|c| !c.is_empty()) {
        None => None,
        Some(cursor) => Some(
            super::audit::decode_cursor(cursor)
                .ok_or_else(|| Problem::invalid("cursor: not a cursor this API gave."))?,
        ),
    };
    backend::runtimes::get(&services.db, &runtime)
        .await
        .map_err(|e| Problem::from(app::ConsoleError::from(e)))?;
    let page = backend::releases::history(&services.db, &runtime, before, 100)
        .await
        .map_err(store_failed)?;
    Ok(Json(ReleasePage {
        releases: page.releases.into_iter().map(ApiRelease::from).collect(),
        next_cursor: page.older.map(super::audit::encode_cursor),
    }))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ApiDecision {
    pub by: String,
    pub approve: bool,
    pub reason: String,
    pub at: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ApiChangeRequest {
    pub id: i64,
    pub runtime: String,
    pub version: String,
    #[schema(value_type = super::schema::ActionName)]
    pub action: lifecycle::Action,
    /// open, approved, rejected, withdrawn, expired, failed or done.
    pub state: String,
    pub reason: String,
    pub requested_by: String,
    pub requested_at: String,
    pub expires_at: String,
    pub approvals_needed: u8,
    pub rollback_from: Option<String>,
    pub decisions: Vec<ApiDecision>,
    pub outcome: Option<String>,
}

impl From<ChangeRequest> for ApiChangeRequest {
    fn from(r: ChangeRequest) -> Self {
        Self {
            id: r.id,
            runtime: r.runtime,
            version: r.version,
            action: r.action,
            state: r.state.as_str().to_owned(),
            reason: r.reason,
            requested_by: r.requested_by,
            requested_at: r.requested_at,
            expires_at: r.expires_at,
            approvals_needed: r.approvals_needed,
            rollback_from: r.rollback_from,
            decisions: r
                .decisions
                .into_iter()
                .map(|d| ApiDecision {
                    by: d.by,
                    approve: d.approve,
                    reason: d.reason,
                    at: d.at,
                })
                .collect(),
            outcome: r.outcome,
        }
    }
}

#[utoipa::path(get, path = "/api/v1/approvals", operation_id = "listApprovals", tag = "approvals",
    responses((status = 200, description = "Every open change request", body = [ApiChangeRequest]),
        (status = 401, response = super::schema::Unauthenticated),
        (status = 429, response = super::schema::Throttled),
        (status = 503, response = super::schema::Unavailable)))]
pub async fn approvals(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<Vec<ApiChangeRequest>>, Problem> {
    let services = &state.services;
    caller.require(services, Permission::View, None).await?;
    let open = backend::change_requests::list(&services.db, &[RequestState::Open], None)
        .await
        .map_err(|e| Problem::from(app::ConsoleError::from(e)))?;
    Ok(Json(open.into_iter().map(ApiChangeRequest::from).collect()))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    /// true approves, false rejects.
    pub approve: bool,
    pub reason: String,
}

#[utoipa::path(post, path = "/api/v1/approvals/{id}/decision", operation_id = "decideApproval", tag = "approvals",
    params(("id" = i64, Path)),
    request_body = DecisionRequest,
    responses((status = 200, description = "The request after the decision", body = ApiChangeRequest),
        (status = 400, response = super::schema::Malformed),
        (status = 401, response = super::schema::Unauthenticated),
        (status = 403, response = super::schema::Forbidden),
        (status = 404, response = super::schema::NotFound),
        (status = 409, response = super::schema::Conflict),
        (status = 413, response = super::schema::TooLarge),
        (status = 415, response = super::schema::Malformed),
        (status = 422, response = super::schema::Invalid),
        (status = 429, response = super::schema::Throttled),
        (status = 503, response = super::schema::Unavailable)))]
pub async fn decide(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    path: Result<Path<i64>, PathRejection>,
    body: Result<Json<DecisionRequest>, JsonRejection>,
) -> Result<Json<ApiChangeRequest>, Problem> {
    let services = &state.services;
    let Path(id) = path.map_err(bad_path)?;
    // Serde's words can name Rust types: the caller gets the shape instead.
    let Json(body) = body.map_err(|e| {
        Problem::rejected(
            e.status(),
            "The body must be JSON: {\"approve\": true|false, \"reason\": \"...\"}.",
        )
    })?;
    let attempt = backend::auth::Attempt {
        action: if body.approve {
            AuditAction::ChangeApprove
        } else {
            AuditAction::ChangeReject
        },
        runtime: None,
        version: None,
    };
    caller
        .require(services, Permission::Operate, Some(attempt))
        .await?;
    let reason =
        Reason::parse(&body.reason).map_err(|e| Problem::invalid(format!("reason: {e}.")))?;
    let request = services
        .decide(&caller.actor(), id, body.approve, &reason)
        .await
        .map_err(|e| Problem::from(app::ConsoleError::from(e)))?;
    Ok(Json(request.into()))
}
