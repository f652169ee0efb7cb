//! Versions through the REST API: list, read with live state, register from
//! a manifest, act, and read a node's logs. Each calls the backend service
//! the pages' server functions call.

use axum::{
    Extension, Json,
    body::Bytes,
    extract::{Path, State, rejection::JsonRejection},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use backend::{
    actions::Acted, auth::Attempt, change_requests::Asked, manifest_file, versions,
    versions::VersionRecord,
};
use lifecycle::{Action, AuditAction, Permission, Reason, Status, VersionLive};
use serde::{Deserialize, Serialize};

use super::{caller::Caller, problem::Problem};
use crate::state::AppState;

/// How many of a node's newest log lines a read answers.
const LOG_LINES: i64 = 500;

/// A version as the API lists it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct VersionSummary {
    pub runtime: String,
    pub name: String,
    pub description: String,
    #[schema(value_type = super::schema::StatusName)]
    pub status: Status,
    pub status_changed_at: String,
    pub status_actor: String,
    pub serving: bool,
    pub bad: bool,
    pub created_at: String,
    pub created_by: String,
}

impl From<&VersionRecord> for VersionSummary {
    fn from(record: &VersionRecord) -> Self {
        Self {
            runtime: record.runtime.clone(),
            name: record.name.clone(),
            description: record.description.clone(),
            status: record.status,
            status_changed_at: record.status_changed_at.clone(),
            status_actor: record.status_actor.clone(),
            serving: record.serving_version.as_deref() == Some(record.name.as_str()),
            bad: record.bad.is_some(),
            created_at: record.created_at.clone(),
            created_by: record.created_by.clone(),
        }
    }
}

/// A version with its live state.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct VersionDetail {
    #[serde(flatten)]
    pub summary: VersionSummary,
    /// Status, health and each node's pods, as the version screen shows them.
    #[schema(value_type = Object)]
    pub live: VersionLive,
    /// The manifest it was registered from.
    #[schema(value_type = Object)]
    pub manifest: lifecycle::Manifest,
}

#[utoipa::path(get, path = "/api/v1/runtimes/{runtime}/versions", operation_id = "listVersions", tag = "versions",
    params(("runtime" = String, Path, description = "The runtime's name")),
    responses((status = 200, description = "The runtime's versions", body = [VersionSummary]),
        (status = 401, response = super::schema::Unauthenticated),
        (status = 404, response = super::schema::NotFound),
        (status = 429, response = super::schema::Throttled),
        (status = 503, response = super::schema::Unavailable)))]
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(runtime): Path<String>,
) -> Result<Json<Vec<VersionSummary>>, Problem> {
    let services = &state.services;
    caller.require(services, Permission::View, None).await?;
    backend::runtimes::get(&services.db, &runtime)
        .await
        .map_err(|e| Problem::from(app::ConsoleError::from(e)))?;
    let records = versions::list(&services.db, &runtime).await?;
    Ok(Json(records.iter().map(VersionSummary::from).collect()))
}

#[utoipa::path(get, path = "/api/v1/runtimes/{runtime}/versions/{version}", operation_id = "getVersion", tag = "versions",
    params(("runtime" = String, Path), ("version" = String, Path)),
    responses((status = 200, description = "The version with its live state", body = VersionDetail),
        (status = 401, response = super::schema::Unauthenticated),
        (status = 404, response = super::schema::NotFound),
        (status = 429, response = super::schema::Throttled),
        (status = 503, response = super::schema::Unavailable)))]
pub async fn get(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((runtime, version)): Path<(String, String)>,
) -> Result<Json<VersionDetail>, Problem> {
    let services = &state.services;
    caller.require(services, Permission::View, None).await?;
    let record = versions::get(&services.db, &runtime, &version).await?;
    Ok(Json(VersionDetail {
        summary: VersionSummary::from(&record),
        manifest: record.manifest.clone(),
        live: services.live_of(record),
    }))
}

/// `POST /runtimes/{rt}/versions`: the body is the manifest, YAML or JSON
/// (as `register -f` sends a file).
#[utoipa::path(post, path = "/api/v1/runtimes/{runtime}/versions", operation_id = "registerVersion", tag = "versions",
    params(("runtime" = String, Path)),
    request_body(content = String, description = "The manifest, YAML or JSON", content_type = "application/yaml"),
    responses((status = 201, description = "Registered, stopped", body = VersionSummary),
        (status = 401, response = super::schema::Unauthenticated),
        (status = 403, response = super::schema::Forbidden),
        (status = 404, response = super::schema::NotFound),
        (status = 409, response = super::schema::Conflict),
        (status = 413, response = super::schema::TooLarge),
        (status = 422, response = super::schema::Invalid),
        (status = 429, response = super::schema::Throttled),
        (status = 503, response = super::schema::Unavailable)))]
