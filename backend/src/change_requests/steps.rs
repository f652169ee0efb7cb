//! A change request's steps, each a transaction with its audit entry:
//! deciding (the quorum makes it approved), withdrawing, expiring by the
//! clock, and carrying out an approved one through the one action path.

use chrono::{DateTime, Utc};
use lifecycle::{AuditAction, Outcome, Reason, RequestState, Role, policy::NotEligible};
use sqlx::Row;

use super::record::{
    ChangeRequest, DECISIONS, Decision, RequestError, Result, SELECT, SET_STATE, corrupt, entry,
    get, list, request_from_row,
};
use crate::{
    audit::{Actor, AuditConn},
    db::{Database, TxEnd},
    releases::timestamp,
    versions::{self, ActionNote, Applied, ApprovalNote, Claim, RollbackNote, VersionError},
};

/// Closes an open request that is past its time, in its transaction.
macro_rules! expire_if_due {
    ($conn:expr, $request:expr, $now:expr) => {{
        let due = $request.state == RequestState::Open && $request.expires_at <= timestamp($now);
        if due {
            sqlx::query(SET_STATE)
                .bind(RequestState::Expired.as_str())
                .bind(timestamp($now))
                .bind("No quorum before it expired.")
                .bind($request.id)
                .execute(&mut *$conn)
                .await?;
            $request.state = RequestState::Expired;
            let written = entry(
                Actor::System,
                AuditAction::ChangeExpire,
                Outcome::Completed,
                &$request,
            );
            AuditConn::append_entry(&mut *$conn, &written).await?;
        }
        due
    }};
}

/// Approves or rejects request `id` as `actor`. The requester, a role the
/// policy does not name, and a second decision by one person are refused
/// (audited as denied). Reaching the quorum makes it `approved`: the
/// caller then carries it out (`carry_out`).
pub async fn decide(
    db: &Database,
    actor: &Actor,
    id: i64,
    approve: bool,
    reason: &Reason,
    now: DateTime<Utc>,
) -> Result<ChangeRequest> {
    let action = if approve {
        AuditAction::ChangeApprove
    } else {
        AuditAction::ChangeReject
    };
    let (user_id, email, role) = match actor {
        Actor::User { id, email, role } => (*id, email.clone(), role.clone()),
        Actor::System => (None, "system".into(), String::new()),
    };
    let insert = "INSERT INTO change_decisions (request_id, decided_by_id, decided_by, \
         decided_role, approve, reason, decided_at) VALUES ($1, $2, $3, $4, $5, $6, $7)";
    write_tx!(RequestError, db, |conn| {
        let Some(mut request) = fetch_request!(conn, id) else {
            return Ok(TxEnd::Refuse(RequestError::Unknown(id)));
        };
        if expire_if_due!(conn, request, now) || request.state != RequestState::Open {
            return Ok(TxEnd::Refuse(RequestError::Closed {
                id,
                state: request.state,
            }));
        }
        let decided: Vec<&str> = request.decisions.iter().map(|d| d.by.as_str()).collect();
        let eligible = match role.parse::<Role>() {
            Ok(role) => request
                .policy()
                .may_decide(&email, role, &request.requested_by, &decided),
            Err(_) => Err(NotEligible::Role(Role::Viewer)),
        };
        if let Err(why) = eligible {
            let mut denied =
                entry(actor.clone(), action, Outcome::Denied, &request).reason(reason.as_str());
            denied.details["refused"] = serde_json::json!(why.to_string());
            AuditConn::append_entry(&mut *conn, &denied).await?;
            return Ok(TxEnd::Refuse(RequestError::NotEligible(why)));
        }
        sqlx::query(insert)
            .bind(id)
            .bind(user_id)
            .bind(&email)
            .bind(&role)
            .bind(approve)
            .bind(reason.as_str())
            .bind(timestamp(now))
            .execute(&mut *conn)
            .await?;
        request.decisions.push(Decision {
            by: email.clone(),
            role: role.clone(),
            approve,
            reason: reason.as_str().to_owned(),
            at: timestamp(now),
        });
        let next = if !approve {
            Some(RequestState::Rejected)
        } else if request.approvals() >= usize::from(request.approvals_needed) {
            Some(RequestState::Approved)
        } else {
            None
        };
        if let Some(state) = next {
            let closed = state.is_closed().then(|| timestamp(now));
            sqlx::query(SET_STATE)
                .bind(state.as_str())
                .bind(&closed)
                .bind(Option::<String>::None)
                .bind(id)
                .execute(&mut *conn)
                .await?;
            request.state = state;
            request.closed_at = closed;
        }
        let written =
            entry(actor.clone(), action, Outcome::Accepted, &request).reason(reason.as_str());
        AuditConn::append_entry(&mut *conn, &written).await?;
        Ok(TxEnd::Commit(request))
    })
}

