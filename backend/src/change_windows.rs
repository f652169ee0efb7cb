//! Change windows on the one action path: before an operator's action (or
//! the request for one, or an approved request's or a schedule's run) the
//! runtime's windows are asked (`lifecycle::windows`); a closed window
//! refuses, audited as denied, unless someone allowed to break the glass
//! overrides it, which the action's audit entry then carries.

use chrono::{DateTime, Utc};
use lifecycle::{Action, Closed, Outcome, Reason, Role, RuntimeSettings};

use crate::{
    Services, audit,
    audit::{Actor, NewEntry},
    versions::VersionError,
};

/// What is asked of the windows.
pub struct Passage<'a> {
    pub runtime: &'a str,
    pub version: &'a str,
    pub action: Action,
    pub reason: &'a Reason,
    /// The operator asks to override a closed window.
    pub break_glass: bool,
}

impl Services {
    /// Whether `actor` may carry out the passage at `now` under `settings`:
    /// `Ok(None)` when no window refuses, `Ok(Some(closed))` when the
    /// actor overrides a closed one, an error (audited as denied) when it
    /// refuses. The system is never refused: windows are for people.
    pub async fn pass_windows(
        &self,
        actor: &Actor,
        settings: &RuntimeSettings,
        passage: Passage<'_>,
        now: DateTime<Utc>,
    ) -> Result<Option<Closed>, VersionError> {
        let Actor::User { role, .. } = actor else {
            return Ok(None);
        };
        let Some(windows) = &settings.change_windows else {
            return Ok(None);
        };
        let Some(closed) = windows.closed(passage.action, now) else {
            return Ok(None);
        };
        let may_override = role
            .parse::<Role>()
            .is_ok_and(|role| windows.may_override(role));
        let refusal = if !passage.break_glass {
            VersionError::WindowClosed(closed.clone())
        } else if !may_override {
            VersionError::OverrideNotAllowed {
                closed: closed.clone(),
                role: role.clone(),
            }
        } else {
            return Ok(Some(closed));
        };
        let denied = NewEntry::new(actor.clone(), passage.action.into(), Outcome::Denied)
            .target(passage.runtime, Some(passage.version.to_owned()))
            .reason(passage.reason.as_str())
            .details(serde_json::json!({
                "window": closed.title,
                "reopens_at": closed.reopens_at,
                "break_glass": passage.break_glass,
                "refused": refusal.to_string(),
            }));
        audit::append(&self.db, &denied).await?;
        Err(refusal)
    }
}
