//! The one error type that crosses from the server to the browser. Its
//! messages are written for people and never carry internal detail: the
//! server logs that detail with `tracing` before answering with one of these.

use leptos::server_fn::{
    codec::JsonEncoding,
    error::{FromServerFnError, ServerFnErrorErr},
};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Every refusal and failure a server function answers with. The variant
/// decides the HTTP status ([`ConsoleError::status`]); the server sets it
/// when the error is written into the response, so no server function sets a
/// status by hand.
///
/// On the wire (JSON) the variants that differ only in their status
/// (`WrongCredentials`, `Malformed`, `TooLarge`, `UriTooLong`, `Throttled`,
/// `NotConfigured`) read as
/// `Invalid`: the browser shows them all as a message next to the form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Error)]
#[serde(into = "Wire", from = "Wire")]
pub enum ConsoleError {
    #[error("Please sign in to continue.")]
    Unauthenticated,
    /// A sign-in with a wrong email or password.
    #[error("{0}")]
    WrongCredentials(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// Input the server understood and refuses (a reason too long, a filter
    /// that does not parse).
    #[error("{0}")]
    Invalid(String),
    /// Input with located problems (a manifest), each shown next to its field.
    #[error("The input has {} problem(s): {}", .0.len(), .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    InvalidFields(Vec<lifecycle::FieldError>),
    /// A request whose arguments do not decode at all.
    #[error("{0}")]
    Malformed(String),
    /// A request body over the size the console accepts.
    #[error("{0}")]
    TooLarge(String),
    /// A path longer than any the console answers.
    #[error("{0}")]
    UriTooLong(String),
    /// Too many failed attempts; try again in so many seconds (the
    /// answer's `Retry-After`).
    #[error("{0}")]
    Throttled(String, u64),
    /// Something this action needs is not configured (no cluster).
    #[error("{0}")]
    NotConfigured(String),
    #[error("The console cannot reach a service it depends on. Try again in a moment.")]
    Unavailable,
    #[error("Something went wrong on the server. The problem has been logged.")]
    Internal,
    /// The request never got a proper answer (network down, server
    /// restarting, malformed response). Built on the calling side.
    #[error("The server could not be reached. Check your connection and try again.")]
    Transport,
}

impl ConsoleError {
    /// The HTTP status a server function answers this error with.
    pub fn status(&self) -> http::StatusCode {
        use http::StatusCode as S;
        match self {
            Self::Unauthenticated | Self::WrongCredentials(_) => S::UNAUTHORIZED,
            Self::Forbidden(_) => S::FORBIDDEN,
            Self::NotFound(_) => S::NOT_FOUND,
            Self::Conflict(_) => S::CONFLICT,
            Self::Invalid(_) | Self::InvalidFields(_) => S::UNPROCESSABLE_ENTITY,
            Self::Malformed(_) => S::BAD_REQUEST,
            Self::TooLarge(_) => S::PAYLOAD_TOO_LARGE,
            Self::UriTooLong(_) => S::URI_TOO_LONG,
            Self::Throttled(..) => S::TOO_MANY_REQUESTS,
            Self::NotConfigured(_) | Self::Unavailable => S::SERVICE_UNAVAILABLE,
            Self::Internal | Self::Transport => S::INTERNAL_SERVER_ERROR,
        }
    }
}

/// A page's data, loaded by a resource: when it fails on the server, the
/// page answers with the error's status (an unknown version is a 404 page,
/// the audit log a 403 page for a viewer), set as the data arrives and so
/// before the page's first byte. In the browser it only passes the answer on.
pub async fn page_data<T>(
    answer: impl std::future::Future<Output = Result<T, ConsoleError>>,
) -> Result<T, ConsoleError> {
    let answer = answer.await;
    #[cfg(feature = "ssr")]
    if let Err(error) = &answer {
        crate::response::set_status(error.status());
    }
    answer
}

/// The JSON form of [`ConsoleError`], as the browser decodes it.
#[derive(Serialize, Deserialize)]
enum Wire {
    Unauthenticated,
    Forbidden(String),
    NotFound(String),
    Conflict(String),
    Invalid(String),
    InvalidFields(Vec<lifecycle::FieldError>),
    Unavailable,
    Internal,
    Transport,
}

impl From<ConsoleError> for Wire {
    fn from(error: ConsoleError) -> Self {
        match error {
            ConsoleError::Unauthenticated => Self::Unauthenticated,
            ConsoleError::Forbidden(m) => Self::Forbidden(m),
            ConsoleError::NotFound(m) => Self::NotFound(m),
            ConsoleError::Conflict(m) => Self::Conflict(m),
            ConsoleError::Invalid(m)
            | ConsoleError::WrongCredentials(m)
            | ConsoleError::Malformed(m)
            | ConsoleError::TooLarge(m)
            | ConsoleError::UriTooLong(m)
            | ConsoleError::Throttled(m, _)
            | ConsoleError::NotConfigured(m) => Self::Invalid(m),
            ConsoleError::InvalidFields(problems) => Self::InvalidFields(problems),
            ConsoleError::Unavailable => Self::Unavailable,
            ConsoleError::Internal => Self::Internal,
            ConsoleError::Transport => Self::Transport,
        }
    }
}

impl From<Wire> for ConsoleError {
    fn from(wire: Wire) -> Self {
        match wire {
            Wire::Unauthenticated => Self::Unauthenticated,
            Wire::Forbidden(m) => Self::Forbidden(m),
            Wire::NotFound(m) => Self::NotFound(m),
            Wire::Conflict(m) => Self::Conflict(m),
            Wire::Invalid(m) => Self::Invalid(m),
            Wire::InvalidFields(problems) => Self::InvalidFields(problems),
            Wire::Unavailable => Self::Unavailable,
            Wire::Internal => Self::Internal,
            Wire::Transport => Self::Transport,
        }
    }
}

impl ConsoleError {
    fn malformed() -> Self {
        Self::Malformed("The request was malformed; reload the page and try again.".into())
    }
}

impl FromServerFnError for ConsoleError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(error: ServerFnErrorErr) -> Self {
        match error {
            // Arguments that do not decode are the caller's mistake; the
            // decoder's text may quote internals, so it is not passed on.
            ServerFnErrorErr::Args(_) | ServerFnErrorErr::MissingArg(_) => Self::malformed(),
            // On the server these are about the request (a body that is not
            // UTF-8, a method the function does not take); in the browser,
            // about the answer, which the network mangled.
            #[cfg(feature = "ssr")]
            ServerFnErrorErr::Deserialization(_)
            | ServerFnErrorErr::UnsupportedRequestMethod(_) => Self::malformed(),
            ServerFnErrorErr::Request(_) | ServerFnErrorErr::Response(_) => Self::Transport,
            _ => Self::Internal,
        }
    }

