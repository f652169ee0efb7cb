//! Reading and writing a version's values: the tab's view, a save (one
//! transaction with its audit entry), the carry-over at registration, and
//! the opened values a start applies.

use std::collections::{BTreeMap, BTreeSet};

use lifecycle::{
    AuditAction, FieldError, Outcome, Reason, Status, VariableKind,
    variables::{MAX_OBJECT_BYTES, check_change},
};
use sha2::{Digest, Sha256};

use super::{
    carry::UPSERT,
    keyring::Keyring,
    settled::Settled,
    values::{ConfigError, Configured, ValueChange},
};
use crate::{
    audit::{Actor, AuditConn, NewEntry, now_timestamp},
    db::{Database, TxEnd},
    versions::{self, VersionError, VersionRecord},
};
use lifecycle::variables::ConfigField;

/// One stored value: plain text, or sealed.
#[derive(Debug, Clone, sqlx::FromRow)]
struct Row {
    name: String,
    value: Option<String>,
    sealed: Option<String>,
    source: String,
    set_by: String,
    set_at: String,
}

const ROWS: &str = "SELECT name, value, sealed, source, set_by, set_at FROM version_values \
                    WHERE runtime = $1 AND version = $2 ORDER BY name";

const STATUS: &str = "SELECT status FROM versions WHERE runtime = $1 AND name = $2";
const CLEAR: &str = "DELETE FROM version_values WHERE runtime = $1 AND version = $2 AND name = $3";

async fn rows(db: &Database, runtime: &str, version: &str) -> Result<Vec<Row>, ConfigError> {
    Ok(on_pool!(db, |pool| sqlx::query_as::<_, Row>(ROWS)
        .bind(runtime)
        .bind(version)
        .fetch_all(pool)
        .await)?)
}

/// The names a version has a value set for.
pub async fn set_names(
    db: &Database,
    runtime: &str,
    version: &str,
) -> Result<BTreeSet<String>, ConfigError> {
    Ok(rows(db, runtime, version)
        .await?
        .into_iter()
        .map(|r| r.name)
        .collect())
}

/// Every declared variable of the version with what is set for it.
pub async fn fields(
    db: &Database,
    runtime: &str,
    version: &str,
) -> Result<Vec<ConfigField>, ConfigError> {
    let record = versions::get(db, runtime, version).await?;
    let rows: BTreeMap<String, Row> = rows(db, runtime, version)
        .await?
        .into_iter()
        .map(|r| (r.name.clone(), r))
        .collect();
    Ok(record
        .manifest
        .variables
        .iter()
        .map(|v| {
            let row = rows.get(&v.name);
            ConfigField {
                name: v.name.clone(),
                description: v.description.clone(),
                kind: v.kind,
                secret: v.secret,
                required: v.required,
                default: v.default.clone(),
                // A secret's value never leaves here, even if a row
                // somehow held one in plain text.
                value: row.filter(|_| !v.secret).and_then(|r| r.value.clone()),
                set: row.is_some(),
                set_at: row.map(|r| r.set_at.clone()),
                set_by: row.map(|r| r.set_by.clone()),
                source: row.map(|r| r.source.clone()),
            }
        })
        .collect())
}

