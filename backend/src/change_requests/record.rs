//! What a change request is, how a row reads as one, and the queries that
//! find them; its steps are `steps.rs`.

use chrono::{DateTime, Duration, Utc};
use lifecycle::{
    Action, AuditAction, ChangePolicy, Outcome, Reason, RequestState, Role, Status,
    policy::NotEligible,
};
use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::{
    audit::{Actor, AuditConn, NewEntry},
    db::{Database, TxEnd},
    releases::timestamp,
    versions::VersionError,
};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub by: String,
    pub role: String,
    pub approve: bool,
    pub reason: String,
    pub at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeRequest {
    pub id: i64,
    pub runtime: String,
    pub version: String,
    pub action: Action,
    /// The status the requester saw: the action is carried out only from it.
    pub expected: Status,
    /// Set when the request is a rollback (a publish) from that version.
    pub rollback_from: Option<String>,
    pub reason: String,
    pub requested_by_id: Option<i64>,
    pub requested_by: String,
    pub requested_role: String,
    pub requested_at: String,
    pub expires_at: String,
    pub approvals_needed: u8,
    /// Who may approve, as the policy said when the request was made.
    pub approver_roles: Vec<Role>,
    /// Made overriding a closed change window: carried out overriding it.
    pub break_glass: bool,
    pub state: RequestState,
    pub closed_at: Option<String>,
    /// What became of it: the conflict of a failed one, say.
    pub outcome: Option<String>,
    pub decisions: Vec<Decision>,
}

impl ChangeRequest {
    pub fn approvals(&self) -> usize {
        self.decisions.iter().filter(|d| d.approve).count()
    }

    pub fn approvers(&self) -> Vec<String> {
        self.decisions
            .iter()
            .filter(|d| d.approve)
            .map(|d| d.by.clone())
            .collect()
    }

    pub fn requester(&self) -> Actor {
        Actor::User {
            id: self.requested_by_id,
            email: self.requested_by.clone(),
            role: self.requested_role.clone(),
        }
    }