    /// Writes the error into the response, and gives the response the
    /// error's status: the one place a server function's status is set.
    fn ser(&self) -> leptos::server_fn::Bytes {
        #[cfg(feature = "ssr")]
        {
            crate::response::set_status(self.status());
            if let Self::Throttled(_, seconds) = self {
                crate::response::set_retry_after(*seconds);
            }
        }
        <Self::Encoder as leptos::server_fn::Encodes<Self>>::encode(self)
            .unwrap_or_else(|_| leptos::server_fn::Bytes::from_static(b"\"Internal\""))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framework_errors_map_to_safe_messages() {
        let leaked = "sqlx::Error: no such table: secrets at /src/store.rs:42";
        for error in [
            ServerFnErrorErr::ServerError(leaked.into()),
            ServerFnErrorErr::Registration(leaked.into()),
            ServerFnErrorErr::Serialization(leaked.into()),
            ServerFnErrorErr::Args(leaked.into()),
            ServerFnErrorErr::Request(leaked.into()),
        ] {
            let message = ConsoleError::from_server_fn_error(error).to_string();
            assert!(!message.contains("sqlx"), "leaked detail: {message}");
            assert!(!message.contains(".rs"), "leaked detail: {message}");
        }
    }

    #[test]
    fn every_refusal_knows_its_status_and_reads_as_before_on_the_wire() {
        use http::StatusCode as S;
        for (error, status, wire) in [
            (
                ConsoleError::WrongCredentials("Wrong email or password.".into()),
                S::UNAUTHORIZED,
                serde_json::json!({"Invalid": "Wrong email or password."}),
            ),
            (
                ConsoleError::Throttled("Too many failed sign-ins.".into(), 4),
                S::TOO_MANY_REQUESTS,
                serde_json::json!({"Invalid": "Too many failed sign-ins."}),
            ),
            (
                ConsoleError::Malformed("bad".into()),
                S::BAD_REQUEST,
                serde_json::json!({"Invalid": "bad"}),
            ),
            (
                ConsoleError::Invalid("bad".into()),
                S::UNPROCESSABLE_ENTITY,
                serde_json::json!({"Invalid": "bad"}),
            ),
            (
                ConsoleError::NotConfigured("no cluster".into()),
                S::SERVICE_UNAVAILABLE,
                serde_json::json!({"Invalid": "no cluster"}),
            ),
            (
                ConsoleError::Unauthenticated,
                S::UNAUTHORIZED,
                serde_json::json!("Unauthenticated"),
            ),
            (
                ConsoleError::Conflict("taken".into()),
                S::CONFLICT,
                serde_json::json!({"Conflict": "taken"}),
            ),
            (
                ConsoleError::Unavailable,
                S::SERVICE_UNAVAILABLE,
                serde_json::json!("Unavailable"),
            ),
        ] {
            assert_eq!(error.status(), status, "{error:?}");
            assert_eq!(
                serde_json::to_value(&error).expect("serialises"),
                wire,
                "{error:?}"
            );
        }
    }

    #[test]
    fn round_trips_through_json() {
        let error = ConsoleError::Conflict("manager@example.com started v1 at 10:02 UTC".into());
        let json = serde_json::to_string(&error).expect("serialises");
        let back: ConsoleError = serde_json::from_str(&json).expect("deserialises");
        assert_eq!(back, error);
    }
}
