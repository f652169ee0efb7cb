//! Reading versions: one, a runtime's, and those in given statuses.

use lifecycle::Status;

use super::record::{Result, VERSION_SELECT, VersionError, VersionRecord, version_from_row};
use crate::db::Database;

pub async fn get(db: &Database, runtime: &str, version: &str) -> Result<VersionRecord> {
    let found = on_pool!(db, |pool| fetch_version!(pool, runtime, version));
    found.ok_or_else(|| VersionError::UnknownVersion {
        runtime: runtime.to_owned(),
        version: version.to_owned(),
    })
}

/// Every version of a runtime, by name.
pub async fn list(db: &Database, runtime: &str) -> Result<Vec<VersionRecord>> {
    let sql = format!("{VERSION_SELECT} WHERE v.runtime = $1 ORDER BY v.name");
    on_pool!(db, |pool| sqlx::query(&sql)
        .bind(runtime)
        .fetch_all(pool)
        .await?
        .iter()
        .map(version_from_row)
        .collect())
}

/// Versions in the given statuses across every runtime.
async fn with_status(db: &Database, statuses: &[Status]) -> Result<Vec<VersionRecord>> {
    let wanted = statuses
        .iter()
        .map(|s| format!("'{}'", s.as_str()))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!("{VERSION_SELECT} WHERE v.status IN ({wanted}) ORDER BY v.runtime, v.name");
    on_pool!(db, |pool| sqlx::query(&sql)
        .fetch_all(pool)
        .await?
        .iter()
        .map(version_from_row)
        .collect())
}

/// Every `starting` and `stopping` version: what the reconciler must finish,
/// after a restart too.
pub async fn in_flight(db: &Database) -> Result<Vec<VersionRecord>> {
    with_status(db, &[Status::Starting, Status::Stopping]).await
}

/// Every published version (at most one per runtime).
pub async fn published(db: &Database) -> Result<Vec<VersionRecord>> {
    with_status(db, &[Status::Published]).await
}
