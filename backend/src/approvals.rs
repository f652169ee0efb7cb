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
    change_windows::Passage,
    runtime::VersionKey,
    versions::VersionError,
};

impl Services {
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
    /// and tells the cluster side, as an operator's action does. At that
    /// moment the requester must still be allowed to act (not disabled, not
    /// demoted) and the runtime's windows open (or overridden, if the
    /// request was break-glass); otherwise the request fails, saying why.
    pub async fn carry_out(
        &self,
        request: ChangeRequest,
        now: DateTime<Utc>,
    ) -> Result<ChangeRequest, RequestError> {
        if request.state != lifecycle::RequestState::Approved {
            return Ok(request);
        }
        let Some(cluster) = &self.runtime else {
            // Kept approved: a replica with a cluster carries it out.
            return Ok(request);
        };
        let requester =
            match crate::users::acting_as(&self.db, request.requested_by_id, &request.requested_by)
                .await?
            {
                Ok(actor) => actor,
                Err(why) => return change_requests::fail(&self.db, request, why, now).await,
            };
        let settings = match crate::runtimes::get(&self.db, &request.runtime).await {
            Ok(runtime) => runtime.settings,
            Err(error) => {
                let why = VersionError::from(error);
                if let VersionError::Store(error) = why {
                    return Err(VersionError::Store(error).into());
                }
                return change_requests::fail(&self.db, request, why.to_string(), now).await;
            }
        };
        let reason = Reason::parse(&request.reason)
            .map_err(|_| crate::Error::Corrupt("a request's reason is unreadable".into()))?;
        let passage = Passage {
            runtime: &request.runtime,
            version: &request.version,
            action: request.action,
            reason: &reason,
            break_glass: request.break_glass,
        };
        let overridden = match self.pass_windows(&requester, &settings, passage, now).await {
            Ok(overridden) => overridden,
            Err(VersionError::Store(error)) => return Err(VersionError::Store(error).into()),
            Err(refused) => {
                return change_requests::fail(&self.db, request, refused.to_string(), now).await;
            }
        };
        let (request, applied) =
            change_requests::carry_out(&self.db, request, &requester, overridden.as_ref(), now)
                .await?;
        if let Some(applied) = applied {
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
