//! Server-only services of the console: persistence, the cluster connection and
//! the health of both. Nothing here is compiled into the browser bundle.

pub mod audit;
pub mod audit_export;
pub mod cluster;
pub mod db;
pub mod error;
pub mod health;
pub mod manifest_file;
pub mod versions;

pub use cluster::{Cluster, ClusterMode};
pub use db::Database;
pub use error::Error;
pub use health::{Check, CheckState, Readiness};

/// Everything request handlers and server functions need, cheap to clone
/// (pools and clients are reference counted).
#[derive(Clone)]
pub struct Services {
    pub db: Database,
    pub cluster: Option<Cluster>,
}

impl Services {
    pub fn new(db: Database, cluster: Option<Cluster>) -> Self {
        Self { db, cluster }
    }

    /// Checks every dependency the console needs to serve its users.
    pub async fn readiness(&self) -> Readiness {
        let (database, cluster) = tokio::join!(self.db.check(), async {
            match &self.cluster {
                Some(cluster) => cluster.check().await,
                None => Check::not_configured(),
            }
        });
        Readiness::new(database, cluster)
    }
}
