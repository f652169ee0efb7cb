//! The one path of every lifecycle action, whoever asks (a page, the REST
//! API, the CLI, the scheduler, an approval): the compare-and-set with its
//! audit entry, then the reconciler is woken to carry it out. The answer
//! never waits on the cluster: a publish is durable once its intent is, and
//! the leader's routing makes the Ingress follow, even if the caller goes
//! away.

use lifecycle::{Action, Reason, Status};

use crate::{
    Services,
    audit::Actor,
    runtime::VersionKey,
    versions::{self, Applied, VersionError},
};

impl Services {
    /// Carries out `action` on a version an operator saw in `expected`.
    pub async fn act(
        &self,
        actor: &Actor,
        runtime: &str,
        version: &str,
        action: Action,
        expected: Status,
        reason: &Reason,
    ) -> Result<Applied, VersionError> {
        let Some(cluster) = &self.runtime else {
            return Err(VersionError::NoCluster);
        };
        let applied =
            versions::apply_action(&self.db, actor, runtime, version, action, expected, reason)
                .await?;
        let by = match actor {
            Actor::User { email, .. } => email.as_str(),
            Actor::System => "system",
        };
        cluster.operator_acted(
            VersionKey::new(runtime, version),
            by,
            action,
            reason.as_str(),
        );
        if let Some(demoted) = &applied.demoted {
            cluster.status_changed(VersionKey::new(runtime, demoted));
        }
        Ok(applied)
    }
}
