//! Rotating the secret key: every sealed value opened with the keys of
//! `current` and sealed again with `newer`, in one audited transaction, so
//! the database never holds values of two keys but for the moment a
//! rotation's new key file is not in place yet (`Keyring::read` reads
//! both then).

use lifecycle::{AuditAction, Outcome};

use super::{keyring::Keyring, values::ConfigError};
use crate::{
    audit::{Actor, AuditConn, NewEntry},
    db::{Database, TxEnd},
};

/// Re-seals every secret value and webhook signing secret; the number
/// re-sealed.
pub async fn rotate(
    db: &Database,
    current: &Keyring,
    newer: &Keyring,
) -> Result<usize, ConfigError> {
    let select =
        "SELECT runtime, version, name, sealed FROM version_values WHERE sealed IS NOT NULL";
    let update =
        "UPDATE version_values SET sealed = $1 WHERE runtime = $2 AND version = $3 AND name = $4";
    write_tx!(ConfigError, db, |conn| {
        let sealed: Vec<(String, String, String, String)> =
            sqlx::query_as(select).fetch_all(&mut *conn).await?;
        for (runtime, version, name, value) in &sealed {
            let plain = current.open(runtime, name, value)?;
            let again = newer.seal(runtime, name, &plain)?;
            sqlx::query(update)
                .bind(&again)
                .bind(runtime)
                .bind(version)
                .bind(name)
                .execute(&mut *conn)
                .await?;
        }
        let hooks: Vec<(i64, String, String)> =
            sqlx::query_as("SELECT id, runtime, secret_sealed FROM webhook_endpoints")
                .fetch_all(&mut *conn)
                .await?;
        for (id, runtime, value) in &hooks {
            let plain = current.open(runtime, super::keyring::WEBHOOK_SECRET_BINDING, value)?;
            let again = newer.seal(runtime, super::keyring::WEBHOOK_SECRET_BINDING, &plain)?;
            sqlx::query("UPDATE webhook_endpoints SET secret_sealed = $1 WHERE id = $2")
                .bind(&again)
                .bind(id)
                .execute(&mut *conn)
                .await?;
        }
        let entry = NewEntry::new(Actor::System, AuditAction::SecretsRotate, Outcome::Accepted)
            .details(serde_json::json!({
                "values": sealed.len(),
                "webhooks": hooks.len(),
                "from": current.key_id(),
                "to": newer.key_id(),
            }));
        AuditConn::append_entry(&mut *conn, &entry).await?;
        Ok(TxEnd::Commit(sealed.len() + hooks.len()))
    })
}
