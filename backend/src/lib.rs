//! Server-only services of the console: persistence, the cluster connection and
//! the health of both. Nothing here is compiled into the browser bundle.

/// Runs `$body` in a write transaction that holds the audit append lock
/// (SQLite `BEGIN IMMEDIATE`, the PostgreSQL advisory lock) on either database,
/// with `$conn` bound to the connection. The body yields `Ok(Ok(v))` to commit and return `v`,
/// `Ok(Err(e))` to commit (its audit entry) and return `e`; an `Err` rolls
/// back.
macro_rules! write_tx {
    ($err:ty, $db:expr, |$conn:ident| $body:expr) => {{
        let decided: std::result::Result<_, $err> = match $db {
            $crate::db::Database::Sqlite(pool) => {
                let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                let decided = {
                    let $conn: &mut sqlx::SqliteConnection = &mut *tx;
                    $body
                }?;
                tx.commit().await?;
                Ok(decided)
            }
            $crate::db::Database::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                $crate::audit::lock_pg(&mut *tx).await?;
                let decided = {
                    let $conn: &mut sqlx::PgConnection = &mut *tx;
                    $body
                }?;
                tx.commit().await?;
                Ok(decided)
            }
        };
        decided?
    }};
}

/// Evaluates `$body` with `$pool` bound to whichever pool `$db` holds: one
/// piece of sqlx code for SQLite and PostgreSQL, whose pool types differ.
macro_rules! on_pool {
    ($db:expr, |$pool:ident| $body:expr) => {
        match $db {
            $crate::db::Database::Sqlite($pool) => $body,
            $crate::db::Database::Postgres($pool) => $body,
        }
    };
}

pub mod audit;
pub mod auth;
pub mod cluster;
pub mod db;
pub mod demo;
pub mod error;
pub mod health;
pub mod manifest_file;
pub mod metrics;
pub mod password;
pub mod runtime;
pub mod users;
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
    /// Carries lifecycle actions out in the cluster; `None` without one.
    pub runtime: Option<runtime::Runtime>,
}

impl Services {
    pub fn new(db: Database, cluster: Option<Cluster>) -> Self {
        Self {
            db,
            cluster,
            runtime: None,
        }
    }

    /// Services whose lifecycle actions reach the cluster: starts the
    /// reconciler, pod watchers and log collection.
    pub fn with_runtime(
        db: Database,
        cluster: Option<Cluster>,
        settings: runtime::Settings,
    ) -> Self {
        let runtime = cluster
            .as_ref()
            .map(|cluster| runtime::Runtime::spawn(db.clone(), cluster, settings));
        Self {
            db,
            cluster,
            runtime,
        }
    }

    /// A version's status and nodes now: from the cluster's pods when there
    /// is a cluster, else what the database implies.
    pub async fn live(
        &self,
        runtime: &str,
        version: &str,
    ) -> Result<lifecycle::VersionLive, versions::VersionError> {
        let record = versions::get(&self.db, runtime, version).await?;
        Ok(self.live_of(record))
    }

    /// The live view of a version record just read.
    pub fn live_of(&self, record: versions::VersionRecord) -> lifecycle::VersionLive {
        match &self.runtime {
            Some(rt) => rt.live_of(record),
            None => runtime::live_without_cluster(record),
        }
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
