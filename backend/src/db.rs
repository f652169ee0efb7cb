//! The console's database: SQLite embedded by default, PostgreSQL when the URL
//! says so.

use std::{str::FromStr, time::Duration};

use sqlx::{
    PgPool, SqlitePool,
    postgres::PgPoolOptions,
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
};

use crate::{
    error::{Error, Result},
    health::Check,
};

/// How long a readiness probe waits for the database before calling it
/// unreachable; probes must answer quickly even when the database hangs.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);
/// Opening is not a probe: a fresh SQLite file on a busy disk, or a database
/// still starting, may take longer than a probe may wait. The pool's acquire
/// timeout bounds each attempt; this bounds the whole first contact.
const OPEN_TIMEOUT: Duration = Duration::from_secs(30);
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// How the body of a `write_tx!` transaction ends when it does not fail.
#[derive(Debug)]
pub enum TxEnd<T, E> {
    /// Commit, and answer `Ok(T)`.
    Commit(T),
    /// Commit what was written so far (the refusal's own audit entry), and
    /// answer `Err(E)`.
    Refuse(E),
}

impl<T, E> TxEnd<T, E> {
    pub fn into_result(self) -> std::result::Result<T, E> {
        match self {
            Self::Commit(value) => Ok(value),
            Self::Refuse(error) => Err(error),
        }
    }
}

/// Gives a transaction body its type, so `?` inside it converts into `E`.
pub async fn tx_body<T, E, F>(body: F) -> std::result::Result<TxEnd<T, E>, E>
where
    F: std::future::Future<Output = std::result::Result<TxEnd<T, E>, E>>,
{
    body.await
}

