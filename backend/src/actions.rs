//! The one path of every lifecycle action, whoever asks (a page, the REST
//! API, the CLI, the scheduler, an approval): the compare-and-set with its
//! audit entry, then the reconciler is woken to carry it out. The answer
//! never waits on the cluster: a publish is durable once its intent is, and
//! the leader's routing makes the Ingress follow, even if the caller goes
//! away.

use chrono::Utc;
use lifecycle::{Action, ChangePolicy, Reason, RuntimeSettings, Status};

use crate::{
    Services,
    audit::Actor,
    change_requests::{Asked, ChangeRequest},
    change_windows::Passage,
    releases,
    runtime::{RuntimeError, VersionKey, dry_run::Checked},
    versions::{self, ActionNote, Applied, RollbackNote, VersionError},
};

/// What asking for an action did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Acted {
    /// Carried out (its intent recorded; the cluster follows).
    Applied(Applied),
    /// Held for approval by the runtime's policy: a change request.
    Requested(Box<ChangeRequest>),
}

impl Acted {
    pub fn applied(&self) -> Option<&Applied> {
        match self {
            Self::Applied(applied) => Some(applied),
            Self::Requested(_) => None,
        }
    }
}

impl Services {
    /// Carries out `action` on a version an operator saw in `expected`, or,
    /// when the runtime's policy holds it for approval, opens a change
    /// request for it (see `approvals.rs`). The system is never held.
    pub async fn act(
        &self,
        actor: &Actor,
        runtime: &str,
        version: &str,
        action: Action,
        expected: Status,
        reason: &Reason,
    ) -> Result<Acted, VersionError> {
        let asked = Asked {
            runtime,
            version,
            action,
            expected,
            reason,
            rollback_from: None,
            break_glass: false,
        };
        self.act_asked(actor, asked).await
    }

    /// `act`, where the operator may ask to override a closed change
    /// window (break-glass): refused unless their role may, and carried in
    /// the audit entry when it does.
    pub async fn act_asked(&self, actor: &Actor, asked: Asked<'_>) -> Result<Acted, VersionError> {
        let record = crate::runtimes::get(&self.db, asked.runtime).await?;
        let overridden = self
            .pass_windows(actor, &record.settings, asked.passage(), Utc::now())
            .await?;
        let asked = Asked {
            break_glass: overridden.is_some(),
            ..asked
        };
        if let Some(policy) = holding(actor, &record.settings, asked.action) {
            let request = self.open_request(actor, asked, &policy).await?;
            return Ok(Acted::Requested(Box::new(request)));
        }
        self.act_noted(
            actor,
            asked.runtime,
            asked.version,
            asked.action,
            asked.expected,
            asked.reason,
            ActionNote {
                break_glass: overridden.as_ref(),
                ..ActionNote::default()
            },
        )
        .await
        .map(Acted::Applied)
    }

    /// Rolls the runtime back: publishes the version of its previous
    /// release (or of the earlier release with version `to`) through the
    /// same path, the audit entry marked as a rollback from the version
    /// serving now. A `started` version (a warm standby) is published at
    /// once. A `stopped` one, when `start_first`, is started now and
    /// published by the leader once it is ready, as one tracked operation
    /// (see `versions::pending`); without it the lifecycle table refuses,
    /// audited as denied. Under a policy that holds publishes, a started
    /// target's rollback is a change request, and a stopped one's is
    /// refused (start it first). Answers the version and what was done now.
    pub async fn roll_back(
        &self,
        actor: &Actor,
        runtime: &str,
        to: Option<&str>,
        start_first: bool,
        reason: &Reason,
        break_glass: bool,
    ) -> Result<(String, Acted), VersionError> {
        let target = releases::rollback_target(&self.db, runtime, to)
            .await?
            .ok_or_else(|| VersionError::NoRollbackTarget {
                runtime: runtime.to_owned(),
                to: to.map(str::to_owned),
            })?;
        let record = versions::get(&self.db, runtime, &target).await?;
        let from = record.serving_version.clone().unwrap_or_default();
        let starts = start_first && record.status == Status::Stopped;
        let action = if starts {
            Action::Start
        } else {
            Action::Publish
        };
        // The windows and the policy judge it as the publish it is.
        let settings = crate::runtimes::get(&self.db, runtime).await?.settings;
        let passage = Passage {
            runtime,
            version: &target,
            action: Action::Publish,
            reason,
            break_glass,
        };
        let overridden = self
            .pass_windows(actor, &settings, passage, Utc::now())
            .await?;
        if let Some(policy) = holding(actor, &settings, Action::Publish) {
            if starts {
                return Err(VersionError::RollbackNeedsStart { version: target });
            }
            let asked = Asked {
                runtime,
                version: &target,
                action: Action::Publish,
                expected: record.status,
                reason,
                rollback_from: Some(&from),
                break_glass: overridden.is_some(),
            };
            let request = self.open_request(actor, asked, &policy).await?;
            return Ok((target, Acted::Requested(Box::new(request))));
        }
        let note = RollbackNote {
            from: &from,
            then_publish: starts,
        };
        self.act_noted(
            actor,
            runtime,
            &target,
            action,
            record.status,
            reason,
            ActionNote {
                rollback: Some(note),
                break_glass: overridden.as_ref(),
                ..ActionNote::default()
            },
        )
        .await
        .map(|applied| (target, Acted::Applied(applied)))
    }

    /// What `action` on a version would apply to the cluster, as the API
    /// server answers a dry run of every object: only a start or a publish
    /// applies anything. Changes nothing, records nothing.
    pub async fn dry_run(
        &self,
        runtime: &str,
        version: &str,
        action: Action,
    ) -> Result<Vec<Checked>, DryRunError> {
        if !matches!(action, Action::Start | Action::Publish) {
            return Err(DryRunError::NothingApplied(action));
        }
        let Some(cluster) = &self.runtime else {
            return Err(VersionError::NoCluster.into());
        };
        let runtime = crate::runtimes::get(&self.db, runtime)
            .await
            .map_err(VersionError::from)?;
        let record = versions::get(&self.db, &runtime.name, version).await?;
        cluster
            .dry_run(&runtime, &record, action)
            .await
            .map_err(DryRunError::Cluster)
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn act_noted(
        &self,
        actor: &Actor,
        runtime: &str,
        version: &str,
        action: Action,
        expected: Status,
        reason: &Reason,
        note: ActionNote<'_>,
    ) -> Result<Applied, VersionError> {
        let Some(cluster) = &self.runtime else {
            return Err(VersionError::NoCluster);
        };
        let applied = versions::apply_action_noted(
            &self.db, actor, runtime, version, action, expected, reason, note,
        )
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

/// The runtime's policy, when it holds `action` for approval and a person
/// asks: the system is never held.
pub(crate) fn holding(
    actor: &Actor,
    settings: &RuntimeSettings,
    action: Action,
) -> Option<ChangePolicy> {
    match actor {
        Actor::System => None,
        Actor::User { .. } => settings
            .change_policy
            .clone()
            .filter(|p| p.requires(action)),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DryRunError {
    #[error("{} applies nothing to the cluster: only a start or a publish has a dry run.", .0.label())]
    NothingApplied(Action),
    #[error(transparent)]
    Version(#[from] VersionError),
    /// The cluster could not be asked (not a refusal: those are answers).
    #[error("The cluster could not be asked: {0}")]
    Cluster(RuntimeError),
}
