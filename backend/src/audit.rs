//! The tamper-evident, append-only audit log.
//!
//! Every entry stores `hash = SHA-256(prev_hash ‖ canonical content)`, where
//! the canonical content is a JSON array of the entry's fields in a fixed
//! order. Appends are serialised (SQLite `BEGIN IMMEDIATE`, a PostgreSQL
//! advisory lock) so the chain never forks. The database itself refuses
//! UPDATE and DELETE on the table (see the migrations).

use lifecycle::{AuditAction, Outcome, Status};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::{
    audit_retention::{self, Checkpoint},
    db::Database,
    error::{Error, Result},
};

/// `prev_hash` of the very first entry.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Arbitrary constant key of the PostgreSQL advisory lock serialising appends.
const PG_APPEND_LOCK: i64 = 0x6175_6469_745f_6c67; // "audit_lg"

/// Who did it, as they were at the time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Actor {
    User {
        id: Option<i64>,
        email: String,
        role: String,
    },
    System,
}

impl Actor {
    fn kind(&self) -> &'static str {
        match self {
            Self::User { .. } => "user",
            Self::System => "system",
        }
    }

    fn parts(&self) -> (Option<i64>, Option<&str>, Option<&str>) {
        match self {
            Self::User { id, email, role } => (*id, Some(email), Some(role)),
            Self::System => (None, None, None),
        }
    }
}

/// An entry about to be written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewEntry {
    pub actor: Actor,
    pub action: AuditAction,
    pub runtime: Option<String>,
    pub version: Option<String>,
    pub reason: Option<String>,
    pub outcome: Outcome,
    pub status_before: Option<Status>,
    pub status_after: Option<Status>,
    pub details: serde_json::Value,
}

impl NewEntry {
    pub fn new(actor: Actor, action: AuditAction, outcome: Outcome) -> Self {
        Self {
            actor,
            action,
            runtime: None,
            version: None,
            reason: None,
            outcome,
            status_before: None,
            status_after: None,
            details: serde_json::Value::Object(Default::default()),
        }
    }

    pub fn target(mut self, runtime: impl Into<String>, version: Option<String>) -> Self {
        self.runtime = Some(runtime.into());
        self.version = version;
        self
    }

    pub fn reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }

    pub fn statuses(mut self, before: Option<Status>, after: Option<Status>) -> Self {
        self.status_before = before;
        self.status_after = after;
        self
    }

    pub fn details(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }
}

/// A stored entry, as read back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub id: i64,
    pub at: String,
    pub actor_kind: String,
    pub actor_id: Option<i64>,
    pub actor_email: Option<String>,
    pub actor_role: Option<String>,
    pub action: String,
    pub runtime: Option<String>,
    pub version: Option<String>,
    pub reason: Option<String>,
    pub outcome: String,
    pub status_before: Option<String>,
    pub status_after: Option<String>,
    pub details: String,
    pub prev_hash: String,
    pub hash: String,
}

impl Entry {
    /// The hash this entry should carry given its content and `prev_hash`.
    pub fn expected_hash(&self) -> String {
        chain_hash(&self.prev_hash, &self.canonical_content())
    }

    /// A JSON array of the fields in a fixed order: unambiguous (strings are
    /// escaped, nulls differ from empty strings) and identical on every
    /// database. Changing it invalidates every stored hash.
    fn canonical_content(&self) -> String {
        serde_json::json!([
            self.at,
            self.actor_kind,
            self.actor_id,
            self.actor_email,
            self.actor_role,
            self.action,
            self.runtime,
            self.version,
            self.reason,
            self.outcome,
            self.status_before,
            self.status_after,
            self.details,
        ])
        .to_string()
    }
}

fn chain_hash(prev_hash: &str, content: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(prev_hash.as_bytes());
    hasher.update(b"\n");
    hasher.update(content.as_bytes());
    hex(&hasher.finalize())
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0x0f)] as char);
    }
    out
}

/// Now, in the fixed-width UTC form every entry uses (sorts as time).
pub fn now_timestamp() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.6fZ")
        .to_string()
}

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
const SELECT_COLUMNS: &str = "id, at, actor_kind, actor_id, actor_email, actor_role, action, runtime, \
     version, reason, outcome, status_before, status_after, details, prev_hash, hash";

