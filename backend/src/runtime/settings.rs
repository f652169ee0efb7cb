//! Deadlines and grace periods of lifecycle actions in the cluster.

use std::time::Duration;

/// Deadlines and grace periods of the runtime.
#[derive(Debug, Clone)]
pub struct Settings {
    /// From `starting`: every node ready by then, or the start fails.
    pub start_deadline: Duration,
    /// From `stopping`: every resource gone by then, or the stop fails.
    pub stop_deadline: Duration,
    /// How long a node may stay in a failure (image pull, crash loop) before
    /// the start is failed: such failures sometimes clear by themselves.
    pub failure_grace: Duration,
    /// From a publish (or unpublish): the runtime's Ingress switched by
    /// then, or the switch is undone and the version that served stays
    /// published.
    pub switch_deadline: Duration,
    /// Each cluster call's own deadline (retried on server errors).
    pub call_timeout: Duration,
    /// Event streams re-read their version this often even when no change
    /// was heard: a safety net for announcements lost while a replica's
    /// listening connection was down.
    pub stream_refresh: Duration,
    /// Opens the secret values a start puts into the version's Secret (and
    /// seals what the Configuration tab saves).
    pub keyring: crate::configuration::Keyring,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            start_deadline: Duration::from_secs(300),
            stop_deadline: Duration::from_secs(120),
            failure_grace: Duration::from_secs(15),
            switch_deadline: Duration::from_secs(30),
            call_timeout: Duration::from_secs(10),
            stream_refresh: Duration::from_secs(5),
            keyring: crate::configuration::Keyring::none(),
        }
    }
}
