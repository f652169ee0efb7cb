//! Several console replicas on one database.
//!
//! - Leadership: one replica at a time drives starts and stops, follows pod
//!   logs and keeps Ingresses in line. On PostgreSQL it is whoever holds a
//!   session-level advisory lock on a connection of its own; the lock goes
//!   with the connection, so a replica that dies (even by SIGKILL) hands it
//!   over as soon as PostgreSQL notices the closed socket. SQLite is one
//!   process's file: that process leads.
//! - Fan-out: every replica serves pages and event streams, so a status
//!   change made through one must reach streams open on the others. Each
//!   change is announced with `pg_notify`; every replica listens and tells
//!   its local subscribers, which re-read the database.
//!
//! Two leaders for a moment (the old one has not yet noticed its connection
//! is gone) are harmless: every drive step is idempotent and every status
//! change is a compare-and-set in the database.

use std::{
    hash::{BuildHasher, Hasher},
    time::Duration,
};

use sqlx::{Connection, PgConnection, PgPool, postgres::PgListener};

use super::changes::VersionKey;
use crate::db::Database;

/// The advisory lock's first key: "RCON" in ASCII, recognisable in
/// `pg_locks`. The second is the schema's hash: consoles installed in two
/// schemas of one database each have their own leader (and channel).
const LEADER_LOCK: i32 = 0x5243_4f4e;
/// The notification channel of the schema the console's tables are in.
const CHANNEL_SQL: &str = "'console_' || md5(current_schema())";
/// A leader's lock connection is checked this often; losing it ends the
/// leadership at once.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// Tells this replica's own announcements from others'.
pub fn replica_id() -> String {
    // RandomState is seeded randomly per process: unique enough to tell
    // replicas apart, with no extra dependency.
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    format!("{:016x}", hasher.finish())
}

/// This replica's claim on leadership.
pub struct Leadership {
    db: Database,
    /// A connection of its own, out of the pool, kept between passes: it
    /// asks for the lock while following and holds it while leading (the
    /// lock lives exactly as long as the connection).
    conn: Option<PgConnection>,
    leading: bool,
}

impl Leadership {
    pub fn new(db: Database) -> Self {
        Self {
            db,
            conn: None,
            leading: false,
        }
    }

    /// Whether this replica leads now: keeps a lock it holds (if its
    /// connection still answers) or tries to take it. Never waits for
    /// another replica.
    pub async fn check(&mut self) -> bool {
        let pool = match &self.db {
            Database::Sqlite(_) => return true,
            Database::Postgres(pool) => pool.clone(),
        };
        let was_leading = self.leading;
        let (leading, broken) = match tokio::time::timeout(CHECK_TIMEOUT, self.ask(&pool)).await {
            Ok(Ok(leading)) => (leading, false),
            Ok(Err(error)) => {
                tracing::warn!(%error, "the leader lock's connection failed");
                (false, true)
            }
            Err(_) => {
                tracing::warn!("the leader lock's connection did not answer in time");
                (false, true)
            }
        };
        if broken {
            // Start afresh next pass; a lock the old connection may still
            // hold goes when PostgreSQL drops it.
            self.conn = None;
        }
        match (was_leading, leading) {
            (true, false) => tracing::warn!("no longer leading: another replica may take over"),
            (false, true) => tracing::info!("leading: this replica now drives starts and stops"),
            _ => {}
        }
        self.leading = leading;
        self.leading
    }

    async fn ask(&mut self, pool: &PgPool) -> Result<bool, sqlx::Error> {
        if self.conn.is_none() {
            self.conn = Some(pool.acquire().await?.detach());
        }
        let Some(conn) = self.conn.as_mut() else {
            return Ok(false);
        };
        if self.leading {
            conn.ping().await?;
            return Ok(true);
        }
        sqlx::query_scalar("SELECT pg_try_advisory_lock($1, hashtext(current_schema()))")
            .bind(LEADER_LOCK)
            .fetch_one(conn)
            .await
    }
}

/// Tells the other replicas that `key` changed (PostgreSQL only).
pub async fn announce(db: &Database, replica: &str, key: &VersionKey) {
    let Database::Postgres(pool) = db else {
        return;
    };
    let payload = format!("{replica}\n{}\n{}", key.runtime, key.version);
    if let Err(error) = sqlx::query(&format!("SELECT pg_notify({CHANNEL_SQL}, $1)"))
        .bind(&payload)
        .execute(pool)
        .await
    {
        // The other replicas re-read every few seconds anyway.
        tracing::warn!(%error, version = %key, "could not announce a change to other replicas");
    }
}

/// Hears other replicas' announcements and hands each changed key to
/// `heard`, for as long as the process runs. Reconnects after a lost
/// connection; changes announced meanwhile are caught by the streams'
/// periodic re-read.
pub async fn listen(db: Database, replica: String, heard: impl Fn(VersionKey) + Send + 'static) {
    let Database::Postgres(pool) = db else {
        return;
    };
    let mut backoff = Duration::from_millis(100);
    loop {
        let channel: Result<String, _> = sqlx::query_scalar(&format!("SELECT {CHANNEL_SQL}"))
            .fetch_one(&pool)
            .await;
        let connected = match channel {
            Ok(channel) => PgListener::connect_with(&pool)
                .await
                .map(|listener| (listener, channel)),
            Err(error) => Err(error),
        };
        let (mut listener, channel) = match connected {
            Ok(connected) => connected,
            Err(error) => {
                tracing::warn!(%error, "cannot listen for other replicas' changes; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
                continue;
            }
        };
        if let Err(error) = listener.listen(&channel).await {
            tracing::warn!(%error, "cannot listen for other replicas' changes; retrying");
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(5));
            continue;
        }
        backoff = Duration::from_millis(100);
        loop {
            match listener.recv().await {
                Ok(notification) => {
                    let mut parts = notification.payload().splitn(3, '\n');
                    match (parts.next(), parts.next(), parts.next()) {
                        (Some(from), Some(runtime), Some(version)) if from != replica => {
                            heard(VersionKey::new(runtime, version));
                        }
                        (Some(_), Some(_), Some(_)) => {}
                        _ => tracing::warn!(
                            payload = notification.payload(),
                            "unreadable change announcement"
                        ),
                    }
                }
                Err(error) => {
                    tracing::warn!(%error, "lost the connection listening for other replicas' changes");
                    break;
                }
            }
        }
        tokio::time::sleep(backoff).await;
    }
}
