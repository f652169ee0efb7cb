//! What can go wrong talking to the cluster.

use std::time::Duration;

use crate::versions::VersionError;

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error("{what}: {detail}")]
    Call {
        what: String,
        detail: String,
        /// The API server's HTTP status, when it answered.
        code: Option<u16>,
    },
    #[error("{what} did not answer within {after:?}")]
    Timeout { what: String, after: Duration },
    /// The version's values could not be read or opened (never a value
    /// in the message).
    #[error("the version's configuration: {0}")]
    Configuration(String),
    #[error(transparent)]
    Version(#[from] VersionError),
}

impl From<crate::runtimes::RuntimesError> for RuntimeError {
    fn from(error: crate::runtimes::RuntimesError) -> Self {
        Self::Version(error.into())
    }
}
