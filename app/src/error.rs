//! The one error type that crosses from the server to the browser. Its
//! messages are written for people and never carry internal detail: the
//! server logs that detail with `tracing` before answering with one of these.

use leptos::server_fn::{
    codec::JsonEncoding,
    error::{FromServerFnError, ServerFnErrorErr},
};
use serde::{Deserialize, Serialize};
use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Error)]
pub enum ConsoleError {
    #[error("Please sign in to continue.")]
    Unauthenticated,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Invalid(String),
    /// Input with located problems (a manifest), each shown next to its field.
    #[error("The input has {} problem(s): {}", .0.len(), .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    InvalidFields(Vec<lifecycle::FieldError>),
    #[error("The console cannot reach a service it depends on. Try again in a moment.")]
    Unavailable,
    #[error("Something went wrong on the server. The problem has been logged.")]
    Internal,
    /// The request never got a proper answer (network down, server
    /// restarting, malformed response). Built on the calling side.
    #[error("The server could not be reached. Check your connection and try again.")]
    Transport,
}

impl FromServerFnError for ConsoleError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(error: ServerFnErrorErr) -> Self {
        match error {
            // Arguments that do not decode are the caller's mistake; the
            // decoder's text may quote internals, so it is not passed on.
            ServerFnErrorErr::Args(_) => {
                Self::Invalid("The request was malformed; reload the page and try again.".into())
            }
            ServerFnErrorErr::Request(_) | ServerFnErrorErr::Response(_) => Self::Transport,
            _ => Self::Internal,
        }
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
    fn round_trips_through_json() {
        let error = ConsoleError::Conflict("manager@example.com started v1 at 10:02 UTC".into());
        let json = serde_json::to_string(&error).expect("serialises");
        let back: ConsoleError = serde_json::from_str(&json).expect("deserialises");
        assert_eq!(back, error);
    }
}
