//! Errors of the REST API as RFC 9457 problem details
//! (`application/problem+json`): a stable `type` per kind of error, the
//! status, a title, and a `detail` written for people. The kinds and their
//! words are the server functions' ([`ConsoleError`]): one set of messages,
//! never internal detail (that is logged where it happens).

use app::ConsoleError;
use axum::{
    Json,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use backend::versions::VersionError;
use serde::Serialize;

/// `type` is `urn:console:problem:<kind>`.
pub const TYPE_PREFIX: &str = "urn:console:problem:";

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// `urn:console:problem:<kind>`: unauthenticated, forbidden, not-found,
    /// conflict, refused, invalid, invalid-fields, malformed, too-large,
    /// throttled, not-configured, unavailable, internal.
    #[serde(rename = "type")]
    pub kind: String,
    #[schema(value_type = String)]
    pub title: &'static str,
    #[serde(serialize_with = "status_code")]
    #[schema(value_type = u16)]
    pub status: StatusCode,
    pub detail: String,
    /// Located problems of the input (a manifest's), each `{path, message}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Object>>)]
    pub errors: Option<Vec<lifecycle::FieldError>>,
    /// On a conflict with a change someone else made: who, what and when.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub current: Option<serde_json::Value>,
    #[serde(skip)]
    pub retry_after: Option<u64>,
}

fn status_code<S: serde::Serializer>(status: &StatusCode, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u16(status.as_u16())
}

impl Problem {
    fn new(status: StatusCode, kind: &str, title: &'static str, detail: impl Into<String>) -> Self {
        Self {
            kind: format!("{TYPE_PREFIX}{kind}"),
            title,
            status,
            detail: detail.into(),
            errors: None,
            current: None,
            retry_after: None,
        }
    }

    /// A body or query axum could not decode, with the status it chose
    /// (400 for syntax, 422 for a value of the wrong shape).
    pub fn rejected(status: StatusCode, detail: impl Into<String>) -> Self {
        Self::new(status, "malformed", "Malformed request", detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", "Not found", detail)
    }

    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method-not-allowed",
            "Method not allowed",
            "This path does not answer that method.",
        )
    }

    pub fn invalid(detail: impl Into<String>) -> Self {
        ConsoleError::Invalid(detail.into()).into()
    }
}

impl From<ConsoleError> for Problem {
    fn from(error: ConsoleError) -> Self {
        use StatusCode as S;
        let detail = error.to_string();
        let (kind, title) = match &error {
            ConsoleError::Unauthenticated | ConsoleError::WrongCredentials(_) => {
                ("unauthenticated", "Not signed in")
            }
            ConsoleError::Forbidden(_) => ("forbidden", "Not allowed"),
            ConsoleError::NotFound(_) => ("not-found", "Not found"),
            ConsoleError::Conflict(_) => ("conflict", "Conflict"),
            ConsoleError::Invalid(_) => ("invalid", "Invalid input"),
            ConsoleError::InvalidFields(_) => ("invalid-fields", "Invalid input"),
            ConsoleError::Malformed(_) => ("malformed", "Malformed request"),
            ConsoleError::TooLarge(_) => ("too-large", "Request too large"),
            ConsoleError::UriTooLong(_) => ("uri-too-long", "Path too long"),
            ConsoleError::Throttled(..) => ("throttled", "Too many attempts"),
            ConsoleError::NotConfigured(_) => ("not-configured", "Not configured"),
            ConsoleError::Unavailable => ("unavailable", "Service unavailable"),
            ConsoleError::Internal | ConsoleError::Transport => ("internal", "Internal error"),
        };
        let status = match error {
            ConsoleError::Transport => S::INTERNAL_SERVER_ERROR,
            ref other => other.status(),
        };
        let mut problem = Self::new(status, kind, title, detail);
        match error {
            ConsoleError::InvalidFields(problems) => problem.errors = Some(problems),
            ConsoleError::Throttled(_, seconds) => problem.retry_after = Some(seconds),
            _ => {}
        }
        problem
    }
}

impl From<VersionError> for Problem {
    fn from(error: VersionError) -> Self {
        let current = match &error {
            VersionError::Conflict {
                version,
                current,
                by,
                action,
                at,
            } => Some(serde_json::json!({
                "version": version,
                "status": current,
                "by": by,
                "action": action,
                "at": at,
            })),
            _ => None,
        };
        let mut problem = Self::from(ConsoleError::from(error));
        // A 409 that is not a race (the lifecycle, a change window or the
        // configuration says no) is a refusal: asking again will not help.
        if current.is_none() && problem.status == StatusCode::CONFLICT {
            problem.kind = format!("{TYPE_PREFIX}refused");
            problem.title = "Refused";
        }
        problem.current = current;
        problem
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = self.status;
        let retry_after = self.retry_after;
        let mut response = (status, Json(self)).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(seconds) = retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// A store failure: logged here, answered as 503.
/// A path whose ids are not numbers the API takes.
pub fn bad_path(rejection: axum::extract::rejection::PathRejection) -> Problem {
    Problem::rejected(
        rejection.status(),
        "An id in the path is not a number this API takes.",
    )
}

pub fn store_failed(error: impl std::fmt::Display) -> Problem {
    tracing::error!(%error, "an API call's store failed");
    ConsoleError::Unavailable.into()
}

/// Any path under `/api/v1` that is not one.
pub async fn no_such_path() -> Problem {
    Problem::not_found("The API has no such path.")
}
