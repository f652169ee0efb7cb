//! Scheduled actions for people: scheduling a version's start, stop,
//! publish or unpublish for a future instant with the reason given now,
//! and cancelling one with a reason. The rules (windows and the policy at
//! scheduling and at run time, exactly once) are the backend's.

use leptos::prelude::*;
use lifecycle::Action;
use serde::{Deserialize, Serialize};

use crate::ConsoleError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleView {
    pub id: i64,
    pub action: Action,
    pub run_at: String,
    pub reason: String,
    pub scheduled_by: String,
    pub scheduled_at: String,
    /// `pending`, `done`, `failed` or `cancelled`.
    pub state: String,
    pub closed_at: Option<String>,
    pub closed_by: Option<String>,
    pub outcome: Option<String>,
}

/// Schedules `action` on a version for `run_at`: an RFC 3339 instant, or
/// the `YYYY-MM-DDTHH:MM` of a `datetime-local` field, read as UTC.
#[server(endpoint = "schedules/create")]
pub async fn schedule_action(
    runtime: String,
    version: String,
    action: Action,
    run_at: String,
    reason: String,
) -> Result<ScheduleView, ConsoleError> {
    use lifecycle::{AuditAction, Permission};

    let attempt = crate::server::Attempt {
        action: AuditAction::Schedule,
        runtime: Some(runtime.clone()),
        version: Some(version.clone()),
    };
    let (services, user) = crate::server::require(Permission::Operate, Some(attempt)).await?;
    let reason = crate::approvals::ssr::reason(&reason)?;
    let at = ssr::instant(&run_at)?;
    let scheduled = services
        .schedule(&user.actor(), &runtime, &version, action, &reason, at)
        .await?;
    if crate::response::plain_form_post() {
        leptos_axum::redirect(&crate::paths::version_path(&runtime, &version));
    }
    Ok(ssr::view(&scheduled))
}

/// Cancels a pending scheduled action, with a reason.
#[server(endpoint = "schedules/cancel")]
pub async fn cancel_schedule(id: i64, reason: String) -> Result<ScheduleView, ConsoleError> {
    use lifecycle::{AuditAction, Permission};

    let attempt = crate::server::Attempt {
        action: AuditAction::ScheduleCancel,
        runtime: None,
        version: None,
    };
    let (services, user) = crate::server::require(Permission::Operate, Some(attempt)).await?;
    let reason = crate::approvals::ssr::reason(&reason)?;
    let cancelled = services.cancel_schedule(&user.actor(), id, &reason).await?;
    if crate::response::plain_form_post() {
        leptos_axum::redirect(&crate::paths::version_path(
            &cancelled.runtime,
            &cancelled.version,
        ));
    }
    Ok(ssr::view(&cancelled))
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use backend::{
        Services,
        schedules::{self, ScheduledAction},
    };
    use chrono::{DateTime, NaiveDateTime, Utc};

    use super::ScheduleView;
    use crate::ConsoleError;

    pub fn instant(text: &str) -> Result<DateTime<Utc>, ConsoleError> {
        let text = text.trim();
        backend::releases::parse_instant(text)
            .or_else(|| {
                NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M")
                    .ok()
                    .map(|t| t.and_utc())
            })
            .ok_or_else(|| {
                ConsoleError::Invalid(
                    "When: give an instant such as 2026-12-24T09:00 (UTC) or an RFC 3339 time."
                        .into(),
                )
            })
    }

    pub fn view(scheduled: &ScheduledAction) -> ScheduleView {
        ScheduleView {
            id: scheduled.id,
            action: scheduled.action,
            run_at: scheduled.run_at.clone(),
            reason: scheduled.reason.clone(),
            scheduled_by: scheduled.scheduled_by.clone(),
            scheduled_at: scheduled.scheduled_at.clone(),
            state: scheduled.state.as_str().to_owned(),
            closed_at: scheduled.closed_at.clone(),
            closed_by: scheduled.closed_by.clone(),
            outcome: scheduled.outcome.clone(),
        }
    }

    pub async fn of_version(
        services: &Services,
        runtime: &str,
        version: &str,
    ) -> Result<Vec<ScheduleView>, ConsoleError> {
        Ok(schedules::of_version(&services.db, runtime, version)
            .await?
            .iter()
            .map(view)
            .collect())
    }
}
