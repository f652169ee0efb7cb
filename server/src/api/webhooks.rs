//! A runtime's webhooks through the REST API, for admins: list, add (the
//! signing secret answered once), remove, the delivery log, send again.
//! The same backend calls as the `/runtimes/<rt>/webhooks` page.

use axum::{
    Extension, Json,
    extract::{
        Path, State,
        rejection::{JsonRejection, PathRejection},
    },
    http::StatusCode,
};
use backend::{
    auth::Attempt,
    webhooks::{Delivery, Endpoint},
};
use lifecycle::{AuditAction, Permission};
use serde::{Deserialize, Serialize};

use super::{
    caller::Caller,
    problem::{Problem, bad_path, store_failed},
};
use crate::state::AppState;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ApiWebhook {
    pub id: i64,
    pub runtime: String,
    pub url: String,
    /// version.status, version.publish, version.register, change.
    pub events: Vec<String>,
    pub created_at: String,
    pub created_by: String,
    /// Deliveries waiting or being retried.
    pub pending: i64,
    /// Deliveries given up after every try.
    pub failed: i64,
}

impl From<Endpoint> for ApiWebhook {
    fn from(e: Endpoint) -> Self {
        Self {
            id: e.id,
            runtime: e.runtime,
            url: e.url,
            events: e.kinds.iter().map(|k| k.as_str().to_owned()).collect(),
            created_at: e.created_at,
            created_by: e.created_by,
            pending: e.pending,
            failed: e.failed,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct NewWebhookAnswer {
    /// The signing secret: shown this once.
    pub secret: String,
    pub webhook: ApiWebhook,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhook {
    pub url: String,
    /// Event kinds: version.status, version.publish, version.register, change.
    pub events: Vec<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ApiDelivery {
    pub id: i64,
    /// The event's id (its audit entry's).
    pub event_id: i64,
    pub kind: String,
    /// pending, delivered or failed.
    pub state: String,
    pub attempts: i64,
    pub next_attempt_at: String,
    pub last_attempt_at: Option<String>,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub delivered_at: Option<String>,
}

impl From<Delivery> for ApiDelivery {
    fn from(d: Delivery) -> Self {
        Self {
            id: d.id,
            event_id: d.audit_id,
            kind: d.kind,
            state: d.state.as_str().to_owned(),
            attempts: d.attempts,
            next_attempt_at: d.next_attempt_at,
            last_attempt_at: d.last_attempt_at,
            last_status: d.last_status,
            last_error: d.last_error,
            delivered_at: d.delivered_at,
        }
    }
}

fn attempt(action: AuditAction, runtime: &str) -> Option<Attempt> {
    Some(Attempt {
        action,
        runtime: Some(runtime.to_owned()),
        version: None,
    })
}

fn failed(error: backend::webhooks::WebhookError) -> Problem {
    app::ConsoleError::from(error).into()
}

#[utoipa::path(get, path = "/api/v1/runtimes/{runtime}/webhooks", operation_id = "listWebhooks", tag = "webhooks",
    params(("runtime" = String, Path)),
    responses((status = 200, description = "The runtime's webhooks, never their secrets", body = [ApiWebhook]),
        (status = 401, response = super::schema::Unauthenticated),
        (status = 403, response = super::schema::Forbidden),
        (status = 404, response = super::schema::NotFound),
        (status = 429, response = super::schema::Throttled),
        (status = 503, response = super::schema::Unavailable)))]
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(runtime): Path<String>,
) -> Result<Json<Vec<ApiWebhook>>, Problem> {
    let services = &state.services;
    caller
        .require(services, Permission::ManageRuntimes, None)
        .await?;
    backend::runtimes::get(&services.db, &runtime)
        .await
        .map_err(|e| Problem::from(app::ConsoleError::from(e)))?;
    let list = backend::webhooks::list(&services.db, Some(&runtime))
        .await
        .map_err(store_failed)?;
    Ok(Json(list.into_iter().map(ApiWebhook::from).collect()))
}

#[utoipa::path(post, path = "/api/v1/runtimes/{runtime}/webhooks", operation_id = "createWebhook", tag = "webhooks",
    params(("runtime" = String, Path)),
    request_body = NewWebhook,
    responses((status = 201, description = "Added; the secret is shown this once", body = NewWebhookAnswer),
        (status = 400, response = super::schema::Malformed),
        (status = 401, response = super::schema::Unauthenticated),
        (status = 403, response = super::schema::Forbidden),
        (status = 404, response = super::schema::NotFound),
        (status = 413, response = super::schema::TooLarge),
        (status = 415, response = super::schema::Malformed),
        (status = 422, response = super::schema::Invalid),
        (status = 429, response = super::schema::Throttled),
        (status = 503, response = super::schema::Unavailable)))]
