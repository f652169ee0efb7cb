//! Runtimes as objects of their own: created, changed and deleted by admins,
//! each change with a reason and an audit entry holding the old and the new
//! settings, in the same transaction. What the settings mean for the cluster
//! is the leader's business: routing compares the Ingress with them on every
//! pass, and a start builds the workloads from them.

use lifecycle::{
    AuditAction, FieldError, Outcome, Reason, RuntimeSettings, Status, validate_dns_label,
};
use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::{
    audit::{Actor, AuditConn, NewEntry, now_timestamp},
    db::{Database, TxEnd},
};

mod workloads;

pub use workloads::{MAX_WORKLOADS_BYTES, WorkloadDefaults, parse_yaml, windows_yaml};

pub const MAX_DESCRIPTION_CHARS: usize = 500;

/// A runtime: one namespace (named after it), the host its published
/// version is served at, its settings, and where its traffic is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuntimeRecord {
    pub name: String,
    pub description: String,
    pub base_domain: String,
    pub settings: RuntimeSettings,
    pub created_at: String,
    pub created_by: String,
    pub updated_at: Option<String>,
    /// The version the runtime's Ingress points at, as the leader last saw
    /// or made it; `None` when there is no Ingress.
    pub serving_version: Option<String>,
    /// Why the Ingress could not be brought in line, while it cannot.
    pub routing_error: Option<String>,
}

impl RuntimeRecord {
    /// A runtime as it is just after creation, for unit tests.
    #[cfg(test)]
    pub(crate) fn for_tests(name: &str, settings: RuntimeSettings) -> Self {
        Self {
            name: name.into(),
            description: String::new(),
            base_domain: "apps.example.com".into(),
            settings,
            created_at: String::new(),
            created_by: String::new(),
            updated_at: None,
            serving_version: None,
            routing_error: None,
        }
    }

    /// The host the runtime's published version is served at.
    pub fn host(&self) -> String {
        self.settings.host(&self.name, &self.base_domain)
    }
}

/// What an admin submits to create a runtime or change one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuntimeDraft {
    pub description: String,
    /// Versions are served at `<runtime>.<base_domain>` unless the settings
    /// name a full host.
    pub base_domain: String,
    pub settings: RuntimeSettings,
}

impl RuntimeDraft {
    fn of(record: &RuntimeRecord) -> Self {
        Self {
            description: record.description.clone(),
            base_domain: record.base_domain.clone(),
            settings: record.settings.clone(),
        }
    }

    fn validate(&self) -> Result<(), Vec<FieldError>> {
        let problems = self.problems();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }

    /// Every problem of the draft; empty when it may be saved.
    pub fn problems(&self) -> Vec<FieldError> {
        let mut problems = self
            .settings
            .validate(&self.base_domain)
            .err()
            .unwrap_or_default();
        if self.description.chars().count() > MAX_DESCRIPTION_CHARS {
            problems.push(FieldError {
                path: "description".into(),
                message: format!("must be at most {MAX_DESCRIPTION_CHARS} characters"),
            });
        }
        problems
    }

    /// Whether a change from `old` moves the runtime's traffic (the
    /// Ingress), as opposed to what only the next start reads.
    fn routing_differs(&self, old: &RuntimeDraft, name: &str) -> bool {
        let (new_s, old_s) = (&self.settings, &old.settings);
        new_s.host(name, &self.base_domain) != old_s.host(name, &old.base_domain)
            || new_s.ingress_class != old_s.ingress_class
            || new_s.tls != old_s.tls
            || new_s.ingress_annotations != old_s.ingress_annotations
    }
}

/// What a change did: the runtime as it is now, and what the screen tells
/// the admin about when it takes effect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changed {
    pub runtime: RuntimeRecord,
    /// The Ingress follows (the leader's next routing pass).
    pub routing: bool,
    /// Workload defaults changed: versions read them at their next start.
    pub workloads: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum RuntimesError {
    #[error("There is no runtime named {0:?}.")]
    Unknown(String),
    #[error("A runtime named {0:?} already exists.")]
    Exists(String),
    #[error("The runtime's settings have {} problem(s).", .0.len())]
    Invalid(Vec<FieldError>),
    #[error(
        "Runtime {runtime:?} still runs {}: stop every version before deleting it.",
        running.join(", ")
    )]
    Running {
        runtime: String,
        running: Vec<String>,
    },
    #[error(transparent)]
    Store(#[from] crate::Error),
}

impl From<sqlx::Error> for RuntimesError {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(e.into())
    }
}

type Result<T, E = RuntimesError> = std::result::Result<T, E>;

const RUNTIME_COLUMNS: &str = "name, description, base_domain, host, settings, created_at, \
                               created_by, updated_at, serving_version, routing_error";