/// The requester takes an open request back.
pub async fn withdraw(
    db: &Database,
    actor: &Actor,
    id: i64,
    reason: &Reason,
    now: DateTime<Utc>,
) -> Result<ChangeRequest> {
    write_tx!(RequestError, db, |conn| {
        let Some(mut request) = fetch_request!(conn, id) else {
            return Ok(TxEnd::Refuse(RequestError::Unknown(id)));
        };
        if expire_if_due!(conn, request, now) || request.state != RequestState::Open {
            return Ok(TxEnd::Refuse(RequestError::Closed {
                id,
                state: request.state,
            }));
        }
        if !actor.name().eq_ignore_ascii_case(&request.requested_by) {
            let denied = entry(
                actor.clone(),
                AuditAction::ChangeWithdraw,
                Outcome::Denied,
                &request,
            )
            .reason(reason.as_str());
            AuditConn::append_entry(&mut *conn, &denied).await?;
            return Ok(TxEnd::Refuse(RequestError::NotRequester));
        }
        sqlx::query(SET_STATE)
            .bind(RequestState::Withdrawn.as_str())
            .bind(timestamp(now))
            .bind(Option::<String>::None)
            .bind(id)
            .execute(&mut *conn)
            .await?;
        request.state = RequestState::Withdrawn;
        let written = entry(
            actor.clone(),
            AuditAction::ChangeWithdraw,
            Outcome::Accepted,
            &request,
        )
        .reason(reason.as_str());
        AuditConn::append_entry(&mut *conn, &written).await?;
        Ok(TxEnd::Commit(request))
    })
}

/// Closes every open request past its time at `now`, each with a system
/// entry. Answers the ids closed.
pub async fn expire_due(db: &Database, now: DateTime<Utc>) -> Result<Vec<i64>> {
    let mut closed = Vec::new();
    for request in list(db, &[RequestState::Open], None).await? {
        if request.expires_at > timestamp(now) {
            continue;
        }
        let id = request.id;
        let expired = write_tx!(RequestError, db, |conn| {
            let Some(mut request) = fetch_request!(conn, id) else {
                return Ok(TxEnd::Commit(false));
            };
            Ok(TxEnd::Commit(expire_if_due!(conn, request, now)))
        })?;
        if expired {
            closed.push(id);
        }
    }
    Ok(closed)
}

/// Carries out an approved request through the one action path, as
/// `requester` (the requester as they are now), the approvers named in the
/// entry, overriding `overridden` when the request was made break-glass;
/// then records what became of it (`done`, or `failed` with the conflict).
/// The action's own transaction marks it done, so a second replica trying
/// the same request changes nothing. Answers the request and what the
/// action did, when it was applied.
pub async fn carry_out(
    db: &Database,
    request: ChangeRequest,
    requester: &Actor,
    overridden: Option<&lifecycle::Closed>,
    now: DateTime<Utc>,
) -> Result<(ChangeRequest, Option<Applied>)> {
    if request.state != RequestState::Approved {
        return Ok((request, None));
    }
    let reason = Reason::parse(&request.reason).map_err(|_| corrupt("reason"))?;
    let approvers = request.approvers();
    let note = ActionNote {
        rollback: request.rollback_from.as_deref().map(|from| RollbackNote {
            from,
            then_publish: false,
        }),
        approval: Some(ApprovalNote {
            request: request.id,
            approved_by: &approvers,
        }),
        break_glass: overridden,
        claim: Some(Claim::Request(request.id)),
    };
    let applied = versions::apply_action_noted(
        db,
        requester,
        &request.runtime,
        &request.version,
        request.action,
        request.expected,
        &reason,
        note,
    )
    .await;
    match applied {
        Ok(applied) => {
            let mut request = request;
            request.state = RequestState::Done;
            request.closed_at = Some(timestamp(now));
            Ok((request, Some(applied)))
        }
        Err(VersionError::AlreadyCarriedOut) => Ok((get(db, request.id).await?, None)),
        Err(VersionError::Store(error)) => Err(VersionError::Store(error).into()),
        Err(refused) => fail(db, request, refused.to_string(), now)
            .await
            .map(|r| (r, None)),
    }
}

/// Closes an approved request as `failed`, with why it could not be
/// carried out; unless another replica closed it first.
pub async fn fail(
    db: &Database,
    request: ChangeRequest,
    why: String,
    now: DateTime<Utc>,
) -> Result<ChangeRequest> {
    let sql = "UPDATE change_requests SET state = 'failed', closed_at = $1, outcome = $2 \
               WHERE id = $3 AND state = 'approved'";
    on_pool!(db, |pool| sqlx::query(sql)
        .bind(timestamp(now))
        .bind(&why)
        .bind(request.id)
        .execute(pool)
        .await
        .map(drop)?);
    get(db, request.id).await
}