    pub(super) fn policy(&self) -> ChangePolicy {
        ChangePolicy {
            approvals: self.approvals_needed,
            approver_roles: self.approver_roles.iter().copied().collect(),
            ..ChangePolicy::default()
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error("There is no change request {0}.")]
    Unknown(i64),
    #[error("Change request {id} is {state}: nothing more can be decided.")]
    Closed { id: i64, state: RequestState },
    #[error("{0}")]
    NotEligible(NotEligible),
    #[error("Only the person who asked for a change can withdraw it.")]
    NotRequester,
    #[error(transparent)]
    Version(#[from] VersionError),
}

impl From<sqlx::Error> for RequestError {
    fn from(e: sqlx::Error) -> Self {
        Self::Version(e.into())
    }
}

impl From<crate::Error> for RequestError {
    fn from(e: crate::Error) -> Self {
        Self::Version(VersionError::Store(e))
    }
}

pub(super) type Result<T, E = RequestError> = std::result::Result<T, E>;

pub(super) const SELECT: &str = "SELECT id, runtime, version, action, expected, rollback_from, reason, \
     requested_by_id, requested_by, requested_role, requested_at, expires_at, approvals_needed, \
     approver_roles, break_glass, state, closed_at, outcome FROM change_requests";
pub(super) const DECISIONS: &str = "SELECT decided_by, decided_role, approve, reason, decided_at \
     FROM change_decisions WHERE request_id = $1 ORDER BY decided_at";
pub(super) const SET_STATE: &str =
    "UPDATE change_requests SET state = $1, closed_at = $2, outcome = $3 WHERE id = $4";

pub(super) fn corrupt(what: &str) -> RequestError {
    crate::Error::Corrupt(format!("change_requests.{what} is unreadable")).into()
}

pub(super) fn request_from_row<R>(row: &R) -> Result<ChangeRequest>
where
    R: Row,
    for<'c> &'c str: sqlx::ColumnIndex<R>,
    String: sqlx::Type<R::Database> + for<'r> sqlx::Decode<'r, R::Database>,
    i64: sqlx::Type<R::Database> + for<'r> sqlx::Decode<'r, R::Database>,
    i32: sqlx::Type<R::Database> + for<'r> sqlx::Decode<'r, R::Database>,
    bool: sqlx::Type<R::Database> + for<'r> sqlx::Decode<'r, R::Database>,
{
    let text = |column: &str| -> Result<String> { Ok(row.try_get::<String, _>(column)?) };
    let roles = text("approver_roles")?;
    Ok(ChangeRequest {
        id: row.try_get("id")?,
        runtime: text("runtime")?,
        version: text("version")?,
        action: text("action")?.parse().map_err(|_| corrupt("action"))?,
        expected: text("expected")?.parse().map_err(|_| corrupt("expected"))?,
        rollback_from: row.try_get("rollback_from")?,
        reason: text("reason")?,
        requested_by_id: row.try_get("requested_by_id")?,
        requested_by: text("requested_by")?,
        requested_role: text("requested_role")?,
        requested_at: text("requested_at")?,
        expires_at: text("expires_at")?,
        approvals_needed: u8::try_from(row.try_get::<i32, _>("approvals_needed")?)
            .map_err(|_| corrupt("approvals_needed"))?,
        approver_roles: roles
            .split(',')
            .filter(|r| !r.is_empty())
            .map(|r| r.parse().map_err(|_| corrupt("approver_roles")))
            .collect::<Result<_>>()?,
        break_glass: row.try_get("break_glass")?,
        state: text("state")?.parse().map_err(|_| corrupt("state"))?,
        closed_at: row.try_get("closed_at")?,
        outcome: row.try_get("outcome")?,
        decisions: Vec::new(),
    })
}

/// Reads one request with its decisions on `$conn`.
macro_rules! fetch_request {
    ($conn:expr, $id:expr) => {{
        let sql = format!("{SELECT} WHERE id = $1");
        match sqlx::query(&sql)
            .bind($id)
            .fetch_optional(&mut *$conn)
            .await?
        {
            None => None,
            Some(row) => {
                let mut request = request_from_row(&row)?;
                for row in sqlx::query(DECISIONS)
                    .bind($id)
                    .fetch_all(&mut *$conn)
                    .await?
                {
                    request.decisions.push(Decision {
                        by: row.try_get("decided_by")?,
                        role: row.try_get("decided_role")?,
                        approve: row.try_get("approve")?,
                        reason: row.try_get("reason")?,
                        at: row.try_get("decided_at")?,
                    });
                }
                Some(request)
            }
        }
    }};
}

pub(super) fn entry(
    actor: Actor,
    action: AuditAction,
    outcome: Outcome,
    request: &ChangeRequest,
) -> NewEntry {
    NewEntry::new(actor, action, outcome)
        .target(&request.runtime, Some(request.version.clone()))
        .details(serde_json::json!({
            "change_request": request.id,
            "action": request.action,
            "approvals": request.approvals(),
            "approvals_needed": request.approvals_needed,
        }))
}

/// What a request asks for.
pub struct Asked<'a> {
    pub runtime: &'a str,
    pub version: &'a str,
    pub action: Action,
    pub expected: Status,
    pub reason: &'a Reason,
    pub rollback_from: Option<&'a str>,
    /// Overrides a closed change window (see `change_windows`).
    pub break_glass: bool,
}

impl Asked<'_> {
    pub(crate) fn passage(&self) -> crate::change_windows::Passage<'_> {
        crate::change_windows::Passage {
            runtime: self.runtime,
            version: self.version,
            action: self.action,
            reason: self.reason,
            break_glass: self.break_glass,
        }
    }
}

