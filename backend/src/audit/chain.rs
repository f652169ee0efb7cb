//! Appending to the chain: every entry links to the previous one's hash, and
//! appends are serialised (SQLite `BEGIN IMMEDIATE`, a PostgreSQL advisory
//! lock) so the chain never forks.

use super::entry::{Entry, GENESIS_HASH, NewEntry, now_timestamp};
use crate::{
    db::Database,
    error::{Error, Result},
};

/// Arbitrary constant key of the PostgreSQL advisory lock serialising appends.
const PG_APPEND_LOCK: i64 = 0x6175_6469_745f_6c67; // "audit_lg"

const INSERT_SQL: &str = "INSERT INTO audit_log (at, actor_kind, actor_id, actor_email, actor_role, action, \
     runtime, version, reason, outcome, status_before, status_after, details, prev_hash, hash) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING id";
const LAST_ENTRY_SQL: &str = "SELECT hash, at FROM audit_log ORDER BY id DESC LIMIT 1";

/// Where a new entry links: the last entry's hash and time (genesis when the
/// log is empty).
struct Tail {
    hash: String,
    at: String,
}

impl Tail {
    fn from_row(row: Option<(String, String)>) -> Self {
        match row {
            Some((hash, at)) => Self { hash, at },
            None => Self {
                hash: GENESIS_HASH.to_owned(),
                at: String::new(),
            },
        }
    }
}

/// Appends `entry` on `$conn` (a connection inside a transaction that already
/// holds the append lock); one body for both databases.
macro_rules! append_on {
    ($conn:expr, $entry:expr) => {{
        let tail = Tail::from_row(
            sqlx::query_as(LAST_ENTRY_SQL)
                .fetch_optional(&mut *$conn)
                .await?,
        );
        let mut row = sealed($entry, tail);
        row.id = sqlx::query_scalar(INSERT_SQL)
            .bind(&row.at)
            .bind(&row.actor_kind)
            .bind(row.actor_id)
            .bind(&row.actor_email)
            .bind(&row.actor_role)
            .bind(&row.action)
            .bind(&row.runtime)
            .bind(&row.version)
            .bind(&row.reason)
            .bind(&row.outcome)
            .bind(&row.status_before)
            .bind(&row.status_after)
            .bind(&row.details)
            .bind(&row.prev_hash)
            .bind(&row.hash)
            .fetch_one(&mut *$conn)
            .await?;
        Ok::<Entry, Error>(row)
    }};
}

/// Writes one entry in its own transaction.
pub async fn append(db: &Database, entry: &NewEntry) -> Result<Entry> {
    match db {
        Database::Sqlite(pool) => {
            let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
            let written = append_on!(&mut *tx, entry)?;
            tx.commit().await?;
            Ok(written)
        }
        Database::Postgres(pool) => {
            let mut tx = pool.begin().await?;
            lock_pg(&mut tx).await?;
            let written = append_on!(&mut *tx, entry)?;
            tx.commit().await?;
            Ok(written)
        }
    }
}

/// Rows per multi-row INSERT in [`append_many`]: 15 binds each stays under
/// both databases' bind limits.
const BULK_ROWS: usize = 1000;

/// The stored form of a new entry, with its place in the chain.
/// Its time is never before the previous entry's, even when the clock steps
/// back: times then follow ids, which lets time filters become id ranges.
fn sealed(entry: &NewEntry, tail: Tail) -> Entry {
    let at = now_timestamp().max(tail.at);
    let prev_hash = tail.hash;
    let details = super::via::mark(
        &entry.details,
        matches!(entry.actor, super::entry::Actor::User { .. }),
    );
    let (actor_id, actor_email, actor_role) = entry.actor.parts();
    let mut sealed = Entry {
        id: 0,
        at,
        actor_kind: entry.actor.kind().to_owned(),
        actor_id,
        actor_email: actor_email.map(str::to_owned),
        actor_role: actor_role.map(str::to_owned),
        action: entry.action.as_str().to_owned(),
        runtime: entry.runtime.clone(),
        version: entry.version.clone(),
        reason: entry.reason.clone(),
        outcome: entry.outcome.as_str().to_owned(),
        status_before: entry.status_before.map(|s| s.as_str().to_owned()),
        status_after: entry.status_after.map(|s| s.as_str().to_owned()),
        details,
        prev_hash,
        hash: String::new(),
    };
    sealed.hash = sealed.expected_hash();
    sealed
}

