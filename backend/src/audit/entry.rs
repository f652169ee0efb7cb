//! What the audit log stores: who did what (`Actor`, `NewEntry`), the stored
//! `Entry` with its place in the hash chain, and how rows decode into entries.

use lifecycle::{AuditAction, Outcome, Status};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::Row;

/// `prev_hash` of the very first entry.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

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
    /// The user's email, or `system`: how records name who changed them.
    pub fn name(&self) -> &str {
        match self {
            Self::User { email, .. } => email,
            Self::System => "system",
        }
    }

    pub(super) fn kind(&self) -> &'static str {
        match self {
            Self::User { .. } => "user",
            Self::System => "system",
        }
    }

    pub(super) fn parts(&self) -> (Option<i64>, Option<&str>, Option<&str>) {
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

pub(crate) fn hex(bytes: &[u8]) -> String {
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

/// In `Entry`'s field order: verification decodes entries from JSON arrays
/// of these columns.
pub(crate) const SELECT_COLUMNS: &str = "id, at, actor_kind, actor_id, actor_email, actor_role, action, runtime, \
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
pub(crate) use fetch_entries;

pub(crate) fn entry_from_row<R>(row: &R) -> std::result::Result<Entry, sqlx::Error>
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
