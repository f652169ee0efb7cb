//! Release history: each period during which a version served a runtime's
//! traffic, as the leader's routing pass saw its Ingress point at it. A
//! release opens and closes in the transaction that records the switch
//! (`versions::record_routing`), so history and routing never disagree.
//!
//! Times are the audit log's fixed-width UTC strings, so comparing them as
//! text compares the instants.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::{Database, Error};

/// Why a release ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndCause {
    /// Another version took the traffic.
    Superseded,
    /// The version was unpublished and nothing took its place.
    Unpublished,
    /// The version failed while serving and the runtime stopped serving it.
    Failed,
}

impl EndCause {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Superseded => "superseded",
            Self::Unpublished => "unpublished",
            Self::Failed => "failed",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        [Self::Superseded, Self::Unpublished, Self::Failed]
            .into_iter()
            .find(|cause| cause.as_str() == text)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Release {
    pub id: i64,
    pub runtime: String,
    pub version: String,
    /// Who published the version (an email, or `system`).
    pub published_by: String,
    pub publish_reason: Option<String>,
    /// The accepted publish entry behind this release.
    pub publish_audit_id: Option<i64>,
    /// When the Ingress first pointed at the version.
    pub started_at: String,
    /// The routing entry that recorded the switch to it.
    pub opened_audit_id: Option<i64>,
    /// `None` while it serves.
    pub ended_at: Option<String>,
    pub end_cause: Option<EndCause>,
    pub superseded_by: Option<String>,
    pub closed_audit_id: Option<i64>,
}

impl Release {
    /// How long it served: until it ended, or until `now` while it serves.
    pub fn seconds_served(&self, now: DateTime<Utc>) -> i64 {
        let start = parse_instant(&self.started_at);
        let end = match &self.ended_at {
            Some(end) => parse_instant(end),
            None => Some(now),
        };
        match (start, end) {
            (Some(start), Some(end)) => (end - start).num_seconds().max(0),
            _ => 0,
        }
    }
}

/// One page of a runtime's history, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleasePage {
    pub releases: Vec<Release>,
    /// The cursor of the next (older) page, when there is one.
    pub older: Option<i64>,
}

const SELECT: &str = "SELECT id, runtime, version, published_by, publish_reason, publish_audit_id, \
     started_at, opened_audit_id, ended_at, end_cause, superseded_by, closed_audit_id FROM releases";

/// The SQL the routing transaction runs (see `versions::record_routing`).
pub(crate) const CLOSE_OPEN: &str = "UPDATE releases SET ended_at = $1, end_cause = $2, \
     superseded_by = $3, closed_audit_id = $4 WHERE runtime = $5 AND ended_at IS NULL";
pub(crate) const OPEN: &str = "INSERT INTO releases (runtime, version, published_by, \
     publish_reason, publish_audit_id, started_at, opened_audit_id) \
     VALUES ($1, $2, $3, $4, $5, $6, $7)";
/// The accepted publish that made a version the one to serve.
pub(crate) const LAST_PUBLISH: &str = "SELECT id, COALESCE(actor_email, 'system'), reason \
     FROM audit_log WHERE runtime = $1 AND version = $2 AND action = 'version.publish' \
     AND outcome = 'accepted' ORDER BY id DESC LIMIT 1";

/// How an instant is written in the database: the audit log's format.
pub fn timestamp(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// Reads an RFC 3339 instant (any offset) as UTC.
pub fn parse_instant(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text.trim())
        .ok()
        .map(|at| at.with_timezone(&Utc))
}

fn release_from_row<R>(row: &R) -> Result<Release, Error>
where
    R: Row,
    for<'c> &'c str: sqlx::ColumnIndex<R>,
    String: sqlx::Type<R::Database> + for<'r> sqlx::Decode<'r, R::Database>,
    i64: sqlx::Type<R::Database> + for<'r> sqlx::Decode<'r, R::Database>,
{
    let cause: Option<String> = row.try_get("end_cause")?;
    let end_cause = match cause {
        None => None,
        Some(text) => Some(
            EndCause::parse(&text)
                .ok_or_else(|| Error::Corrupt("releases.end_cause is unreadable".into()))?,
        ),
    };
    Ok(Release {
        id: row.try_get("id")?,
        runtime: row.try_get("runtime")?,
        version: row.try_get("version")?,
        published_by: row.try_get("published_by")?,
        publish_reason: row.try_get("publish_reason")?,
        publish_audit_id: row.try_get("publish_audit_id")?,
        started_at: row.try_get("started_at")?,
        opened_audit_id: row.try_get("opened_audit_id")?,
        ended_at: row.try_get("ended_at")?,
        end_cause,
        superseded_by: row.try_get("superseded_by")?,
        closed_audit_id: row.try_get("closed_audit_id")?,
    })
}

