//! Scheduled actions: an operator asks now, with the reason, for an action
//! at a future instant; the leader carries it out when the instant comes
//! (`Services::run_due_schedules`, every few seconds), through the one
//! action path, as that operator, subject to the windows and the policy at
//! that moment. The action's own transaction moves the schedule from
//! `pending` to `done` (`versions::Claim`), so it runs once however many
//! replicas, or leaders one after another, try. Times come from the caller.

use chrono::{DateTime, Duration, Utc};
use lifecycle::{Action, AuditAction, Closed, Outcome, Reason, ScheduleState};
use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::{
    Services,
    actions::holding,
    audit::{Actor, AuditConn, NewEntry},
    change_windows::Passage,
    db::{Database, TxEnd},
    releases::timestamp,
    runtime::VersionKey,
    versions::{self, ActionNote, Claim, VersionError},
};

/// How far ahead an action can be scheduled.
pub const MAX_AHEAD_DAYS: i64 = 366;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduledAction {
    pub id: i64,
    pub runtime: String,
    pub version: String,
    pub action: Action,
    pub reason: String,
    pub run_at: String,
    pub scheduled_by_id: Option<i64>,
    pub scheduled_by: String,
    pub scheduled_at: String,
    pub state: ScheduleState,
    pub closed_at: Option<String>,
    /// Who cancelled it, or `system` for a run.
    pub closed_by: Option<String>,
    /// Why it failed, or the cancellation's reason.
    pub outcome: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    #[error("There is no scheduled action {0}.")]
    Unknown(i64),
    #[error("Scheduled action {id} is {state}: it can no longer be cancelled.")]
    Closed { id: i64, state: ScheduleState },
    #[error("The instant must be in the future.")]
    InPast,
    #[error("An action can be scheduled at most {MAX_AHEAD_DAYS} days ahead.")]
    TooFar,
    #[error(
        "This runtime's policy needs approval to {}: request it when it should happen instead of scheduling it.",
        .0.as_str()
    )]
    NeedsApproval(Action),
    #[error("At that instant: {0}")]
    WindowClosedAt(Closed),
    #[error(transparent)]
    Version(#[from] VersionError),
}

impl From<sqlx::Error> for ScheduleError {
    fn from(e: sqlx::Error) -> Self {
        Self::Version(e.into())
    }
}

impl From<crate::Error> for ScheduleError {
    fn from(e: crate::Error) -> Self {
        Self::Version(VersionError::Store(e))
    }
}

type Result<T, E = ScheduleError> = std::result::Result<T, E>;

const SELECT: &str = "SELECT id, runtime, version, action, reason, run_at, scheduled_by_id, \
     scheduled_by, scheduled_role, scheduled_at, state, closed_at, closed_by, outcome \
     FROM scheduled_actions";

fn corrupt(what: &str) -> ScheduleError {
    crate::Error::Corrupt(format!("scheduled_actions.{what} is unreadable")).into()
}

/// A row, with the role it was scheduled with (for the actor, not shown).
fn from_row<R>(row: &R) -> Result<(ScheduledAction, String)>
where
    R: Row,
    for<'c> &'c str: sqlx::ColumnIndex<R>,
    String: sqlx::Type<R::Database> + for<'r> sqlx::Decode<'r, R::Database>,
    i64: sqlx::Type<R::Database> + for<'r> sqlx::Decode<'r, R::Database>,
{
    let text = |column: &str| -> Result<String> { Ok(row.try_get::<String, _>(column)?) };
    Ok((
        ScheduledAction {
            id: row.try_get("id")?,
            runtime: text("runtime")?,
            version: text("version")?,
            action: text("action")?.parse().map_err(|_| corrupt("action"))?,
            reason: text("reason")?,
            run_at: text("run_at")?,
            scheduled_by_id: row.try_get("scheduled_by_id")?,
            scheduled_by: text("scheduled_by")?,
            scheduled_at: text("scheduled_at")?,
            state: text("state")?.parse().map_err(|_| corrupt("state"))?,
            closed_at: row.try_get("closed_at")?,
            closed_by: row.try_get("closed_by")?,
            outcome: row.try_get("outcome")?,
        },
        text("scheduled_role")?,
    ))
}

