//! Change windows as the screens show them: which actions a runtime's
//! windows refuse now (and whether the caller may override), and whether a
//! version's last action overrode one. The rules are `lifecycle::windows`.

use lifecycle::Action;
use serde::{Deserialize, Serialize};

/// A change window that refuses an action now, as the dialog says it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowNotice {
    pub action: Action,
    pub message: String,
    /// Whether the caller may override it (break-glass).
    pub may_override: bool,
}

/// The last action on a version overrode a change window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OverrideView {
    pub action: String,
    pub window: String,
    pub by: String,
    pub at: String,
    pub reason: String,
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use backend::Services;

    use crate::{ConsoleError, server::unavailable};

    /// The actions the runtime's change windows refuse now, and whether
    /// `role` may override them.
    pub async fn window_notices(
        services: &Services,
        runtime: &str,
        role: lifecycle::Role,
    ) -> Result<Vec<super::WindowNotice>, ConsoleError> {
        let record = backend::runtimes::get(&services.db, runtime).await?;
        let Some(windows) = record.settings.change_windows else {
            return Ok(Vec::new());
        };
        let now = chrono::Utc::now();
        Ok(lifecycle::Action::ALL
            .into_iter()
            .filter_map(|action| {
                windows
                    .closed(action, now)
                    .map(|closed| super::WindowNotice {
                        action,
                        message: closed.to_string(),
                        may_override: windows.may_override(role),
                    })
            })
            .collect())
    }

    /// The version's last operator action, when it overrode a window.
    pub async fn last_override(
        services: &Services,
        runtime: &str,
        version: &str,
    ) -> Result<Option<super::OverrideView>, ConsoleError> {
        let filter = backend::audit::Filter {
            runtime: Some(runtime.to_owned()),
            version: Some(version.to_owned()),
            outcome: Some(lifecycle::Outcome::Accepted),
            ..Default::default()
        };
        let page = backend::audit::query(&services.db, &filter, None, 20)
            .await
            .map_err(unavailable)?;
        let operator_actions =
            lifecycle::Action::ALL.map(|a| lifecycle::AuditAction::from(a).as_str());
        let Some(last) = page
            .entries
            .into_iter()
            .find(|e| e.actor_kind == "user" && operator_actions.contains(&e.action.as_str()))
        else {
            return Ok(None);
        };
        let details: serde_json::Value = serde_json::from_str(&last.details).unwrap_or_default();
        if details["break_glass"] != serde_json::json!(true) {
            return Ok(None);
        }
        Ok(Some(super::OverrideView {
            action: last.action,
            window: details["window"].as_str().unwrap_or_default().to_owned(),
            by: last.actor_email.unwrap_or_default(),
            at: last.at,
            reason: last.reason.unwrap_or_default(),
        }))
    }
}