fn from_row<R>(row: &R) -> Result<RuntimeRecord>
where
    R: Row,
    for<'c> &'c str: sqlx::ColumnIndex<R>,
    String: sqlx::Type<R::Database> + for<'r> sqlx::Decode<'r, R::Database>,
{
    let name: String = row.try_get("name")?;
    let settings: String = row.try_get("settings")?;
    let mut settings: RuntimeSettings = serde_json::from_str(&settings).map_err(|_| {
        RuntimesError::Store(crate::Error::Corrupt(format!(
            "runtimes.settings of {name:?} is unreadable"
        )))
    })?;
    // The host has a column of its own (the version queries read it).
    settings.host = row.try_get("host")?;
    Ok(RuntimeRecord {
        name,
        description: row.try_get("description")?,
        base_domain: row.try_get("base_domain")?,
        settings,
        created_at: row.try_get("created_at")?,
        created_by: row.try_get("created_by")?,
        updated_at: row.try_get("updated_at")?,
        serving_version: row.try_get("serving_version")?,
        routing_error: row.try_get("routing_error")?,
    })
}

/// The settings as stored: canonical JSON without the host (its column).
fn settings_json(settings: &RuntimeSettings) -> Result<String> {
    let stored = RuntimeSettings {
        host: None,
        ..settings.clone()
    };
    serde_json::to_string(&stored)
        .map_err(|e| RuntimesError::Store(crate::Error::Corrupt(e.to_string())))
}

macro_rules! fetch_runtime {
    ($conn:expr, $name:expr) => {{
        let sql = format!("SELECT {RUNTIME_COLUMNS} FROM runtimes WHERE name = $1");
        match sqlx::query(&sql).bind($name).fetch_optional($conn).await? {
            Some(row) => Some(from_row(&row)?),
            None => None,
        }
    }};
}

pub async fn list(db: &Database) -> Result<Vec<RuntimeRecord>> {
    let sql = format!("SELECT {RUNTIME_COLUMNS} FROM runtimes ORDER BY name");
    on_pool!(db, |pool| sqlx::query(&sql)
        .fetch_all(pool)
        .await?
        .iter()
        .map(from_row)
        .collect())
}

pub async fn get(db: &Database, name: &str) -> Result<RuntimeRecord> {
    let found = on_pool!(db, |pool| fetch_runtime!(pool, name));
    found.ok_or_else(|| RuntimesError::Unknown(name.to_owned()))
}

fn invalid_name(name: &str) -> Option<RuntimesError> {
    validate_dns_label(name).err().map(|e| {
        RuntimesError::Invalid(vec![FieldError {
            path: "name".into(),
            message: e.to_string(),
        }])
    })
}

/// Creates the runtime with default settings if it does not exist yet
/// (idempotent): `server version register --runtime X --base-domain Y`.
pub async fn ensure(db: &Database, name: &str, base_domain: &str) -> Result<()> {
    if let Some(error) = invalid_name(name) {
        return Err(error);
    }
    let sql = "INSERT INTO runtimes (name, base_domain, created_at) VALUES ($1, $2, $3) \
               ON CONFLICT (name) DO NOTHING";
    let at = now_timestamp();
    on_pool!(db, |pool| sqlx::query(sql)
        .bind(name)
        .bind(base_domain)
        .bind(&at)
        .execute(pool)
        .await
        .map(drop))?;
    Ok(())
}

fn entry(actor: &Actor, action: AuditAction, outcome: Outcome, name: &str) -> NewEntry {
    NewEntry::new(actor.clone(), action, outcome).target(name, None)
}

pub async fn create(
    db: &Database,
    actor: &Actor,
    name: &str,
    draft: &RuntimeDraft,
    reason: &Reason,
) -> Result<RuntimeRecord> {
    if let Some(error) = invalid_name(name) {
        return Err(error);
    }
    draft.validate().map_err(RuntimesError::Invalid)?;
    let settings = settings_json(&draft.settings)?;
    let at = now_timestamp();
    let by = actor.name().to_owned();
    let insert = format!(
        "INSERT INTO runtimes (name, description, base_domain, host, settings, created_at, created_by) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {RUNTIME_COLUMNS}"
    );
    write_tx!(RuntimesError, db, |conn| {
        let taken: Option<String> = sqlx::query_scalar("SELECT name FROM runtimes WHERE name = $1")
            .bind(name)
            .fetch_optional(&mut *conn)
            .await?;
        if taken.is_some() {
            let denied = entry(actor, AuditAction::RuntimeCreate, Outcome::Denied, name)
                .reason(reason.as_str())
                .details(serde_json::json!({"exists": true}));
            AuditConn::append_entry(&mut *conn, &denied).await?;
            return Ok(TxEnd::Refuse(RuntimesError::Exists(name.to_owned())));
        }
        let row = sqlx::query(&insert)
            .bind(name)
            .bind(&draft.description)
            .bind(&draft.base_domain)
            .bind(&draft.settings.host)
            .bind(&settings)
            .bind(&at)
            .bind(&by)
            .fetch_one(&mut *conn)
            .await?;
        let created = from_row(&row)?;
        let accepted = entry(actor, AuditAction::RuntimeCreate, Outcome::Accepted, name)
            .reason(reason.as_str())
            .details(serde_json::json!({"new": draft}));
        AuditConn::append_entry(&mut *conn, &accepted).await?;
        Ok(TxEnd::Commit(created))
    })
}

