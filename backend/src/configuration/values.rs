//! What a save takes and answers, and what can go wrong.

use lifecycle::FieldError;
use serde::{Deserialize, Serialize};

use super::keyring::KeyError;
use crate::versions::VersionError;

/// A value to store: `secret` says the sender means it as a secret, which
/// must match the declaration. An empty value that is not a secret clears
/// the variable (its default, if any, applies again).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValueChange {
    pub name: String,
    pub value: String,
    #[serde(default)]
    pub secret: bool,
}

/// What saving a configuration did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Configured {
    /// The names whose value changed.
    pub changed: Vec<String>,
    /// The version runs: its objects are re-applied and its pods roll.
    pub rolling: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("The configuration has {} problem(s).", .0.len())]
    Invalid(Vec<FieldError>),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Version(#[from] VersionError),
}

impl From<sqlx::Error> for ConfigError {
    fn from(e: sqlx::Error) -> Self {
        Self::Version(e.into())
    }
}

impl From<crate::Error> for ConfigError {
    fn from(e: crate::Error) -> Self {
        Self::Version(e.into())
    }
}