/// Runs a query built for one backend and decodes its rows as entries.
macro_rules! fetch_entries {
    ($query:expr, $pool:expr) => {
        $query
            .fetch_all($pool)
            .await?
            .iter()
            .map(entry_from_row)
            .collect::<std::result::Result<Vec<Entry>, _>>()?
    };
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
    let details = entry.details.to_string();
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

fn entry_from_row<R>(row: &R) -> std::result::Result<Entry, sqlx::Error>
where
    R: Row,
    for<'c> &'c str: sqlx::ColumnIndex<R>,
    i64: sqlx::Type<R::Database> + for<'r> sqlx::Decode<'r, R::Database>,
    String: sqlx::Type<R::Database> + for<'r> sqlx::Decode<'r, R::Database>,
{
    Ok(Entry {
        id: row.try_get("id")?,
        at: row.try_get("at")?,
        actor_kind: row.try_get("actor_kind")?,
        actor_id: row.try_get("actor_id")?,
        actor_email: row.try_get("actor_email")?,
        actor_role: row.try_get("actor_role")?,
        action: row.try_get("action")?,
        runtime: row.try_get("runtime")?,
        version: row.try_get("version")?,
        reason: row.try_get("reason")?,
        outcome: row.try_get("outcome")?,
        status_before: row.try_get("status_before")?,
        status_after: row.try_get("status_after")?,
        details: row.try_get("details")?,
        prev_hash: row.try_get("prev_hash")?,
        hash: row.try_get("hash")?,
    })
}

/// The result of walking the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Verification {
    Intact {
        entries: u64,
        last_hash: String,
        /// Where the kept chain starts when retention removed older entries.
        checkpoint: Option<Checkpoint>,
    },
    Broken {
        entries_checked: u64,
        first_bad_id: i64,
        problem: String,
    },
}

/// Walks the log in id order, in pages, from the newest retention checkpoint
/// (or the genesis), and reports the first entry whose stored hash or link
/// does not match. A checkpoint counts only when the `audit.retention` entry
/// that records it is in the verified chain.
pub async fn verify(db: &Database) -> Result<Verification> {
    const PAGE: i64 = 1000;
    let sql = format!("SELECT {SELECT_COLUMNS} FROM audit_log WHERE id > $1 ORDER BY id LIMIT $2");
    let checkpoint = audit_retention::latest_checkpoint(db).await?;
    let (mut after, mut prev) = match &checkpoint {
        Some(c) => (c.up_to_id, c.anchor_hash.clone()),
        None => (0, GENESIS_HASH.to_owned()),
    };
    let mut checkpoint_backed = checkpoint.is_none();
    let mut checked = 0u64;
    loop {
        let page: Vec<Entry> = match db {
            Database::Sqlite(pool) => {
                fetch_entries!(sqlx::query(&sql).bind(after).bind(PAGE), pool)
            }
            Database::Postgres(pool) => {
                fetch_entries!(sqlx::query(&sql).bind(after).bind(PAGE), pool)
            }
        };
        let Some(last) = page.last() else {
            break;
        };
        after = last.id;
        for entry in page {
            if entry.prev_hash != prev {
                return Ok(Verification::Broken {
                    entries_checked: checked,
                    first_bad_id: entry.id,
                    problem: "link to the previous entry does not match (an entry was removed or reordered)".into(),
                });
            }
            if entry.expected_hash() != entry.hash {
                return Ok(Verification::Broken {
                    entries_checked: checked,
                    first_bad_id: entry.id,
                    problem: "content does not match its hash (the entry was altered)".into(),
                });
            }
            if let Some(c) = &checkpoint {
                checkpoint_backed |= audit_retention::entry_backs(&entry, c);
            }
            checked += 1;
            prev = entry.hash;
        }
    }
    match checkpoint {
        Some(c) if !checkpoint_backed => Ok(Verification::Broken {
            entries_checked: checked,
            first_bad_id: c.entry_id,
            problem: format!(
                "the retention checkpoint removing entries up to {} is not backed by its audit.retention entry",
                c.up_to_id
            ),
        }),
        checkpoint => Ok(Verification::Intact {
            entries: checked,
            last_hash: prev,
            checkpoint,
        }),
    }
}

/// What `/audit` and the exports select. Every field narrows the result.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filter {
    pub actor_email: Option<String>,
    pub action: Option<AuditAction>,
    pub runtime: Option<String>,
    pub version: Option<String>,
    pub outcome: Option<Outcome>,
    /// Inclusive lower bound, a timestamp in the log's format (or a prefix
    /// such as `2026-11-28`).
    pub from: Option<String>,
    /// Exclusive upper bound, same format.
    pub to: Option<String>,
}

/// One page, newest first. `next_before` is the keyset cursor for the next
/// (older) page; `None` when this was the last.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page {
    pub entries: Vec<Entry>,
    pub next_before: Option<i64>,
}

pub const MAX_PAGE: u32 = 500;

