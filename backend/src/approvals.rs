//! Four-eyes change control on the one action path: an action the
//! runtime's policy names becomes a change request (`change_requests`);
//! deciding on one, and carrying it out once the quorum is reached, happen
//! here, so pages, the REST API and the leader all go the same way.

use chrono::{DateTime, Utc};
use lifecycle::{ChangePolicy, Reason};

use crate::{
    Services,
    audit::Actor,
    change_requests::{self, Asked, ChangeRequest, RequestError},
    runtime::VersionKey,
    versions::VersionError,
};

impl Services {
    /// The runtime's policy, when it holds `action` for approval.
    pub async fn holding_policy(
        &self,
        runtime: &str,
        action: lifecycle::Action,
    ) -> Result<Option<ChangePolicy>, VersionError> {
        let runtime = crate::runtimes::get(&self.db, runtime).await?;
        Ok(runtime
            .settings
            .change_policy
            .filter(|p| p.requires(action)))
    }

    /// Opens a change request for `asked` when the runtime's policy holds
    /// the action for approval and a person asks; `None` when it is carried
    /// out at once.
    pub(crate) async fn hold_for_approval(
        &self,
        actor: &Actor,
        asked: Asked<'_>,
    ) -> Result<Option<ChangeRequest>, VersionError> {
        if matches!(actor, Actor::System) {
            return Ok(None);
        }
        match self.holding_policy(asked.runtime, asked.action).await? {
            Some(policy) => self.open_request(actor, asked, &policy).await.map(Some),
            None => Ok(None),
        }
    }

    pub(crate) async fn open_request(
        &self,
        actor: &Actor,
        asked: Asked<'_>,
        policy: &ChangePolicy,
    ) -> Result<ChangeRequest, VersionError> {
        change_requests::open(&self.db, actor, asked, policy, Utc::now())
            .await
            .map_err(into_version_error)
    }

    /// Approves or rejects request `id`; the approval that reaches the
    /// quorum carries the action out at once, as the requester.
    pub async fn decide(
        &self,
        actor: &Actor,
        id: i64,
        approve: bool,
        reason: &Reason,
    ) -> Result<ChangeRequest, RequestError> {
        self.decide_at(actor, id, approve, reason, Utc::now()).await
    }

    pub async fn decide_at(
        &self,
        actor: &Actor,
        id: i64,
        approve: bool,
        reason: &Reason,
        now: DateTime<Utc>,
    ) -> Result<ChangeRequest, RequestError> {
        let request = change_requests::decide(&self.db, actor, id, approve, reason, now).await?;
        self.carry_out(request, now).await
    }

    pub async fn withdraw(
        &self,
        actor: &Actor,
        id: i64,
        reason: &Reason,
    ) -> Result<ChangeRequest, RequestError> {
        change_requests::withdraw(&self.db, actor, id, reason, Utc::now()).await
    }

    /// Carries out an approved request (see `change_requests::carry_out`)
    /// and tells the cluster side, as an operator's action does.
    pub async fn carry_out(
        &self,
        request: ChangeRequest,
        now: DateTime<Utc>,
    ) -> Result<ChangeRequest, RequestError> {
        if self.runtime.is_none() && request.state == lifecycle::RequestState::Approved {
            // Kept approved: a replica with a cluster carries it out.
            return Ok(request);
        }
        let (request, applied) = change_requests::carry_out(&self.db, request, now).await?;
        if let (Some(cluster), Some(applied)) = (&self.runtime, applied) {
            cluster.operator_acted(
                VersionKey::new(&request.runtime, &request.version),
                &request.requested_by,
                request.action,
                &request.reason,
            );
            if let Some(demoted) = &applied.demoted {
                cluster.status_changed(VersionKey::new(&request.runtime, demoted));
            }
        }
        Ok(request)
    }

    /// The leader's part, on every pass: requests past their time close,
    /// and approved ones not carried out yet (a replica stopped between the
    /// approval and the action) are.
    pub async fn settle_requests(&self, now: DateTime<Utc>) -> Result<(), RequestError> {
        change_requests::expire_due(&self.db, now).await?;
        for request in
            change_requests::list(&self.db, &[lifecycle::RequestState::Approved], None).await?
        {
            self.carry_out(request, now).await?;
        }
        Ok(())
    }
}

fn into_version_error(error: RequestError) -> VersionError {
    match error {
        RequestError::Version(error) => error,
        other => VersionError::Store(crate::Error::Corrupt(other.to_string())),
    }
}