fn plain_hash(value: &str) -> String {
    let digest = Sha256::digest(value.as_bytes());
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// Opens every value of a version (secrets with `keyring`), as its
/// objects in the cluster are to carry them.
pub async fn settled(
    db: &Database,
    keyring: &Keyring,
    record: &VersionRecord,
) -> Result<Settled, ConfigError> {
    if record.manifest.variables.is_empty() {
        return Ok(Settled::default());
    }
    let mut set = BTreeMap::new();
    for row in rows(db, &record.runtime, &record.name).await? {
        let pair = match (row.value, row.sealed) {
            (Some(value), _) => {
                let hash = plain_hash(&value);
                (value, hash)
            }
            (None, Some(sealed)) => {
                let value = keyring.open(&record.runtime, &row.name, &sealed)?;
                let hash = keyring.keyed_hash(&value)?;
                (value, hash)
            }
            (None, None) => continue,
        };
        set.insert(row.name, pair);
    }
    Ok(Settled::build(&record.manifest, &set))
}

/// The sizes the values add to the version's ConfigMap, files ConfigMap
/// and Secret; a problem for each object over its bound.
fn over_bounds(record: &VersionRecord, values: &BTreeMap<String, String>) -> Vec<FieldError> {
    let mut sizes = [0usize; 3];
    let config: usize = record
        .manifest
        .config
        .iter()
        .map(|(k, v)| k.len() + v.len())
        .sum();
    sizes[0] = config;
    for variable in &record.manifest.variables {
        let Some(value) = values.get(&variable.name) else {
            continue;
        };
        let size = variable.name.len() + value.len();
        let slot = match (variable.secret, variable.kind) {
            (true, _) => 2,
            (false, VariableKind::File) => 1,
            (false, VariableKind::Variable) => 0,
        };
        // A Secret's data is base64: a third larger.
        sizes[slot] += if slot == 2 { size * 4 / 3 + 4 } else { size };
    }
    [
        "the version's ConfigMap",
        "the version's files ConfigMap",
        "the version's Secret",
    ]
    .iter()
    .zip(sizes)
    .filter(|(_, size)| *size > MAX_OBJECT_BYTES)
    .map(|(object, size)| FieldError {
        path: "configuration".into(),
        message: format!(
            "{object} would hold {size} bytes; a Kubernetes object holds at most {} KiB",
            MAX_OBJECT_BYTES / 1024
        ),
    })
    .collect()
}

/// Saves `changes` to a version's values, with `reason`, as one audited
/// transaction; nothing is saved unless every change is valid. Secrets
/// are sealed with `keyring`, and their audit entry holds only a keyed
/// hash. The caller re-applies a running version (`Configured::rolling`).
pub async fn configure(
    db: &Database,
    keyring: &Keyring,
    actor: &Actor,
    runtime: &str,
    version: &str,
    changes: &[ValueChange],
    reason: &Reason,
) -> Result<Configured, ConfigError> {
    let record = versions::get(db, runtime, version).await?;
    let declared = &record.manifest.variables;
    let mut problems = Vec::new();
    let mut seen = BTreeSet::new();
    for change in changes {
        if !seen.insert(change.name.as_str()) {
            problems.push(FieldError {
                path: change.name.clone(),
                message: "is given twice".into(),
            });
        } else if let Err(message) =
            check_change(declared, &change.name, &change.value, change.secret)
        {
            problems.push(FieldError {
                path: change.name.clone(),
                message,
            });
        }
    }
    if !problems.is_empty() {
        return Err(ConfigError::Invalid(problems));
    }
    // Sealed before the transaction: sealing needs no database.
    let mut sealed = BTreeMap::new();
    for change in changes.iter().filter(|c| c.secret) {
        sealed.insert(
            change.name.as_str(),
            (
                keyring.seal(runtime, &change.name, &change.value)?,
                keyring.keyed_hash(&change.value)?,
            ),
        );
    }
    let by = actor.name().to_owned();
    let at = now_timestamp();
    write_tx!(ConfigError, db, |conn| {
        // The manifest never changes; the status may have since the read.
        let status: Option<String> = sqlx::query_scalar(STATUS)
            .bind(runtime)
            .bind(version)
            .fetch_optional(&mut *conn)
            .await?;
        let Some(status) = status.and_then(|s| s.parse::<Status>().ok()) else {
            return Ok(TxEnd::Refuse(ConfigError::Version(
                VersionError::UnknownVersion {
                    runtime: runtime.to_owned(),
                    version: version.to_owned(),
                },
            )));
        };
        let existing: Vec<Row> = sqlx::query_as(ROWS)
            .bind(runtime)
            .bind(version)
            .fetch_all(&mut *conn)
            .await?;
        let mut values: BTreeMap<String, String> = BTreeMap::new();
        for row in &existing {
            let value = match (&row.value, &row.sealed) {
                (Some(value), _) => value.clone(),
                (None, Some(sealed)) => keyring.open(runtime, &row.name, sealed)?,
                (None, None) => continue,
            };
            values.insert(row.name.clone(), value);
        }
        let mut audited = Vec::new();
        let mut changed = Vec::new();
        for change in changes {
            let before = values.get(&change.name);
            if before == Some(&change.value) || (change.value.is_empty() && before.is_none()) {
                continue;
            }
            if change.value.is_empty() {
                sqlx::query(CLEAR)
                    .bind(runtime)
                    .bind(version)
                    .bind(&change.name)
                    .execute(&mut *conn)
                    .await?;
                values.remove(&change.name);
                audited.push(serde_json::json!({"name": change.name, "cleared": true}));
            } else {
                let (plain, seal, hash) = match sealed.get(change.name.as_str()) {
                    Some((seal, hash)) => (None, Some(seal.as_str()), hash.clone()),
                    None => (
                        Some(change.value.as_str()),
                        None,
                        keyring
                            .keyed_hash(&change.value)
                            .unwrap_or_else(|_| plain_hash(&change.value)),
                    ),
                };
                sqlx::query(UPSERT)
                    .bind(runtime)
                    .bind(version)
                    .bind(&change.name)
                    .bind(plain)
                    .bind(seal)
                    .bind("set")
                    .bind(&by)
                    .bind(&at)
                    .execute(&mut *conn)
                    .await?;
                values.insert(change.name.clone(), change.value.clone());
                let mut note =
                    serde_json::json!({"name": change.name, "secret": change.secret, "hash": hash});
                // A short plain value is worth reading in the log itself.
                if !change.secret && change.value.len() <= 200 {
                    note["value"] = serde_json::json!(change.value);
                }
                audited.push(note);
            }
            changed.push(change.name.clone());
        }
        let over = over_bounds(&record, &values);
        if !over.is_empty() {
            // Rolled back: nothing of this save is kept.
            return Err(ConfigError::Invalid(over));
        }
        let rolling = !changed.is_empty()
            && matches!(
                status,
                Status::Starting | Status::Started | Status::Published
            );
        if !changed.is_empty() {
            let entry = NewEntry::new(actor.clone(), AuditAction::Configure, Outcome::Accepted)
                .target(runtime, Some(version.to_owned()))
                .reason(reason.as_str())
                .statuses(Some(status), Some(status))
                .details(serde_json::json!({"changed": audited, "rolling": rolling}));
            AuditConn::append_entry(&mut *conn, &entry).await?;
        }
        Ok(TxEnd::Commit(Configured { changed, rolling }))
    })
}
