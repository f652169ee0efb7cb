//! `GET /api/audit/export?format=csv|json&user=...`: what an `/audit` filter
//! selects, streamed page by page, for managers and admins.

use axum::{
    body::Body,
    extract::{Query, State},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use backend::{audit::export as audit_export, auth::AuthSession};
use futures::StreamExt;
use lifecycle::Permission;
use serde::Deserialize;

use super::{permitted, refuse};
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct ExportParams {
    format: Option<String>,
    #[serde(flatten)]
    query: app::audit::AuditQuery,
}

pub async fn export(
    State(state): State<AppState>,
    auth: AuthSession,
    params: Result<Query<ExportParams>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let user = match permitted(auth, Permission::ReadAudit, Permission::ReadAudit.refusal()) {
        Ok(user) => user,
        Err((code, message)) => return refuse(code, message),
    };
    let Ok(Query(params)) = params else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "The export's parameters could not be read.",
        );
    };
    let format: audit_export::Format = match params.format.as_deref().unwrap_or("csv").parse() {
        Ok(format) => format,
        Err(_) => return refuse(StatusCode::BAD_REQUEST, "format: csv or json."),
    };
    let filter = match app::audit::ssr::filter(&params.query) {
        Ok(filter) => filter,
        Err(message) => return refuse(StatusCode::UNPROCESSABLE_ENTITY, &message),
    };
    tracing::info!(user = %user.email, ?filter, "audit export");
    streamed(&state.services.db, filter, format)
}

/// The entries `filter` selects as a download in `format`, streamed: for
/// this route and the REST API's export.
pub fn streamed(
    db: &backend::Database,
    filter: backend::audit::Filter,
    format: audit_export::Format,
) -> Response {
    // A failure half-way cannot change the status any more: log it and end
    // the body early, so the client sees a truncated (invalid) file rather
    // than a complete-looking one.
    // Fused: a compressing body polls once more after the end.
    let body = audit_export::export(db, filter, format)
        .fuse()
        .map(|chunk| {
            chunk.map_err(|error| {
                tracing::error!(%error, "audit export failed part-way");
                std::io::Error::other("audit export failed")
            })
        });
    let disposition = match format {
        audit_export::Format::Csv => "attachment; filename=\"audit.csv\"",
        audit_export::Format::Json => "attachment; filename=\"audit.json\"",
    };
    let mut response = Body::from_stream(body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static(disposition),
    );
    response
}
