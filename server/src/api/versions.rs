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
#[derive(Debug, Serialize)]
pub struct VersionSummary {
    pub runtime: String,
    pub name: String,
    pub description: String,
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
#[derive(Debug, Serialize)]
pub struct VersionDetail {
    #[serde(flatten)]
    pub summary: VersionSummary,
    pub live: VersionLive,
    pub manifest: lifecycle::Manifest,
}

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
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionRequest {
    pub action: Action,
    /// The status the caller last saw: the action is refused (409) if the
    /// version has moved on since.
    pub expected: Status,
    pub reason: String,
    /// Overrides a closed change window, where the caller's role may.
    #[serde(default)]
    pub break_glass: bool,
}

/// What an accepted action did: carried out (its new status; the cluster
/// follows) or held for approval as a change request.
#[derive(Debug, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum ActionAnswer {
    Applied {
        from: Status,
        status: Status,
        demoted: Option<String>,
        audit_id: i64,
        version: Box<VersionLive>,
    },
    Requested {
        change_request: Box<backend::change_requests::ChangeRequest>,
    },
}

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

#[derive(Debug, Serialize)]
pub struct LogLine {
    pub at: String,
    pub pod: String,
    pub line: String,
}

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
