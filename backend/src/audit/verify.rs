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
    const PAGE: i64 = 1000;
    let sql = format!("SELECT {SELECT_COLUMNS} FROM audit_log WHERE id > $1 ORDER BY id LIMIT $2");
    let checkpoint = retention::latest_checkpoint(db).await?;
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
                checkpoint_backed |= retention::entry_backs(&entry, c);
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