pub async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(runtime): Path<String>,
    body: Result<Json<NewWebhook>, JsonRejection>,
) -> Result<(StatusCode, Json<NewWebhookAnswer>), Problem> {
    let services = &state.services;
    let Json(body) = body.map_err(|e| {
        Problem::rejected(
            e.status(),
            "The body must be JSON: {\"url\": \"https://...\", \"events\": [\"version.status\", ...]}.",
        )
    })?;
    caller
        .require(
            services,
            Permission::ManageRuntimes,
            attempt(AuditAction::WebhookCreate, &runtime),
        )
        .await?;
    let kinds = lifecycle::webhooks::event_kinds(&body.events).map_err(Problem::invalid)?;
    let created = backend::webhooks::create(
        &services.db,
        &services.keyring(),
        &caller.actor(),
        &runtime,
        &body.url,
        &kinds,
        services.webhooks.allow_http,
    )
    .await
    .map_err(failed)?;
    Ok((
        StatusCode::CREATED,
        Json(NewWebhookAnswer {
            secret: created.secret,
            webhook: created.endpoint.into(),
        }),
    ))
}

#[utoipa::path(delete, path = "/api/v1/runtimes/{runtime}/webhooks/{id}", operation_id = "deleteWebhook", tag = "webhooks",
    params(("runtime" = String, Path), ("id" = i64, Path)),
    responses((status = 204, description = "Removed: nothing more is sent to it"),
        (status = 400, response = super::schema::Malformed),
        (status = 401, response = super::schema::Unauthenticated),
        (status = 403, response = super::schema::Forbidden),
        (status = 404, response = super::schema::NotFound),
        (status = 429, response = super::schema::Throttled),
        (status = 503, response = super::schema::Unavailable)))]
pub async fn delete(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    path: Result<Path<(String, i64)>, PathRejection>,
) -> Result<StatusCode, Problem> {
    let services = &state.services;
    let Path((runtime, id)) = path.map_err(bad_path)?;
    caller
        .require(
            services,
            Permission::ManageRuntimes,
            attempt(AuditAction::WebhookDelete, &runtime),
        )
        .await?;
    backend::webhooks::of_runtime(&services.db, &runtime, id)
        .await
        .map_err(failed)?;
    backend::webhooks::delete(&services.db, &caller.actor(), id)
        .await
        .map_err(failed)?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/runtimes/{runtime}/webhooks/{id}/deliveries", operation_id = "listDeliveries", tag = "webhooks",
    params(("runtime" = String, Path), ("id" = i64, Path)),
    responses((status = 200, description = "The newest deliveries, newest event first", body = [ApiDelivery]),
        (status = 400, response = super::schema::Malformed),
        (status = 401, response = super::schema::Unauthenticated),
        (status = 403, response = super::schema::Forbidden),
        (status = 404, response = super::schema::NotFound),
        (status = 429, response = super::schema::Throttled),
        (status = 503, response = super::schema::Unavailable)))]
pub async fn deliveries(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    path: Result<Path<(String, i64)>, PathRejection>,
) -> Result<Json<Vec<ApiDelivery>>, Problem> {
    let services = &state.services;
    let Path((runtime, id)) = path.map_err(bad_path)?;
    caller
        .require(services, Permission::ManageRuntimes, None)
        .await?;
    backend::webhooks::of_runtime(&services.db, &runtime, id)
        .await
        .map_err(failed)?;
    let log = backend::webhooks::deliveries(&services.db, id, None, 100)
        .await
        .map_err(store_failed)?;
    Ok(Json(log.into_iter().map(ApiDelivery::from).collect()))
}

#[utoipa::path(post, path = "/api/v1/runtimes/{runtime}/webhooks/{id}/deliveries/{delivery}/resend", operation_id = "resendDelivery", tag = "webhooks",
    params(("runtime" = String, Path), ("id" = i64, Path), ("delivery" = i64, Path)),
    responses((status = 202, description = "Queued to be sent again, from its first try", body = ApiDelivery),
        (status = 400, response = super::schema::Malformed),
        (status = 401, response = super::schema::Unauthenticated),
        (status = 403, response = super::schema::Forbidden),
        (status = 404, response = super::schema::NotFound),
        (status = 429, response = super::schema::Throttled),
        (status = 503, response = super::schema::Unavailable)))]
pub async fn resend(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    path: Result<Path<(String, i64, i64)>, PathRejection>,
) -> Result<(StatusCode, Json<ApiDelivery>), Problem> {
    let services = &state.services;
    let Path((runtime, id, delivery)) = path.map_err(bad_path)?;
    caller
        .require(
            services,
            Permission::ManageRuntimes,
            attempt(AuditAction::WebhookResend, &runtime),
        )
        .await?;
    backend::webhooks::of_runtime(&services.db, &runtime, id)
        .await
        .map_err(failed)?;
    let sent = backend::webhooks::resend(&services.db, &caller.actor(), id, delivery)
        .await
        .map_err(failed)?;
    Ok((StatusCode::ACCEPTED, Json(sent.into())))
}
