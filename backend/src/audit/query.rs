//! What `/audit` and the exports read: filters, and newest-first pages by
//! keyset over the primary key.

use lifecycle::{AuditAction, Outcome};
use serde::{Deserialize, Serialize};

use super::entry::{Entry, SELECT_COLUMNS, entry_from_row, fetch_entries};
use crate::{db::Database, error::Result};

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