async fn select(db: &Database, filter: &str, binds: &[&str]) -> Result<Vec<ScheduledAction>> {
    let sql = format!("{SELECT} {filter}");
    let rows = on_pool!(db, |pool| {
        let mut query = sqlx::query(&sql);
        for bind in binds {
            query = query.bind(*bind);
        }
        query
            .fetch_all(pool)
            .await?
            .iter()
            .map(from_row)
            .collect::<Result<Vec<_>>>()?
    });
    Ok(rows.into_iter().map(|(scheduled, _)| scheduled).collect())
}

pub async fn get(db: &Database, id: i64) -> Result<ScheduledAction> {
    let sql = format!("{SELECT} WHERE id = $1");
    let found = on_pool!(db, |pool| {
        match sqlx::query(&sql).bind(id).fetch_optional(pool).await? {
            Some(row) => Some(from_row(&row)?.0),
            None => None,
        }
    });
    found.ok_or(ScheduleError::Unknown(id))
}

/// A version's scheduled actions, the next first, then the closed ones
/// newest first (at most 20 of those).
pub async fn of_version(
    db: &Database,
    runtime: &str,
    version: &str,
) -> Result<Vec<ScheduledAction>> {
    let mut pending = select(
        db,
        "WHERE runtime = $1 AND version = $2 AND state = 'pending' ORDER BY run_at, id",
        &[runtime, version],
    )
    .await?;
    pending.extend(
        select(
            db,
            "WHERE runtime = $1 AND version = $2 AND state <> 'pending' ORDER BY id DESC LIMIT 20",
            &[runtime, version],
        )
        .await?,
    );
    Ok(pending)
}

/// Pending actions whose instant has come at `now`, the earliest first.
pub async fn due(db: &Database, now: DateTime<Utc>) -> Result<Vec<(ScheduledAction, Actor)>> {
    let sql = format!("{SELECT} WHERE state = 'pending' AND run_at <= $1 ORDER BY run_at, id");
    let rows = on_pool!(db, |pool| {
        sqlx::query(&sql)
            .bind(timestamp(now))
            .fetch_all(pool)
            .await?
            .iter()
            .map(from_row)
            .collect::<Result<Vec<_>>>()?
    });
    Ok(rows
        .into_iter()
        .map(|(scheduled, role)| {
            let actor = Actor::User {
                id: scheduled.scheduled_by_id,
                email: scheduled.scheduled_by.clone(),
                role,
            };
            (scheduled, actor)
        })
        .collect())
}

fn entry(actor: Actor, action: AuditAction, scheduled: &ScheduledAction) -> NewEntry {
    NewEntry::new(actor, action, Outcome::Accepted)
        .target(&scheduled.runtime, Some(scheduled.version.clone()))
        .details(serde_json::json!({
            "scheduled": scheduled.id,
            "action": scheduled.action,
            "run_at": scheduled.run_at,
        }))
}

