//! Carrying values over at registration: a new version starts with the
//! values of the most recent other version of its runtime that has one
//! for the same name. Apart from the rest of the configuration, because
//! registration calls it.

use std::collections::BTreeMap;

use lifecycle::{AuditAction, Outcome, Variable};

use crate::{
    audit::{Actor, AuditConn, NewEntry},
    db::{Database, TxEnd},
};

/// A value stored for a version (the Configuration tab's saves too).
pub(super) const UPSERT: &str = "INSERT INTO version_values (runtime, version, name, value, sealed, source, set_by, set_at) \
                      VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                      ON CONFLICT (runtime, version, name) DO UPDATE SET value = excluded.value, \
                      sealed = excluded.sealed, source = excluded.source, set_by = excluded.set_by, \
                      set_at = excluded.set_at";

/// The version, plain value, sealed value, who set it and when.
type Earlier = (String, Option<String>, Option<String>, String, String);

/// Values other versions of the runtime have for one name, newest version first.
const EARLIER: &str = "SELECT vv.version, vv.value, vv.sealed, vv.set_by, vv.set_at FROM version_values vv \
                       JOIN versions v ON v.runtime = vv.runtime AND v.name = vv.version \
                       WHERE vv.runtime = $1 AND vv.name = $2 AND vv.version <> $3 \
                       ORDER BY v.created_at DESC, v.name DESC LIMIT 1";

/// Fills a newly registered version's values from the most recent other
/// version of its runtime that has one for the same name (secret as
/// secret, plain as plain, and still valid for the new declaration).
/// Audited as a configuration change by whoever registered it; the names
/// carried, by version.
pub async fn carry_over(
    db: &Database,
    actor: &Actor,
    runtime: &str,
    version: &str,
    variables: &[Variable],
) -> Result<BTreeMap<String, String>, crate::Error> {
    if variables.is_empty() {
        return Ok(BTreeMap::new());
    }
    write_tx!(crate::Error, db, |conn| {
        let mut carried = BTreeMap::new();
        for variable in variables {
            let earlier: Option<Earlier> = sqlx::query_as(EARLIER)
                .bind(runtime)
                .bind(&variable.name)
                .bind(version)
                .fetch_optional(&mut *conn)
                .await?;
            let Some((from, value, sealed, set_by, set_at)) = earlier else {
                continue;
            };
            let fits = match (&value, &sealed) {
                (Some(value), None) => !variable.secret && variable.check_value(value).is_ok(),
                (None, Some(_)) => variable.secret,
                _ => false,
            };
            if !fits {
                continue;
            }
            sqlx::query(UPSERT)
                .bind(runtime)
                .bind(version)
                .bind(&variable.name)
                .bind(value.as_deref())
                .bind(sealed.as_deref())
                .bind(format!("carried:{from}"))
                .bind(&set_by)
                .bind(&set_at)
                .execute(&mut *conn)
                .await?;
            carried.insert(variable.name.clone(), from);
        }
        if !carried.is_empty() {
            let entry = NewEntry::new(actor.clone(), AuditAction::Configure, Outcome::Accepted)
                .target(runtime, Some(version.to_owned()))
                .reason("values carried over at registration")
                .details(serde_json::json!({"carried": carried}));
            AuditConn::append_entry(&mut *conn, &entry).await?;
        }
        Ok(TxEnd::Commit(carried))
    })
}
