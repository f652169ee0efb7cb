//! Version configuration: the values an operator sets for the variables a
//! version's manifest declares (`lifecycle::variables` has the rules),
//! kept per version, secrets sealed at rest (`keyring.rs`) and never
//! answered back, carried over from the previous version at registration,
//! and given to the cluster (`settled.rs`) as the version's ConfigMap and
//! Secret. A start is refused while a required one is missing
//! (`versions::action`); a change to a running version rolls its pods.

mod keyring;
mod rotate;
mod settled;
mod store;

use lifecycle::FieldError;
pub use lifecycle::variables::ConfigField;
use serde::{Deserialize, Serialize};

pub use keyring::{KeyError, Keyring, next_path};
pub use rotate::rotate;
pub use settled::{Settled, files_name, secret_name};
pub use store::{carry_over, configure, fields, set_names, settled};

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

impl crate::Services {
    /// The key secrets are sealed with: the runtime's (none without a
    /// cluster, where nothing is started either).
    pub fn keyring(&self) -> Keyring {
        self.runtime
            .as_ref()
            .map(|r| r.settings().keyring.clone())
            .unwrap_or_default()
    }

    /// The version's declared variables with what is set for each.
    pub async fn configuration(
        &self,
        runtime: &str,
        version: &str,
    ) -> Result<Vec<ConfigField>, ConfigError> {
        fields(&self.db, runtime, version).await
    }

    /// Saves values for a version's variables (see `store::configure`);
    /// a running version's objects are applied again, rolling its pods.
    pub async fn configure(
        &self,
        actor: &crate::audit::Actor,
        runtime: &str,
        version: &str,
        changes: &[ValueChange],
        reason: &lifecycle::Reason,
    ) -> Result<Configured, ConfigError> {
        let keyring = self.keyring();
        let done =
            store::configure(&self.db, &keyring, actor, runtime, version, changes, reason).await?;
        if done.rolling
            && let Some(cluster) = &self.runtime
        {
            cluster.configuration_changed(
                crate::runtime::VersionKey::new(runtime, version),
                actor.name(),
                reason.as_str(),
            );
        }
        Ok(done)
    }
}
