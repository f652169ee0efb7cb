//! The audit log through the REST API: the `/audit` page's filters, newest
//! first, paged by an opaque cursor.

use axum::{
    Extension, Json,
    extract::{Query, State, rejection::QueryRejection},
};
use base64::Engine as _;
use lifecycle::Permission;
use serde::{Deserialize, Serialize};

use super::{caller::Caller, problem::Problem};
use crate::state::AppState;

const DEFAULT_LIMIT: u32 = 100;

#[derive(Debug, Deserialize)]
pub struct AuditParams {
    #[serde(flatten)]
    query: app::audit::AuditQuery,
    cursor: Option<String>,
    limit: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuditEntry {
    pub id: i64,
    pub at: String,
    pub actor_kind: String,
    pub actor: Option<String>,
    pub actor_role: Option<String>,
    pub action: String,
    pub runtime: Option<String>,
    pub version: Option<String>,
    pub reason: Option<String>,
    pub outcome: String,
    pub status_before: Option<String>,
    pub status_after: Option<String>,
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
    pub hash: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    /// Pass as `cursor` for the next (older) page; absent on the last.
    pub next_cursor: Option<String>,
}

/// Cursors are opaque to clients; today one names the entry a page
/// continues below.
pub(super) fn encode_cursor(before: i64) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("before:{before}"))
}

pub(super) fn decode_cursor(cursor: &str) -> Option<i64> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor.trim())
        .ok()?;
    String::from_utf8(bytes)
        .ok()?
        .strip_prefix("before:")?
        .parse()
        .ok()
}

#[utoipa::path(get, path = "/api/v1/audit", operation_id = "listAudit", tag = "audit",
    params(
        ("user" = Option<String>, Query, description = "The actor's email"),
        ("action" = Option<String>, Query, description = "An action code, for example version.publish"),
        ("runtime" = Option<String>, Query),
        ("version" = Option<String>, Query),
        ("outcome" = Option<String>, Query, description = "accepted, denied, failed or completed"),
        ("from" = Option<String>, Query, description = "UTC, for example 2026-11-28 or 2026-11-28T10:00"),
        ("to" = Option<String>, Query),
        ("cursor" = Option<String>, Query, description = "The previous page's next_cursor"),
        ("limit" = Option<String>, Query, description = "1 to 500, 100 by default")),
    responses((status = 200, description = "Entries, newest first", body = AuditPage),
        (status = 400, response = super::schema::Malformed),
        (status = 401, response = super::schema::Unauthenticated),
        (status = 403, response = super::schema::Forbidden),
        (status = 422, response = super::schema::Invalid),
        (status = 429, response = super::schema::Throttled),
        (status = 503, response = super::schema::Unavailable)))]
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    params: Result<Query<AuditParams>, QueryRejection>,
) -> Result<Json<AuditPage>, Problem> {
    let services = &state.services;
    caller
        .require(services, Permission::ReadAudit, None)
        .await?;
    let Query(params) = params
        .map_err(|e| Problem::rejected(e.status(), "The query parameters could not be read."))?;
    let filter = app::audit::ssr::filter(&params.query).map_err(Problem::invalid)?;
    let before = match params.cursor.as_deref().filter(|c| !c.is_empty()) {
        None => None,
        Some(cursor) => Some(
            decode_cursor(cursor)
                .ok_or_else(|| Problem::invalid("cursor: not a cursor this API gave."))?,
        ),
    };
    let limit = match params.limit.as_deref() {
        None | Some("") => DEFAULT_LIMIT,
        Some(text) => match text.parse::<u32>() {
            Ok(n) if (1..=backend::audit::MAX_PAGE).contains(&n) => n,
            _ => {
                return Err(Problem::invalid(format!(
                    "limit: a number from 1 to {}.",
                    backend::audit::MAX_PAGE
                )));
            }
        },
    };
    let page = backend::audit::query(&services.db, &filter, before, limit)
        .await
        .map_err(super::problem::store_failed)?;
    Ok(Json(AuditPage {
        entries: page
            .entries
            .into_iter()
            .map(|e| AuditEntry {
                details: serde_json::from_str(&e.details).unwrap_or(serde_json::Value::Null),
                id: e.id,
                at: e.at,
                actor_kind: e.actor_kind,
                actor: e.actor_email,
                actor_role: e.actor_role,
                action: e.action,
                runtime: e.runtime,
                version: e.version,
                reason: e.reason,
                outcome: e.outcome,
                status_before: e.status_before,
                status_after: e.status_after,
                hash: e.hash,
            })
            .collect(),
        next_cursor: page.next_before.map(encode_cursor),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_junk_is_refused() {
        assert_eq!(decode_cursor(&encode_cursor(42)), Some(42));
        assert_eq!(decode_cursor("42"), None);
        assert_eq!(decode_cursor("!!"), None);
        assert_eq!(
            decode_cursor(&base64::engine::general_purpose::URL_SAFE_NO_PAD.encode("after:1")),
            None
        );
    }
}

#[derive(Debug, Deserialize)]
pub struct ExportParams {
    #[serde(flatten)]
    query: app::audit::AuditQuery,
    format: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/audit/export", operation_id = "exportAudit", tag = "audit",
    params(
        ("format" = Option<String>, Query, description = "csv (the default) or json"),
        ("user" = Option<String>, Query, description = "The actor's email"),
        ("action" = Option<String>, Query, description = "An action code, for example version.publish"),
        ("runtime" = Option<String>, Query),
        ("version" = Option<String>, Query),
        ("outcome" = Option<String>, Query, description = "accepted, denied, failed or completed"),
        ("from" = Option<String>, Query, description = "UTC, for example 2026-11-28 or 2026-11-28T10:00"),
        ("to" = Option<String>, Query)),
    responses((status = 200, description = "Every entry the filter selects, newest first, as a download",
            content((String = "text/csv"), (String = "application/json"))),
        (status = 400, response = super::schema::Malformed),
        (status = 401, response = super::schema::Unauthenticated),
        (status = 403, response = super::schema::Forbidden),
        (status = 422, response = super::schema::Invalid),
        (status = 429, response = super::schema::Throttled),
        (status = 503, response = super::schema::Unavailable)))]
pub async fn export(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    params: Result<Query<ExportParams>, QueryRejection>,
) -> Result<axum::response::Response, Problem> {
    let services = &state.services;
    caller
        .require(services, Permission::ReadAudit, None)
        .await?;
    let Query(params) = params
        .map_err(|e| Problem::rejected(e.status(), "The query parameters could not be read."))?;
    let format: backend::audit::export::Format = params
        .format
        .as_deref()
        .filter(|f| !f.is_empty())
        .unwrap_or("csv")
        .parse()
        .map_err(|_| Problem::invalid("format: csv or json."))?;
    let filter = app::audit::ssr::filter(&params.query).map_err(Problem::invalid)?;
    tracing::info!(user = %caller.email, ?filter, "audit export through the API");
    Ok(crate::routes::audit_export::streamed(
        &services.db,
        filter,
        format,
    ))
}
