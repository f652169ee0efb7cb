use thiserror::Error;

/// Errors of the server-side services. They carry detail for the logs; what a
/// browser sees is decided at the edge (see `app::ConsoleError`).
#[derive(Debug, Error)]
pub enum Error {
    #[error("unsupported database URL (expected sqlite:... or postgres://...)")]
    UnsupportedDatabaseUrl,

    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),

    #[error("database migration failed: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),

    #[error("could not prepare the database directory {path}: {source}")]
    DatabaseDirectory {
        path: String,
        source: std::io::Error,
    },

    #[error("unknown cluster mode {0:?} (expected auto, in-cluster, kubeconfig, emulated or none)")]
    UnknownClusterMode(String),

    #[error("cluster configuration: {0}")]
    ClusterConfig(String),

    #[error("cluster error: {0}")]
    Kube(#[from] kube::Error),

    #[error("password hashing failed: {0}")]
    Password(String),

    #[error("stored data is inconsistent: {0}")]
    Corrupt(String),

    /// Work handed to a blocking thread panicked or was cancelled.
    #[error("a background task failed: {0}")]
    Task(String),

    #[error("{what} timed out after {after:?}")]
    Timeout {
        what: &'static str,
        after: std::time::Duration,
    },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