impl Filter {
    /// `(SQL up to the bound value, value)` for each field that is set.
    fn conditions(&self) -> Vec<(&'static str, String)> {
        let owned = |v: &Option<String>| v.clone();
        [
            (" AND actor_email = ", owned(&self.actor_email)),
            (" AND action = ", self.action.map(|a| a.as_str().to_owned())),
            (" AND runtime = ", owned(&self.runtime)),
            (" AND version = ", owned(&self.version)),
            (
                " AND outcome = ",
                self.outcome.map(|o| o.as_str().to_owned()),
            ),
            (" AND at >= ", owned(&self.from)),
            (" AND at < ", owned(&self.to)),
        ]
        .into_iter()
        .filter_map(|(sql, value)| value.map(|v| (sql, v)))
        .collect()
    }
}

macro_rules! filtered_query {
    ($db:ty, $filter:expr, $ids:expr, $before:expr, $limit:expr) => {{
        let mut qb = sqlx::QueryBuilder::<$db>::new(format!(
            "SELECT {SELECT_COLUMNS} FROM audit_log WHERE 1 = 1"
        ));
        for (sql, value) in $filter.conditions() {
            qb.push(sql).push_bind(value);
        }
        let ids: &IdRange = $ids;
        if let Some(first) = ids.first {
            qb.push(" AND id >= ").push_bind(first);
        }
        if let Some(end) = ids.end {
            qb.push(" AND id < ").push_bind(end);
        }
        if let Some(before) = $before {
            qb.push(" AND id < ").push_bind(before);
        }
        qb.push(" ORDER BY id DESC LIMIT ").push_bind($limit);
        qb
    }};
}

/// A time range as ids: `first` inclusive, `end` exclusive.
#[derive(Debug, Default)]
struct IdRange {
    first: Option<i64>,
    end: Option<i64>,
}

const FIRST_ID_AT_SQL: &str = "SELECT id FROM audit_log WHERE at >= $1 ORDER BY at, id LIMIT 1";

/// The first entry at or after `at`, through the `(at, id)` index.
async fn first_id_at(db: &Database, at: &str) -> Result<Option<i64>> {
    Ok(match db {
        Database::Sqlite(pool) => {
            sqlx::query_scalar(FIRST_ID_AT_SQL)
                .bind(at)
                .fetch_optional(pool)
                .await?
        }
        Database::Postgres(pool) => {
            sqlx::query_scalar(FIRST_ID_AT_SQL)
                .bind(at)
                .fetch_optional(pool)
                .await?
        }
    })
}

/// The filter's time range as ids, so the newest-first scan walks the
/// primary key over just that range instead of the whole log (the time
/// predicates stay in the query too). `None`: nothing is that recent.
async fn id_range(db: &Database, filter: &Filter) -> Result<Option<IdRange>> {
    let mut ids = IdRange::default();
    if let Some(from) = &filter.from {
        match first_id_at(db, from).await? {
            Some(first) => ids.first = Some(first),
            None => return Ok(None),
        }
    }
    if let Some(to) = &filter.to {
        ids.end = first_id_at(db, to).await?;
    }
    Ok(Some(ids))
}

/// Entries matching `filter`, newest first, strictly older than `before`
/// (an id from the previous page's cursor). Keyset paging on the primary key
/// stays stable while new entries arrive.
pub async fn query(
    db: &Database,
    filter: &Filter,
    before: Option<i64>,
    limit: u32,
) -> Result<Page> {
    let limit = limit.clamp(1, MAX_PAGE);
    // One extra row tells whether an older page exists.
    let fetch = i64::from(limit) + 1;
    let empty = Page {
        entries: Vec::new(),
        next_before: None,
    };
    let Some(ids) = id_range(db, filter).await? else {
        return Ok(empty);
    };
    let upper = match (ids.end, before) {
        (Some(end), Some(before)) => Some(end.min(before)),
        (end, before) => end.or(before),
    };
    if let (Some(first), Some(upper)) = (ids.first, upper)
        && upper <= first
    {
        // Older than the window's first entry: nothing to scan.
        return Ok(empty);
    }
    let mut entries: Vec<Entry> = match db {
        Database::Sqlite(pool) => {
            fetch_entries!(
                filtered_query!(sqlx::Sqlite, filter, &ids, before, fetch).build(),
                pool
            )
        }
        Database::Postgres(pool) => {
            fetch_entries!(
                filtered_query!(sqlx::Postgres, filter, &ids, before, fetch).build(),
                pool
            )
        }
    };
    let next_before = if entries.len() > limit as usize {
        entries.truncate(limit as usize);
        entries.last().map(|e| e.id)
    } else {
        None
    };
    Ok(Page {
        entries,
        next_before,
    })
}
