//! The leader's part of a rollback to a stopped version: on every pass,
//! each pending rollback whose version is now `started` is published
//! through the one action path (as the operator who asked, with their
//! reason, marked as a rollback); one whose start went wrong, or whose
//! runtime serves something else by then, is given up with the reason.

use lifecycle::{Action, Permission, Role, Status};

use super::{changes::VersionKey, context::Context, error::RuntimeError, events::Happened};
use crate::versions::{self, ActionNote, PendingRollback, RollbackNote, VersionError};

/// Why a pending rollback cannot go on, or `None` when it can (or must
/// wait): from the version's status now and what the runtime serves.
fn blocked(pending: &PendingRollback, status: Status, serving: Option<&str>) -> Option<String> {
    match status {
        Status::Starting | Status::Started | Status::Published => {}
        Status::Error => return Some(format!("{} did not start", pending.version)),
        other => return Some(format!("{} is {other} now", pending.version)),
    }
    match serving {
        Some(now) if now == pending.from => None,
        // Published already (by hand): nothing served the same as asked.
        Some(now) if now == pending.version => None,
        Some(now) => Some(format!(
            "{now} serves the runtime now, not {}",
            pending.from
        )),
        None => Some(format!(
            "nothing serves the runtime now, not {}",
            pending.from
        )),
    }
}

impl Context {
    pub(super) async fn carry_out_rollbacks(&self) -> Result<(), RuntimeError> {
        for pending in versions::pending_rollbacks(&self.db).await? {
            let record = match versions::get(&self.db, &pending.runtime, &pending.version).await {
                Ok(record) => record,
                Err(VersionError::UnknownVersion { .. }) => {
                    versions::abandon_rollback(&self.db, &pending, "the version is gone").await?;
                    continue;
                }
                Err(error) => return Err(error.into()),
            };
            let key = VersionKey::new(&pending.runtime, &pending.version);
            if let Some(why) = blocked(&pending, record.status, record.serving_version.as_deref()) {
                tracing::info!(version = %key, %why, "rollback abandoned");
                if versions::abandon_rollback(&self.db, &pending, &why).await? {
                    self.changed(key);
                }
                continue;
            }
            match record.status {
                Status::Started => self.publish_rolled_back(&pending, key).await?,
                // Made meanwhile by hand: done.
                Status::Published => versions::forget_rollback(&self.db, &pending).await?,
                _ => {}
            }
        }
        Ok(())
    }

    async fn publish_rolled_back(
        &self,
        pending: &PendingRollback,
        key: VersionKey,
    ) -> Result<(), RuntimeError> {
        // The operator must still be allowed to publish: a user disabled or
        // demoted since does not publish through a pending rollback.
        let allowed = match pending.requested_by_id {
            Some(id) => crate::users::find_by_id(&self.db, id)
                .await
                .map_err(VersionError::Store)?
                .is_some_and(|u| !u.user.disabled && u.user.role.allows(Permission::Operate)),
            None => pending
                .requested_role
                .parse::<Role>()
                .is_ok_and(|role| role.allows(Permission::Operate)),
        };
        if !allowed {
            let why = format!("{} may no longer publish", pending.requested_by);
            versions::abandon_rollback(&self.db, pending, &why).await?;
            self.changed(key);
            return Ok(());
        }
        let reason = lifecycle::Reason::parse(&pending.reason).map_err(|_| {
            VersionError::Store(crate::Error::Corrupt(
                "pending_rollbacks.reason is unreadable".into(),
            ))
        })?;
        let note = RollbackNote {
            from: &pending.from,
            then_publish: false,
        };
        match versions::apply_action_noted(
            &self.db,
            &pending.actor(),
            &pending.runtime,
            &pending.version,
            Action::Publish,
            Status::Started,
            &reason,
            ActionNote {
                rollback: Some(note),
                ..ActionNote::default()
            },
        )
        .await
        {
            Ok(applied) => {
                tracing::info!(version = %key, from = %pending.from, "rolled back once ready");
                self.record_event(
                    &key,
                    Happened::action(&pending.requested_by, Action::Publish, &pending.reason),
                );
                if let Some(demoted) = applied.demoted {
                    self.changed(VersionKey::new(&pending.runtime, &demoted));
                }
            }
            // Refused (marked bad meanwhile, a conflict): the publish wrote
            // its own denied entry.
            Err(error) => {
                tracing::info!(version = %key, %error, "rollback publish refused");
                versions::forget_rollback(&self.db, pending).await?;
            }
        }
        self.changed(key);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending() -> PendingRollback {
        PendingRollback {
            runtime: "rt".into(),
            version: "v1".into(),
            from: "v2".into(),
            reason: "bad release".into(),
            requested_by_id: Some(1),
            requested_by: "op@example.com".into(),
            requested_role: "manager".into(),
            requested_at: "2026-12-07T00:00:00.000000Z".into(),
        }
    }

    #[test]
    fn a_rollback_waits_while_starting_and_goes_on_only_while_its_source_serves() {
        let p = pending();
        assert_eq!(blocked(&p, Status::Starting, Some("v2")), None);
        assert_eq!(blocked(&p, Status::Started, Some("v2")), None);
        assert_eq!(blocked(&p, Status::Published, Some("v1")), None);
        assert_eq!(
            blocked(&p, Status::Error, Some("v2")).as_deref(),
            Some("v1 did not start")
        );
        assert_eq!(
            blocked(&p, Status::Stopped, Some("v2")).as_deref(),
            Some("v1 is stopped now")
        );
        assert_eq!(
            blocked(&p, Status::Started, Some("v3")).as_deref(),
            Some("v3 serves the runtime now, not v2")
        );
        assert!(blocked(&p, Status::Started, None).is_some());
    }
}