#[derive(Clone, Debug)]
pub enum Database {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_url(url: &str) -> Result<Self> {
        if url.starts_with("sqlite:") {
            Ok(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres)
        } else {
            Err(Error::UnsupportedDatabaseUrl)
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

/// Whether a connection going back to the pool is clean: neither SQLite nor
/// sqlx's own count thinks a transaction is open. A task cancelled at the
/// wrong moment (a request whose client went away, a drive aborted as its
/// version moved on) can otherwise return a connection whose `BEGIN` ran but
/// whose transaction object was never made: it keeps the write lock, and
/// sqlx refuses every later `begin_with` on it. A dirty one is closed (which
/// rolls back) instead of being reused.
async fn outside_any_transaction(conn: &mut sqlx::SqliteConnection) -> Result<bool, sqlx::Error> {
    use sqlx::Connection;
    // Fails at once if sqlx counts an open transaction, and in SQLite if one
    // is open; otherwise it opens nothing (deferred: no lock taken).
    match conn.begin_with("BEGIN DEFERRED").await {
        Ok(probe) => {
            probe.rollback().await?;
            Ok(true)
        }
        Err(error) => {
            tracing::warn!(%error, "a connection came back inside a transaction; closing it");
            Ok(false)
        }
    }
}

impl Database {
    /// Opens a pool and proves it works with one round trip. A SQLite file
    /// (and its directory) is created when missing; WAL and foreign keys are on.
    pub async fn connect(url: &str) -> Result<Self> {
        let db = Self::connect_lazy(url)?;
        if let Self::Sqlite(_) = db {
            prepare_sqlite_directory(url)?;
        }
        db.ping_within(OPEN_TIMEOUT, "database open").await?;
        Ok(db)
    }

    /// Builds a pool without touching the database; connections are opened on
    /// first use. For a database that may come up after the console.
    pub fn connect_lazy(url: &str) -> Result<Self> {
        match Backend::from_url(url)? {
            Backend::Sqlite => {
                let options = SqliteConnectOptions::from_str(url)?
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .foreign_keys(true)
                    .busy_timeout(Duration::from_secs(5));
                let pool = SqlitePoolOptions::new()
                    .acquire_timeout(ACQUIRE_TIMEOUT)
                    .after_release(|conn, _| Box::pin(outside_any_transaction(conn)))
                    .connect_lazy_with(options);
                Ok(Self::Sqlite(pool))
            }
            Backend::Postgres => {
                let pool = PgPoolOptions::new()
                    .acquire_timeout(ACQUIRE_TIMEOUT)
                    .connect_lazy(url)?;
                Ok(Self::Postgres(pool))
            }
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            Self::Sqlite(_) => Backend::Sqlite,
            Self::Postgres(_) => Backend::Postgres,
        }
    }

    /// Brings the schema up to date. Each database has its own migration
    /// folder (types and trigger syntax differ) with the same meaning.
    pub async fn migrate(&self) -> Result<()> {
        match self {
            Self::Sqlite(pool) => sqlx::migrate!("./migrations/sqlite").run(pool).await?,
            Self::Postgres(pool) => sqlx::migrate!("./migrations/postgres").run(pool).await?,
        }
        Ok(())
    }

    pub async fn ping(&self) -> Result<()> {
        self.ping_within(CHECK_TIMEOUT, "database ping").await
    }

    async fn ping_within(&self, limit: Duration, what: &'static str) -> Result<()> {
        let query = async {
            match self {
                Self::Sqlite(pool) => sqlx::query("SELECT 1").execute(pool).await.map(drop),
                Self::Postgres(pool) => sqlx::query("SELECT 1").execute(pool).await.map(drop),
            }
        };
        tokio::time::timeout(limit, query)
            .await
            .map_err(|_| Error::Timeout { what, after: limit })?
            .map_err(Error::from)
    }

    pub async fn check(&self) -> Check {
        match self.ping().await {
            Ok(()) => Check::ok(self.backend().name()),
            Err(error) => {
                tracing::warn!(%error, "database readiness check failed");
                Check::unreachable()
            }
        }
    }

    pub async fn close(&self) {
        match self {
            Self::Sqlite(pool) => pool.close().await,
            Self::Postgres(pool) => pool.close().await,
        }
    }
}

/// SQLite creates the file but not its directory; do that so a fresh checkout
/// can point at `sqlite://data/console.db` without a manual step.
fn prepare_sqlite_directory(url: &str) -> Result<()> {
    let path = url
        .trim_start_matches("sqlite:")
        .trim_start_matches("//")
        .split('?')
        .next()
        .unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        return Ok(());
    }
    match std::path::Path::new(path).parent() {
        Some(dir) if !dir.as_os_str().is_empty() => {
            std::fs::create_dir_all(dir).map_err(|source| Error::DatabaseDirectory {
                path: dir.display().to_string(),
                source,
            })
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_backends_from_url() {
        assert_eq!(
            Backend::from_url("sqlite:console.db").ok(),
            Some(Backend::Sqlite)
        );
        assert_eq!(
            Backend::from_url("postgres://u@localhost/db").ok(),
            Some(Backend::Postgres)
        );
        assert_eq!(
            Backend::from_url("postgresql://u@localhost/db").ok(),
            Some(Backend::Postgres)
        );
        assert!(matches!(
            Backend::from_url("mysql://u:secret@host/db"),
            Err(Error::UnsupportedDatabaseUrl)
        ));
    }

    #[test]
    fn unsupported_url_error_does_not_echo_credentials() {
        let message = Backend::from_url("mysql://u:secret@host/db")
            .expect_err("mysql is not supported")
            .to_string();
        assert!(!message.contains("secret"), "{message}");
    }

    #[tokio::test]
    async fn sqlite_file_and_directory_are_created_and_answer() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("nested/deeper/console.db");
        let url = format!("sqlite://{}", path.display());
        let db = Database::connect(&url).await.expect("connects");
        assert!(path.exists(), "database file created at {}", path.display());
        assert_eq!(db.check().await, Check::ok("sqlite"));
        db.close().await;
    }

    #[tokio::test]
    async fn unreachable_postgres_is_reported_not_raised() {
        // Port 1 on loopback refuses connections: a database that is down.
        let db = Database::connect_lazy("postgres://console@127.0.0.1:1/console")
            .expect("lazy pool builds without connecting");
        assert_eq!(db.check().await, Check::unreachable());
    }
}
