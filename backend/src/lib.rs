//! Server-only services of the console: persistence, the cluster connection and
//! the health of both. Nothing here is compiled into the browser bundle.

/// Runs `$body` in a write transaction that holds the audit append lock
/// (SQLite `BEGIN IMMEDIATE`, the PostgreSQL advisory lock), on either
/// database, with `$conn` bound to the transaction's connection.
///
/// The body is an async block of its own and ends in one of three ways:
/// - `Ok(TxEnd::Commit(value))`: commit, and the macro yields `Ok(value)`;
/// - `Ok(TxEnd::Refuse(error))`: commit what was written (the refusal's own
///   audit entry), and the macro yields `Err(error)`;
/// - `Err(error)`, from `?` or `return Err(..)` anywhere in it: roll back,
///   and the macro yields `Err(error)`.
macro_rules! write_tx {
    ($err:ty, $db:expr, |$conn:ident| $body:expr) => {{
        let ended: std::result::Result<$crate::db::TxEnd<_, $err>, $err> = match $db {
            $crate::db::Database::Sqlite(pool) => {
                async {
                    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                    let $conn: &mut sqlx::SqliteConnection = &mut *tx;
                    let end = $crate::db::tx_body::<_, $err, _>(async { $body }).await?;
                    tx.commit().await?;
                    Ok(end)
                }
                .await
            }
            $crate::db::Database::Postgres(pool) => {
                async {
                    let mut tx = pool.begin().await?;
                    $crate::audit::lock_pg(&mut *tx).await?;
                    let $conn: &mut sqlx::PgConnection = &mut *tx;
                    let end = $crate::db::tx_body::<_, $err, _>(async { $body }).await?;
                    tx.commit().await?;
                    Ok(end)
                }
                .await
            }
        };
        ended.and_then($crate::db::TxEnd::into_result)
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

pub mod actions;
pub mod approvals;
pub mod audit;
pub mod auth;
pub mod change_requests;
pub mod change_windows;
pub mod cluster;
pub mod configuration;
pub mod db;
pub mod demo;
pub mod diff;
pub mod error;
pub mod health;
pub mod key_file;
pub mod manifest_file;
pub mod metrics;
pub mod password;
pub mod releases;
pub mod runtime;
pub mod runtimes;
pub mod schedules;
pub mod throttle;
pub mod tokens;
pub mod users;
pub mod versions;
pub mod webhooks;

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
    /// How webhooks are sent, and whether plain HTTP endpoints are allowed.
    pub webhooks: webhooks::Settings,
}

impl Services {
    pub fn new(db: Database, cluster: Option<Cluster>) -> Self {
        Self {
            db,
            cluster,
            runtime: None,
            webhooks: webhooks::Settings::default(),
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
            webhooks: webhooks::Settings::default(),
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

    /// Whether this replica leads (drives the cluster and does the
    /// housekeeping). Without a cluster there is no reconciler and so no
    /// election: every such process counts as leading, which housekeeping
    /// can afford (each of its jobs is idempotent, retention once a day).
    pub fn leads(&self) -> bool {
        self.runtime
            .as_ref()
            .is_none_or(runtime::Runtime::is_leading)
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
