//! Walking the chain to prove it intact, from the genesis or the newest
//! retention checkpoint.

use serde::Serialize;

use super::{
    entry::{Entry, GENESIS_HASH, SELECT_COLUMNS, entry_from_row, fetch_entries},
    retention::{self, Checkpoint},
};
use crate::{db::Database, error::Result};

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
    let checkpoint = retention::latest_checkpoint(db).await?;
    let mut walk = Walk {
        prev: checkpoint
            .as_ref()
            .map_or_else(|| GENESIS_HASH.to_owned(), |c| c.anchor_hash.clone()),
        checked: 0,
        backed: checkpoint.is_none(),
        checkpoint,
    };
    let mut fetched = page(db, walk.checkpoint.as_ref().map_or(0, |c| c.up_to_id)).await?;
    // Each page is checked off the async runtime while the next one is
    // read: the database's work and the hashing overlap.
    while let Some((last, page_of)) = fetched {
        let check = tokio::task::spawn_blocking(move || walk.page(page_of));
        let (next, checked) = tokio::join!(page(db, last), check);
        walk = match checked.map_err(|e| crate::error::Error::Task(e.to_string()))?? {
            Ok(walk) => walk,
            Err(broken) => return Ok(broken),
        };
        fetched = next?;
    }
    Ok(walk.end())
}

/// How far the walk has come.
struct Walk {
    prev: String,
    checked: u64,
    /// Whether the checkpoint (if any) is backed by its entry, so far.
    backed: bool,
    checkpoint: Option<Checkpoint>,
}

impl Walk {
    /// Checks a page of entries: the walk so far, or where it broke.
    fn page(mut self, page: Page) -> Result<std::result::Result<Walk, Verification>> {
        let entries = match page {
            Page::Json(json) => entries(&json)?,
            Page::Rows(rows) => rows,
        };
        for entry in entries {
            let problem = if entry.prev_hash != self.prev {
                Some(
                    "link to the previous entry does not match (an entry was removed or reordered)",
                )
            } else if entry.expected_hash() != entry.hash {
                Some("content does not match its hash (the entry was altered)")
            } else {
                None
            };
            if let Some(problem) = problem {
                return Ok(Err(Verification::Broken {
                    entries_checked: self.checked,
                    first_bad_id: entry.id,
                    problem: problem.into(),
                }));
            }
            if let Some(c) = &self.checkpoint {
                self.backed |= retention::entry_backs(&entry, c);
            }
            self.checked += 1;
            self.prev = entry.hash;
        }
        Ok(Ok(self))
    }

    fn end(self) -> Verification {
        match self.checkpoint {
            Some(c) if !self.backed => Verification::Broken {
                entries_checked: self.checked,
                first_bad_id: c.entry_id,
                problem: format!(
                    "the retention checkpoint removing entries up to {} is not backed by its audit.retention entry",
                    c.up_to_id
                ),
            },
            checkpoint => Verification::Intact {
                entries: self.checked,
                last_hash: self.prev,
                checkpoint,
            },
        }
    }
}

const PAGE: i64 = 5000;

/// A page of entries as the database handed it over.
enum Page {
    /// One JSON array: on SQLite, where each row would cross from its
    /// worker thread on its own, which cost more than the hashing.
    Json(String),
    /// Rows, decoded as they arrive: on PostgreSQL, where rows are cheap and
    /// building JSON on the server is not.
    Rows(Vec<Entry>),
}

/// The next `PAGE` entries after `after`, in id order, and the page's last
/// id; `None` after the last.
async fn page(db: &Database, after: i64) -> Result<Option<(i64, Page)>> {
    match db {
        Database::Sqlite(pool) => {
            let (last, json): (Option<i64>, Option<String>) = sqlx::query_as(&format!(
                "SELECT MAX(id), json_group_array(json_array({SELECT_COLUMNS})) FROM \
                 (SELECT * FROM audit_log WHERE id > $1 ORDER BY id LIMIT $2)"
            ))
            .bind(after)
            .bind(PAGE)
            .fetch_one(pool)
            .await?;
            Ok(last.zip(json.map(Page::Json)))
        }
        Database::Postgres(pool) => {
            let sql = format!(
                "SELECT {SELECT_COLUMNS} FROM audit_log WHERE id > $1 ORDER BY id LIMIT $2"
            );
            let rows: Vec<Entry> = fetch_entries!(sqlx::query(&sql).bind(after).bind(PAGE), pool);
            Ok(rows
                .last()
                .map(|e| e.id)
                .map(|last| (last, Page::Rows(rows))))
        }
    }
}

/// A page's entries in id order. A value that is not what an entry holds
/// (a column of the wrong type) fails to decode, as a row would.
fn entries(json: &str) -> Result<Vec<Entry>> {
    // Each element is an array of `SELECT_COLUMNS`, which is `Entry`'s
    // field order: serde reads a struct from a sequence in that order.
    let mut entries: Vec<Entry> =
        serde_json::from_str(json).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
    // Aggregates keep the subquery's order in practice; the walk must not
    // depend on it.
    entries.sort_unstable_by_key(|e| e.id);
    Ok(entries)
}
