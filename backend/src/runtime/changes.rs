//! Which version changed: the key every announcement, subscription and drive
//! uses, and waiting for the next change of one version.

use std::{fmt, time::Duration};

use tokio::sync::broadcast;

/// One version, as events and drive tasks name it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VersionKey {
    pub runtime: String,
    pub version: String,
}

impl VersionKey {
    pub fn new(runtime: &str, version: &str) -> Self {
        Self {
            runtime: runtime.to_owned(),
            version: version.to_owned(),
        }
    }
}

impl fmt::Display for VersionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.runtime, self.version)
    }
}

/// Waits until `key` changes, or changes were missed (the caller re-reads
/// either way), for at most `limit`.
pub async fn changed_within(
    changes: &mut broadcast::Receiver<VersionKey>,
    key: &VersionKey,
    limit: Duration,
) {
    let _ = tokio::time::timeout(limit, async {
        loop {
            match changes.recv().await {
                Ok(changed) if changed == *key => return,
                Ok(_) => continue,
                Err(broadcast::error::RecvError::Lagged(_)) => return,
                Err(broadcast::error::RecvError::Closed) => std::future::pending().await,
            }
        }
    })
    .await;
}
