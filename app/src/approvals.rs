//! Change requests for people: what waits for approval, and deciding on it
//! (`Approve`, `Reject`) or taking one's own back (`Withdraw`), each with a
//! reason. The rules (four eyes, quorum, expiry) are the backend's.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::ConsoleError;

pub const APPROVALS_PATH: &str = "/approvals";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionView {
    pub by: String,
    pub approve: bool,
    pub reason: String,
    pub at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestView {
    pub id: i64,
    pub runtime: String,
    pub version: String,
    pub action: String,
    /// `open`, `approved`, `rejected`, `withdrawn`, `expired`, `failed`, `done`.
    pub state: String,
    pub reason: String,
    pub requested_by: String,
    pub requested_at: String,
    pub expires_at: String,
    pub approvals: usize,
    pub approvals_needed: u8,
    pub rollback_from: Option<String>,
    pub decisions: Vec<DecisionView>,
    pub outcome: Option<String>,
    /// Whether the signed-in user may approve or reject it now.
    pub may_decide: bool,
    /// Whether the signed-in user asked for it and it is still open.
    pub may_withdraw: bool,
}

/// Every open request, each saying whether the caller may decide on it.
#[server(endpoint = "approvals/list")]
pub async fn list_requests() -> Result<Vec<RequestView>, ConsoleError> {
    use lifecycle::{Permission, RequestState};

    let (services, user) = crate::server::require(Permission::View, None).await?;
    let open = backend::change_requests::list(&services.db, &[RequestState::Open], None).await?;
    Ok(open.iter().map(|r| ssr::view(r, &user)).collect())
}

/// Approves (`approve` true) or rejects a request, with a reason.
#[server(endpoint = "approvals/decide")]
pub async fn decide_request(
    id: i64,
    approve: bool,
    reason: String,
) -> Result<RequestView, ConsoleError> {
    use lifecycle::{AuditAction, Permission};

    let attempt = crate::server::Attempt {
        action: if approve {
            AuditAction::ChangeApprove
        } else {
            AuditAction::ChangeReject
        },
        runtime: None,
        version: None,
    };
    let (services, user) = crate::server::require(Permission::Operate, Some(attempt)).await?;
    let reason = ssr::reason(&reason)?;
    let request = services.decide(&user.actor(), id, approve, &reason).await?;
    Ok(ssr::view(&request, &user))
}

/// The requester takes an open request back, with a reason.
#[server(endpoint = "approvals/withdraw")]
pub async fn withdraw_request(id: i64, reason: String) -> Result<RequestView, ConsoleError> {
    use lifecycle::{AuditAction, Permission};

    let attempt = crate::server::Attempt {
        action: AuditAction::ChangeWithdraw,
        runtime: None,
        version: None,
    };
    let (services, user) = crate::server::require(Permission::Operate, Some(attempt)).await?;
    let reason = ssr::reason(&reason)?;
    let request = services.withdraw(&user.actor(), id, &reason).await?;
    Ok(ssr::view(&request, &user))
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use backend::{auth::SessionUser, change_requests::ChangeRequest};
    use lifecycle::{ChangePolicy, Reason, RequestState};

    use super::{DecisionView, RequestView};
    use crate::ConsoleError;

    pub fn reason(text: &str) -> Result<Reason, ConsoleError> {
        Reason::parse(text).map_err(|e| ConsoleError::Invalid(format!("Reason: {e}.")))
    }

    pub fn view(request: &ChangeRequest, user: &SessionUser) -> RequestView {
        let open = request.state == RequestState::Open;
        let decided: Vec<&str> = request.decisions.iter().map(|d| d.by.as_str()).collect();
        let policy = ChangePolicy {
            approver_roles: request.approver_roles.iter().copied().collect(),
            ..ChangePolicy::default()
        };
        let may_decide = open
            && policy
                .may_decide(&user.email, user.role, &request.requested_by, &decided)
                .is_ok();
        RequestView {
            id: request.id,
            runtime: request.runtime.clone(),
            version: request.version.clone(),
            action: request.action.as_str().to_owned(),
            state: request.state.as_str().to_owned(),
            reason: request.reason.clone(),
            requested_by: request.requested_by.clone(),
            requested_at: request.requested_at.clone(),
            expires_at: request.expires_at.clone(),
            approvals: request.approvals(),
            approvals_needed: request.approvals_needed,
            rollback_from: request.rollback_from.clone(),
            decisions: request
                .decisions
                .iter()
                .map(|d| DecisionView {
                    by: d.by.clone(),
                    approve: d.approve,
                    reason: d.reason.clone(),
                    at: d.at.clone(),
                })
                .collect(),
            outcome: request.outcome.clone(),
            may_decide,
            may_withdraw: open && request.requested_by.eq_ignore_ascii_case(&user.email),
        }
    }
}
