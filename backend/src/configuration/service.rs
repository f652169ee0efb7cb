//! The configuration as the services offer it to every caller (pages,
//! the REST API, the CLI): reading it, and saving it with the running
//! version's objects applied again.

use super::{ConfigError, ConfigField, Configured, Keyring, ValueChange, fields, store};

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