/// Opens a request for `asked` under `policy`, made by `actor` at `now`.
pub async fn open(
    db: &Database,
    actor: &Actor,
    asked: Asked<'_>,
    policy: &ChangePolicy,
    now: DateTime<Utc>,
) -> Result<ChangeRequest> {
    let Actor::User { id, email, role } = actor else {
        return Err(crate::Error::Corrupt("the system does not ask for approval".into()).into());
    };
    let insert = "INSERT INTO change_requests (runtime, version, action, expected, rollback_from, \
         reason, requested_by_id, requested_by, requested_role, requested_at, expires_at, \
         approvals_needed, approver_roles, break_glass, state) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 'open') RETURNING id";
    let roles = policy
        .approver_roles
        .iter()
        .map(|r| r.as_str())
        .collect::<Vec<_>>()
        .join(",");
    let expires = now + Duration::hours(i64::from(policy.open_hours));
    write_tx!(RequestError, db, |conn| {
        // The version must exist: a request for nothing is refused now.
        let exists: Option<i32> =
            sqlx::query_scalar("SELECT 1 FROM versions WHERE runtime = $1 AND name = $2")
                .bind(asked.runtime)
                .bind(asked.version)
                .fetch_optional(&mut *conn)
                .await?;
        if exists.is_none() {
            return Ok(TxEnd::Refuse(RequestError::Version(
                VersionError::UnknownVersion {
                    runtime: asked.runtime.to_owned(),
                    version: asked.version.to_owned(),
                },
            )));
        }
        let id: i64 = sqlx::query_scalar(insert)
            .bind(asked.runtime)
            .bind(asked.version)
            .bind(asked.action.as_str())
            .bind(asked.expected.as_str())
            .bind(asked.rollback_from)
            .bind(asked.reason.as_str())
            .bind(*id)
            .bind(email)
            .bind(role)
            .bind(timestamp(now))
            .bind(timestamp(expires))
            .bind(i32::from(policy.approvals))
            .bind(&roles)
            .bind(asked.break_glass)
            .fetch_one(&mut *conn)
            .await?;
        let Some(request) = fetch_request!(conn, id) else {
            return Err(crate::Error::Corrupt("a request vanished".into()).into());
        };
        let mut written = entry(
            actor.clone(),
            AuditAction::ChangeRequest,
            Outcome::Accepted,
            &request,
        )
        .reason(asked.reason.as_str())
        .statuses(Some(asked.expected), None);
        written.details["expires_at"] = serde_json::json!(request.expires_at);
        if let Some(from) = asked.rollback_from {
            written.details["rollback"] = serde_json::json!({ "from": from });
        }
        if asked.break_glass {
            written.details["break_glass"] = serde_json::json!(true);
        }
        AuditConn::append_entry(&mut *conn, &written).await?;
        Ok(TxEnd::Commit(request))
    })
}

pub async fn get(db: &Database, id: i64) -> Result<ChangeRequest> {
    let found = on_pool!(db, |pool| {
        let mut conn = pool.acquire().await?;
        fetch_request!(conn, id)
    });
    found.ok_or(RequestError::Unknown(id))
}

/// Requests in `states`, oldest first (optionally of one version).
pub async fn list(
    db: &Database,
    states: &[RequestState],
    version: Option<(&str, &str)>,
) -> Result<Vec<ChangeRequest>> {
    let wanted = states
        .iter()
        .map(|s| format!("'{}'", s.as_str()))
        .collect::<Vec<_>>()
        .join(", ");
    let mut sql = format!("{SELECT} WHERE state IN ({wanted})");
    if version.is_some() {
        sql.push_str(" AND runtime = $1 AND version = $2");
    }
    sql.push_str(" ORDER BY id");
    let ids: Vec<i64> = on_pool!(db, |pool| {
        let mut query = sqlx::query(&sql);
        if let Some((runtime, version)) = version {
            query = query.bind(runtime).bind(version);
        }
        query
            .fetch_all(pool)
            .await?
            .iter()
            .map(|row| row.try_get::<i64, _>("id"))
            .collect::<std::result::Result<Vec<_>, _>>()?
    });
    let mut requests = Vec::with_capacity(ids.len());
    for id in ids {
        requests.push(get(db, id).await?);
    }
    Ok(requests)
}

/// Every request of a runtime, newest first, with its decisions: the
/// policy's trail (who asked, who decided what, when it ran or why not).
pub async fn of_runtime(db: &Database, runtime: &str) -> Result<Vec<ChangeRequest>> {
    let ids: Vec<i64> = on_pool!(db, |pool| {
        sqlx::query_scalar("SELECT id FROM change_requests WHERE runtime = $1 ORDER BY id DESC")
            .bind(runtime)
            .fetch_all(pool)
            .await?
    });
    let mut requests = Vec::with_capacity(ids.len());
    for id in ids {
        requests.push(get(db, id).await?);
    }
    Ok(requests)
}