/// Changes a runtime's settings. The audit entry holds the old and the new
/// ones; routing changes reach the Ingress on the leader's next pass, the
/// workload defaults at each version's next start.
pub async fn update(
    db: &Database,
    actor: &Actor,
    name: &str,
    draft: &RuntimeDraft,
    reason: &Reason,
) -> Result<Changed> {
    draft.validate().map_err(RuntimesError::Invalid)?;
    let settings = settings_json(&draft.settings)?;
    let at = now_timestamp();
    let update = format!(
        "UPDATE runtimes SET description = $1, base_domain = $2, host = $3, settings = $4, \
         updated_at = $5 WHERE name = $6 RETURNING {RUNTIME_COLUMNS}"
    );
    write_tx!(RuntimesError, db, |conn| {
        let Some(current) = fetch_runtime!(&mut *conn, name) else {
            return Ok(TxEnd::Refuse(RuntimesError::Unknown(name.to_owned())));
        };
        let old = RuntimeDraft::of(&current);
        let routing = draft.routing_differs(&old, name);
        let workloads = draft.settings.image_pull_secrets != old.settings.image_pull_secrets
            || draft.settings.default_resources != old.settings.default_resources
            || draft.settings.max_resources != old.settings.max_resources
            || draft.settings.pod_security != old.settings.pod_security
            || draft.settings.placements != old.settings.placements;
        let row = sqlx::query(&update)
            .bind(&draft.description)
            .bind(&draft.base_domain)
            .bind(&draft.settings.host)
            .bind(&settings)
            .bind(&at)
            .bind(name)
            .fetch_one(&mut *conn)
            .await?;
        let runtime = from_row(&row)?;
        let accepted = entry(actor, AuditAction::RuntimeUpdate, Outcome::Accepted, name)
            .reason(reason.as_str())
            .details(serde_json::json!({
                "old": old,
                "new": draft,
                "routing": routing,
                "workloads": workloads,
            }));
        AuditConn::append_entry(&mut *conn, &accepted).await?;
        Ok(TxEnd::Commit(Changed {
            runtime,
            routing,
            workloads,
        }))
    })
}

/// Deletes a runtime none of whose versions runs, with its stopped
/// versions and their logs; the audit log keeps their history. Refused
/// (and audited as denied) while any version is not `stopped`.
pub async fn delete(db: &Database, actor: &Actor, name: &str, reason: &Reason) -> Result<()> {
    let running = "SELECT name FROM versions WHERE runtime = $1 AND status <> $2 ORDER BY name";
    let versions = "SELECT name FROM versions WHERE runtime = $1 ORDER BY name";
    write_tx!(RuntimesError, db, |conn| {
        let Some(current) = fetch_runtime!(&mut *conn, name) else {
            return Ok(TxEnd::Refuse(RuntimesError::Unknown(name.to_owned())));
        };
        let busy: Vec<String> = sqlx::query_scalar(running)
            .bind(name)
            .bind(Status::Stopped.as_str())
            .fetch_all(&mut *conn)
            .await?;
        if !busy.is_empty() {
            let denied = entry(actor, AuditAction::RuntimeDelete, Outcome::Denied, name)
                .reason(reason.as_str())
                .details(serde_json::json!({"running": busy}));
            AuditConn::append_entry(&mut *conn, &denied).await?;
            return Ok(TxEnd::Refuse(RuntimesError::Running {
                runtime: name.to_owned(),
                running: busy,
            }));
        }
        let removed: Vec<String> = sqlx::query_scalar(versions)
            .bind(name)
            .fetch_all(&mut *conn)
            .await?;
        for sql in [
            "DELETE FROM version_values WHERE runtime = $1",
            "DELETE FROM node_logs WHERE runtime = $1",
            "DELETE FROM versions WHERE runtime = $1",
            "DELETE FROM releases WHERE runtime = $1",
            "DELETE FROM runtimes WHERE name = $1",
        ] {
            sqlx::query(sql).bind(name).execute(&mut *conn).await?;
        }
        let accepted = entry(actor, AuditAction::RuntimeDelete, Outcome::Accepted, name)
            .reason(reason.as_str())
            .details(serde_json::json!({
                "old": RuntimeDraft::of(&current),
                "versions": removed,
            }));
        AuditConn::append_entry(&mut *conn, &accepted).await?;
        Ok(TxEnd::Commit(()))
    })
}

/// For callers on the version path (registration creating its runtime, a
/// start reading the runtime's defaults).
impl From<RuntimesError> for crate::versions::VersionError {
    fn from(error: RuntimesError) -> Self {
        use crate::versions::VersionError;
        match error {
            RuntimesError::Store(store) => VersionError::Store(store),
            RuntimesError::Unknown(name) => VersionError::UnknownRuntime(name),
            RuntimesError::Invalid(problems) => VersionError::Invalid(problems),
            other => VersionError::Store(crate::Error::Corrupt(other.to_string())),
        }
    }
}