pub async fn register(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(runtime): Path<String>,
    body: Bytes,
) -> Result<Response, Problem> {
    let services = &state.services;
    caller
        .require(
            services,
            Permission::Operate,
            Some(Attempt {
                action: AuditAction::Register,
                runtime: Some(runtime.clone()),
                version: None,
            }),
        )
        .await?;
    let manifest =
        manifest_file::parse(&body).map_err(|e| Problem::from(app::ConsoleError::from(e)))?;
    let record = versions::register(&services.db, &caller.actor(), &runtime, &manifest).await?;
    let summary = VersionSummary::from(&record);
    Ok((StatusCode::CREATED, Json(summary)).into_response())
}

/// The body of `POST .../actions`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionRequest {
    #[schema(value_type = super::schema::ActionName)]
    pub action: Action,
    /// The status the caller last saw: the action is refused (409) if the
    /// version has moved on since.
    #[schema(value_type = super::schema::StatusName)]
    pub expected: Status,
    pub reason: String,
    /// Overrides a closed change window, where the caller's role may.
    #[serde(default)]
    pub break_glass: bool,
}

/// What an accepted action did: carried out (its new status; the cluster
/// follows) or held for approval as a change request.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum ActionAnswer {
    Applied {
        #[schema(value_type = super::schema::StatusName)]
        from: Status,
        #[schema(value_type = super::schema::StatusName)]
        status: Status,
        /// The version that was published before, now `started`.
        demoted: Option<String>,
        audit_id: i64,
        #[schema(value_type = Object)]
        version: Box<VersionLive>,
    },
    Requested {
        #[schema(value_type = Object)]
        change_request: Box<backend::change_requests::ChangeRequest>,
    },
}

#[utoipa::path(post, path = "/api/v1/runtimes/{runtime}/versions/{version}/actions", operation_id = "actOnVersion", tag = "versions",
    params(("runtime" = String, Path), ("version" = String, Path)),
    request_body = ActionRequest,
    responses((status = 202, description = "Carried out (the cluster follows), or held for approval", body = ActionAnswer),
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
pub async fn act(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((runtime, version)): Path<(String, String)>,
    body: Result<Json<ActionRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<ActionAnswer>), Problem> {
    let services = &state.services;
    // Serde's words can name Rust types: the caller gets the shape instead.
    let Json(request) = body.map_err(|e| {
        Problem::rejected(
            e.status(),
            "The body must be JSON: {\"action\": \"start|stop|publish|unpublish\", \"expected\": \"<status seen>\", \"reason\": \"...\", \"break_glass\": false}.",
        )
    })?;
    let action = request.action;
    let allowed = caller
        .require(
            services,
            Permission::Operate,
            Some(Attempt {
                action: action.into(),
                runtime: Some(runtime.clone()),
                version: Some(version.clone()),
            }),
        )
        .await;
    if let Err(problem) = allowed {
        backend::metrics::action(action.as_str(), "denied");
        return Err(problem);
    }
    let reason = Reason::parse(&request.reason).map_err(|error| {
        backend::metrics::action(action.as_str(), "invalid");
        Problem::invalid(format!("Reason: {error}."))
    })?;
    let asked = Asked {
        runtime: &runtime,
        version: &version,
        action,
        expected: request.expected,
        reason: &reason,
        rollback_from: None,
        break_glass: request.break_glass,
    };
    let answer = match services.act_asked(&caller.actor(), asked).await? {
        Acted::Applied(applied) => ActionAnswer::Applied {
            from: applied.transition.from,
            status: applied.transition.to,
            demoted: applied.demoted,
            audit_id: applied.audit_id,
            version: Box::new(services.live(&runtime, &version).await?),
        },
        Acted::Requested(change_request) => ActionAnswer::Requested { change_request },
    };
    Ok((StatusCode::ACCEPTED, Json(answer)))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LogLine {
    pub at: String,
    pub pod: String,
    pub line: String,
}

#[utoipa::path(get, path = "/api/v1/runtimes/{runtime}/versions/{version}/nodes/{node}/logs", operation_id = "nodeLogs", tag = "versions",
    params(("runtime" = String, Path), ("version" = String, Path), ("node" = String, Path)),
    responses((status = 200, description = "The node's newest stored log lines", body = [LogLine]),
        (status = 401, response = super::schema::Unauthenticated),
        (status = 404, response = super::schema::NotFound),
        (status = 429, response = super::schema::Throttled),
        (status = 503, response = super::schema::Unavailable)))]
pub async fn logs(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((runtime, version, node)): Path<(String, String, String)>,
) -> Result<Json<Vec<LogLine>>, Problem> {
    let services = &state.services;
    caller.require(services, Permission::View, None).await?;
    // An unknown version is a 404, not an empty log.
    versions::get(&services.db, &runtime, &version).await?;
    let lines = backend::runtime::logs::read(&services.db, &runtime, &version, &node, LOG_LINES)
        .await
        .map_err(super::problem::store_failed)?;
    Ok(Json(
        lines
            .into_iter()
            .map(|l| LogLine {
                at: l.at,
                pod: l.pod,
                line: l.line,
            })
            .collect(),
    ))
}