/// Records `action` on a version for `run_at`, asked by `actor` at `now`.
#[allow(clippy::too_many_arguments)]
pub async fn create(
    db: &Database,
    actor: &Actor,
    runtime: &str,
    version: &str,
    action: Action,
    reason: &Reason,
    run_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<ScheduledAction> {
    if run_at <= now {
        return Err(ScheduleError::InPast);
    }
    if run_at > now + Duration::days(MAX_AHEAD_DAYS) {
        return Err(ScheduleError::TooFar);
    }
    let Actor::User {
        id: user_id,
        email,
        role,
    } = actor
    else {
        return Err(crate::Error::Corrupt("the system does not schedule".into()).into());
    };
    let insert = "INSERT INTO scheduled_actions (runtime, version, action, reason, run_at, \
         scheduled_by_id, scheduled_by, scheduled_role, scheduled_at, state) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending') RETURNING id";
    let id = write_tx!(ScheduleError, db, |conn| {
        let exists: Option<i32> =
            sqlx::query_scalar("SELECT 1 FROM versions WHERE runtime = $1 AND name = $2")
                .bind(runtime)
                .bind(version)
                .fetch_optional(&mut *conn)
                .await?;
        if exists.is_none() {
            return Ok(TxEnd::Refuse(ScheduleError::Version(
                VersionError::UnknownVersion {
                    runtime: runtime.to_owned(),
                    version: version.to_owned(),
                },
            )));
        }
        let id: i64 = sqlx::query_scalar(insert)
            .bind(runtime)
            .bind(version)
            .bind(action.as_str())
            .bind(reason.as_str())
            .bind(timestamp(run_at))
            .bind(*user_id)
            .bind(email)
            .bind(role)
            .bind(timestamp(now))
            .fetch_one(&mut *conn)
            .await?;
        let scheduled = ScheduledAction {
            id,
            runtime: runtime.to_owned(),
            version: version.to_owned(),
            action,
            reason: reason.as_str().to_owned(),
            run_at: timestamp(run_at),
            scheduled_by_id: *user_id,
            scheduled_by: email.clone(),
            scheduled_at: timestamp(now),
            state: ScheduleState::Pending,
            closed_at: None,
            closed_by: None,
            outcome: None,
        };
        AuditConn::append_entry(
            &mut *conn,
            &entry(actor.clone(), AuditAction::Schedule, &scheduled).reason(reason.as_str()),
        )
        .await?;
        Ok(TxEnd::Commit(id))
    })?;
    get(db, id).await
}

/// Cancels a pending action, with the reason, audited.
pub async fn cancel(
    db: &Database,
    actor: &Actor,
    id: i64,
    reason: &Reason,
    now: DateTime<Utc>,
) -> Result<ScheduledAction> {
    let set = "UPDATE scheduled_actions SET state = 'cancelled', closed_at = $1, closed_by = $2, \
               outcome = $3 WHERE id = $4 AND state = 'pending'";
    let scheduled = get(db, id).await?;
    let cancelled = write_tx!(ScheduleError, db, |conn| {
        let changed = sqlx::query(set)
            .bind(timestamp(now))
            .bind(actor.name())
            .bind(reason.as_str())
            .bind(id)
            .execute(&mut *conn)
            .await?
            .rows_affected();
        if changed != 1 {
            return Ok(TxEnd::Commit(false));
        }
        AuditConn::append_entry(
            &mut *conn,
            &entry(actor.clone(), AuditAction::ScheduleCancel, &scheduled).reason(reason.as_str()),
        )
        .await?;
        Ok(TxEnd::Commit(true))
    })?;
    let now_is = get(db, id).await?;
    if !cancelled {
        return Err(ScheduleError::Closed {
            id,
            state: now_is.state,
        });
    }
    Ok(now_is)
}

/// Closes a pending action as failed, with why; unless it closed already.
pub async fn fail(db: &Database, id: i64, why: &str, now: DateTime<Utc>) -> Result<()> {
    let set = "UPDATE scheduled_actions SET state = 'failed', closed_at = $1, closed_by = 'system', \
               outcome = $2 WHERE id = $3 AND state = 'pending'";
    on_pool!(db, |pool| sqlx::query(set)
        .bind(timestamp(now))
        .bind(why)
        .bind(id)
        .execute(pool)
        .await
        .map(drop)?);
    Ok(())
}

impl Services {
    /// Schedules `action` on a version for `run_at`. Refused now, rather
    /// than failing later, when the runtime's policy holds the action for
    /// approval or a change window is closed at that instant.
    pub async fn schedule(
        &self,
        actor: &Actor,
        runtime: &str,
        version: &str,
        action: Action,
        reason: &Reason,
        run_at: DateTime<Utc>,
    ) -> Result<ScheduledAction> {
        let settings = crate::runtimes::get(&self.db, runtime)
            .await
            .map_err(VersionError::from)?
            .settings;
        if holding(actor, &settings, action).is_some() {
            return Err(ScheduleError::NeedsApproval(action));
        }
        if let Some(closed) = settings
            .change_windows
            .as_ref()
            .and_then(|w| w.closed(action, run_at))
        {
            return Err(ScheduleError::WindowClosedAt(closed));
        }
        create(
            &self.db,
            actor,
            runtime,
            version,
            action,
            reason,
            run_at,
            Utc::now(),
        )
        .await
    }

    pub async fn cancel_schedule(
        &self,
        actor: &Actor,
        id: i64,
        reason: &Reason,
    ) -> Result<ScheduledAction> {
        cancel(&self.db, actor, id, reason, Utc::now()).await
    }

    /// The leader's part: carries out every action due at `now`, each once,
    /// as the person who scheduled it (as they are now). One that cannot be
    /// carried out (the person may no longer act, a window is closed, the
    /// policy now needs approval, the lifecycle refuses) fails, saying why.
    /// Answers how many were carried out.
    pub async fn run_due_schedules(&self, now: DateTime<Utc>) -> Result<usize> {
        if self.runtime.is_none() {
            return Ok(0);
        }
        let mut carried_out = 0;
        for (scheduled, _) in due(&self.db, now).await? {
            match self.run_schedule(&scheduled, now).await {
                Ok(true) => carried_out += 1,
                Ok(false) => {}
                Err(VersionError::Store(error)) => return Err(error.into()),
                Err(refused) => {
                    tracing::info!(id = scheduled.id, %refused, "scheduled action failed");
                    fail(&self.db, scheduled.id, &refused.to_string(), now).await?;
                }
            }
        }
        Ok(carried_out)
    }

    /// The leader's part for runtimes with a time to live: each version
    /// started but unpublished for longer is stopped, as the system, with
    /// the rule as the reason. Answers the versions stopped.
    pub async fn stop_idle_versions(&self, now: DateTime<Utc>) -> Result<Vec<String>> {
        let mut stopped = Vec::new();
        if self.runtime.is_none() {
            return Ok(stopped);
        }
        for runtime in crate::runtimes::list(&self.db)
            .await
            .map_err(VersionError::from)?
        {
            let Some(hours) = runtime.settings.stop_unpublished_after_hours else {
                continue;
            };
            let cutoff = timestamp(now - Duration::hours(i64::from(hours)));
            for version in versions::list(&self.db, &runtime.name).await? {
                if version.status != lifecycle::Status::Started
                    || version.status_changed_at > cutoff
                {
                    continue;
                }
                let reason = Reason::parse(&format!(
                    "started and unpublished for more than {hours} h (the runtime's time to live)"
                ))
                .map_err(|_| crate::Error::Corrupt("the time-to-live reason".into()))?;
                match self
                    .act_noted(
                        &Actor::System,
                        &runtime.name,
                        &version.name,
                        Action::Stop,
                        lifecycle::Status::Started,
                        &reason,
                        ActionNote::default(),
                    )
                    .await
                {
                    Ok(_) => stopped.push(version.name),
                    // Someone acted on it meanwhile: theirs stands.
                    Err(VersionError::Conflict { .. }) => {}
                    Err(other) => return Err(other.into()),
                }
            }
        }
        Ok(stopped)
    }

    /// One due action: `Ok(false)` when another replica carried it out.
    async fn run_schedule(
        &self,
        scheduled: &ScheduledAction,
        now: DateTime<Utc>,
    ) -> Result<bool, VersionError> {
        let actor =
            crate::users::acting_as(&self.db, scheduled.scheduled_by_id, &scheduled.scheduled_by)
                .await?
                .map_err(VersionError::NoLongerAllowed)?;
        let reason = Reason::parse(&scheduled.reason)
            .map_err(|_| crate::Error::Corrupt("a schedule's reason is unreadable".into()))?;
        let settings = crate::runtimes::get(&self.db, &scheduled.runtime)
            .await?
            .settings;
        let passage = Passage {
            runtime: &scheduled.runtime,
            version: &scheduled.version,
            action: scheduled.action,
            reason: &reason,
            break_glass: false,
        };
        self.pass_windows(&actor, &settings, passage, now).await?;
        if holding(&actor, &settings, scheduled.action).is_some() {
            return Err(VersionError::ScheduleNeedsApproval(scheduled.action));
        }
        let current = versions::get(&self.db, &scheduled.runtime, &scheduled.version).await?;
        let applied = self
            .act_noted(
                &actor,
                &scheduled.runtime,
                &scheduled.version,
                scheduled.action,
                current.status,
                &reason,
                ActionNote {
                    claim: Some(Claim::Schedule(scheduled.id)),
                    ..ActionNote::default()
                },
            )
            .await;
        match applied {
            Ok(_) => {
                tracing::info!(
                    version = %VersionKey::new(&scheduled.runtime, &scheduled.version),
                    action = %scheduled.action,
                    "scheduled action carried out"
                );
                Ok(true)
            }
            Err(VersionError::AlreadyCarriedOut) => Ok(false),
            Err(other) => Err(other),
        }
    }
}