macro_rules! append_many_on {
    ($db:ty, $conn:expr, $entries:expr) => {{
        let mut tail = Tail::from_row(
            sqlx::query_as(LAST_ENTRY_SQL)
                .fetch_optional(&mut *$conn)
                .await?,
        );
        let mut written = 0u64;
        for chunk in $entries.chunks(BULK_ROWS) {
            let rows: Vec<Entry> = chunk
                .iter()
                .map(|entry| {
                    let row = sealed(entry, std::mem::replace(&mut tail, Tail::from_row(None)));
                    tail = Tail {
                        hash: row.hash.clone(),
                        at: row.at.clone(),
                    };
                    row
                })
                .collect();
            let mut qb = sqlx::QueryBuilder::<$db>::new(
                "INSERT INTO audit_log (at, actor_kind, actor_id, actor_email, actor_role, action, \
                 runtime, version, reason, outcome, status_before, status_after, details, prev_hash, hash) ",
            );
            qb.push_values(&rows, |mut b, e| {
                b.push_bind(&e.at)
                    .push_bind(&e.actor_kind)
                    .push_bind(e.actor_id)
                    .push_bind(&e.actor_email)
                    .push_bind(&e.actor_role)
                    .push_bind(&e.action)
                    .push_bind(&e.runtime)
                    .push_bind(&e.version)
                    .push_bind(&e.reason)
                    .push_bind(&e.outcome)
                    .push_bind(&e.status_before)
                    .push_bind(&e.status_after)
                    .push_bind(&e.details)
                    .push_bind(&e.prev_hash)
                    .push_bind(&e.hash);
            });
            qb.build().execute(&mut *$conn).await?;
            written += rows.len() as u64;
        }
        Ok::<u64, Error>(written)
    }};
}

/// Writes `entries` in order, in one transaction and as multi-row inserts:
/// all or none. For seeding and imports; each entry is chained exactly as
/// [`append`] would chain it.
pub async fn append_many(db: &Database, entries: &[NewEntry]) -> Result<u64> {
    match db {
        Database::Sqlite(pool) => {
            let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
            let written = append_many_on!(sqlx::Sqlite, &mut *tx, entries)?;
            tx.commit().await?;
            Ok(written)
        }
        Database::Postgres(pool) => {
            let mut tx = pool.begin().await?;
            lock_pg(&mut tx).await?;
            let written = append_many_on!(sqlx::Postgres, &mut *tx, entries)?;
            tx.commit().await?;
            Ok(written)
        }
    }
}

/// A connection inside a caller's write transaction that can append to the
/// log, so a state change and its entry commit together or not at all. The
/// SQLite transaction must have begun `IMMEDIATE`; on PostgreSQL the append
/// takes the (re-entrant, transaction-scoped) append lock itself.
pub trait AuditConn {
    fn append_entry(&mut self, entry: &NewEntry) -> impl Future<Output = Result<Entry>> + Send;
}

impl AuditConn for sqlx::SqliteConnection {
    async fn append_entry(&mut self, entry: &NewEntry) -> Result<Entry> {
        append_on!(self, entry)
    }
}

impl AuditConn for sqlx::PgConnection {
    async fn append_entry(&mut self, entry: &NewEntry) -> Result<Entry> {
        lock_pg(self).await?;
        append_on!(self, entry)
    }
}

pub(crate) async fn lock_pg(conn: &mut sqlx::PgConnection) -> Result<()> {
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(PG_APPEND_LOCK)
        .execute(conn)
        .await?;
    Ok(())
}
