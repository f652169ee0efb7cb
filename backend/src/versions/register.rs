//! Registering a version from a validated manifest.

use lifecycle::{AuditAction, Manifest, Outcome, Status};

use super::record::{Result, VersionError, VersionRecord};
use crate::{
    audit::{self, Actor, AuditConn, NewEntry, now_timestamp},
    db::{Database, TxEnd},
};

/// Registers a version, `stopped`, after validating its manifest, with
/// the values of its declared variables carried over from the runtime's
/// earlier versions. The registration (or its refusal) is audited.
pub async fn register(
    db: &Database,
    actor: &Actor,
    runtime: &str,
    manifest: &Manifest,
) -> Result<VersionRecord> {
    let refused_entry = |why: serde_json::Value| {
        NewEntry::new(actor.clone(), AuditAction::Register, Outcome::Denied)
            .target(runtime, Some(manifest.name.clone()))
            .details(why)
    };
    if let Err(problems) = manifest.validate() {
        let details = serde_json::json!({ "invalid": problems.iter().map(ToString::to_string).collect::<Vec<_>>() });
        audit::append(db, &refused_entry(details)).await?;
        return Err(VersionError::Invalid(problems));
    }
    let manifest_json = serde_json::to_string(manifest)
        .map_err(|e| VersionError::Store(crate::Error::Corrupt(e.to_string())))?;
    let at = now_timestamp();
    let by = actor.name().to_owned();
    let mut record = VersionRecord {
        runtime: runtime.to_owned(),
        name: manifest.name.clone(),
        description: manifest.description.clone(),
        manifest: manifest.clone(),
        status: Status::Stopped,
        status_changed_at: at.clone(),
        status_actor: by.clone(),
        status_action: AuditAction::Register.as_str().to_owned(),
        error_message: None,
        created_at: at.clone(),
        created_by: by.clone(),
        serving_version: None,
        host: String::new(),
        bad: None,
    };
    let insert = "INSERT INTO versions (runtime, name, description, manifest, status, status_changed_at, \
                  status_actor, status_action, created_at, created_by) \
                  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";
    let runtime_exists = "SELECT COALESCE(host, name || '.' || base_domain), serving_version, settings \
                          FROM runtimes WHERE name = $1";
    let exists = "SELECT name FROM versions WHERE runtime = $1 AND name = $2";
    let record = write_tx!(VersionError, db, |conn| {
        let known: Option<(String, Option<String>, String)> = sqlx::query_as(runtime_exists)
            .bind(runtime)
            .fetch_optional(&mut *conn)
            .await?;
        let Some((host, serving_version, settings)) = known else {
            AuditConn::append_entry(
                &mut *conn,
                &refused_entry(serde_json::json!({"unknown_runtime": runtime})),
            )
            .await?;
            return Ok(TxEnd::Refuse(VersionError::UnknownRuntime(
                runtime.to_owned(),
            )));
        };
        // What the manifest asks of the runtime (a hardware class, more
        // than its maxima) is checked against the runtime as it is now.
        let settings: lifecycle::RuntimeSettings = serde_json::from_str(&settings)
            .map_err(|_| crate::Error::Corrupt(format!("runtimes.settings of {runtime:?}")))?;
        if let Err(problems) = settings.check(manifest) {
            let details = serde_json::json!({ "invalid": problems.iter().map(ToString::to_string).collect::<Vec<_>>() });
            AuditConn::append_entry(&mut *conn, &refused_entry(details)).await?;
            return Ok(TxEnd::Refuse(VersionError::Invalid(problems)));
        }
        record.host = host;
        record.serving_version = serving_version;
        let taken: Option<String> = sqlx::query_scalar(exists)
            .bind(runtime)
            .bind(&manifest.name)
            .fetch_optional(&mut *conn)
            .await?;
        if taken.is_some() {
            AuditConn::append_entry(
                &mut *conn,
                &refused_entry(serde_json::json!({"duplicate": true})),
            )
            .await?;
            return Ok(TxEnd::Refuse(VersionError::Duplicate {
                runtime: runtime.to_owned(),
                version: manifest.name.clone(),
            }));
        }
        sqlx::query(insert)
            .bind(runtime)
            .bind(&manifest.name)
            .bind(&manifest.description)
            .bind(&manifest_json)
            .bind(Status::Stopped.as_str())
            .bind(&at)
            .bind(&by)
            .bind(AuditAction::Register.as_str())
            .bind(&at)
            .bind(&by)
            .execute(&mut *conn)
            .await?;
        let entry = NewEntry::new(actor.clone(), AuditAction::Register, Outcome::Accepted)
            .target(runtime, Some(manifest.name.clone()))
            .statuses(None, Some(Status::Stopped))
            .details(serde_json::json!({"processes": manifest.processes.len()}));
        AuditConn::append_entry(&mut *conn, &entry).await?;
        Ok(TxEnd::Commit(record))
    })?;
    // Its values from the runtime's earlier versions, in a transaction of
    // their own: the registration stands whatever becomes of it.
    let carried = crate::configuration::carry::carry_over(
        db,
        actor,
        runtime,
        &record.name,
        &manifest.variables,
    );
    if let Err(error) = carried.await {
        tracing::warn!(%error, runtime, version = %record.name, "values not carried over");
    }
    Ok(record)
}