/// A page of a runtime's releases, newest first, older than the release
/// `before` when given.
pub async fn history(
    db: &Database,
    runtime: &str,
    before: Option<i64>,
    limit: u32,
) -> Result<ReleasePage, Error> {
    let limit = limit.clamp(1, 500);
    let sql = format!(
        "{SELECT} WHERE runtime = $1 AND id < $2 ORDER BY id DESC LIMIT {}",
        limit + 1
    );
    let mut releases: Vec<Release> = on_pool!(db, |pool| sqlx::query(&sql)
        .bind(runtime)
        .bind(before.unwrap_or(i64::MAX))
        .fetch_all(pool)
        .await?
        .iter()
        .map(release_from_row)
        .collect::<Result<_, Error>>())?;
    let older = if releases.len() > limit as usize {
        releases.truncate(limit as usize);
        releases.last().map(|r| r.id)
    } else {
        None
    };
    Ok(ReleasePage { releases, older })
}

/// The release that was serving the runtime's traffic at `at`, if any.
pub async fn serving_at(
    db: &Database,
    runtime: &str,
    at: DateTime<Utc>,
) -> Result<Option<Release>, Error> {
    let at = timestamp(at);
    // The last release to start at or before the instant; it answers when
    // it had not ended by then.
    let sql = format!(
        "{SELECT} WHERE runtime = $1 AND started_at <= $2 ORDER BY started_at DESC, id DESC LIMIT 1"
    );
    let found = on_pool!(db, |pool| sqlx::query(&sql)
        .bind(runtime)
        .bind(&at)
        .fetch_optional(pool)
        .await?
        .as_ref()
        .map(release_from_row)
        .transpose())?;
    Ok(found.filter(|release| release.ended_at.as_ref().is_none_or(|end| *end > at)))
}

/// The version a rollback publishes: the most recent earlier release's
/// (with version `to` when named) other than the one serving now.
pub async fn rollback_target(
    db: &Database,
    runtime: &str,
    to: Option<&str>,
) -> Result<Option<String>, Error> {
    let sql = "SELECT version FROM releases WHERE runtime = $1 AND ended_at IS NOT NULL \
               AND version <> COALESCE((SELECT serving_version FROM runtimes WHERE name = $1), '') \
               AND ($2 = '' OR version = $2) ORDER BY id DESC LIMIT 1";
    Ok(on_pool!(db, |pool| sqlx::query_scalar(sql)
        .bind(runtime)
        .bind(to.unwrap_or(""))
        .fetch_optional(pool)
        .await?))
}

/// What served a runtime at an instant, as the history page and the JSON
/// route answer it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServingAt {
    /// The instant asked about, in the database's UTC format.
    pub at: String,
    pub release: Option<Release>,
    /// The instant is before the runtime was created: nothing could serve.
    pub before_runtime: bool,
}

/// The answer for `runtime` at `at`; `None` when there is no such runtime.
pub async fn answer_at(
    db: &Database,
    runtime: &str,
    at: DateTime<Utc>,
) -> Result<Option<ServingAt>, Error> {
    let created: Option<String> = on_pool!(db, |pool| sqlx::query_scalar(
        "SELECT created_at FROM runtimes WHERE name = $1"
    )
    .bind(runtime)
    .fetch_optional(pool)
    .await?);
    let Some(created) = created else {
        return Ok(None);
    };
    let text = timestamp(at);
    let release = serving_at(db, runtime, at).await?;
    Ok(Some(ServingAt {
        before_runtime: text < created,
        at: text,
        release,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_in_any_offset_are_written_as_the_audit_log_writes_them() {
        let at = parse_instant("2026-12-07T10:00:05+02:00").expect("parses");
        assert_eq!(timestamp(at), "2026-12-07T08:00:05.000000Z");
        assert_eq!(parse_instant("yesterday"), None);
        assert_eq!(parse_instant("2026-12-07 10:00"), None);
        // The same width as the audit log's times, so text order is time order.
        assert_eq!(timestamp(at).len(), crate::audit::now_timestamp().len());
    }

    #[test]
    fn end_causes_read_back_as_written() {
        for cause in [
            EndCause::Superseded,
            EndCause::Unpublished,
            EndCause::Failed,
        ] {
            assert_eq!(EndCause::parse(cause.as_str()), Some(cause));
        }
        assert_eq!(EndCause::parse("rolled"), None);
    }
}
