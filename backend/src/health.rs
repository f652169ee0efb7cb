//! Readiness of the console's dependencies, as reported by `GET /readyz`.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckState {
    Ok,
    Unreachable,
    /// The dependency is not configured (e.g. no cluster); not a failure.
    NotConfigured,
}

/// One dependency's state. `detail` is safe to show anyone (a backend kind or
/// a server version, never an error message or a connection string).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub state: CheckState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl Check {
    pub fn ok(detail: impl Into<String>) -> Self {
        Self {
            state: CheckState::Ok,
            detail: Some(detail.into()),
        }
    }

    pub fn unreachable() -> Self {
        Self {
            state: CheckState::Unreachable,
            detail: None,
        }
    }

    pub fn not_configured() -> Self {
        Self {
            state: CheckState::NotConfigured,
            detail: None,
        }
    }

    pub fn is_failure(&self) -> bool {
        self.state == CheckState::Unreachable
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Readiness {
    pub ready: bool,
    pub database: Check,
    pub cluster: Check,
}

impl Readiness {
    pub fn new(database: Check, cluster: Check) -> Self {
        let ready = !database.is_failure() && !cluster.is_failure();
        Self {
            ready,
            database,
            cluster,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_only_when_nothing_is_unreachable() {
        assert!(Readiness::new(Check::ok("sqlite"), Check::not_configured()).ready);
        assert!(Readiness::new(Check::ok("sqlite"), Check::ok("v1.34.0")).ready);
        assert!(!Readiness::new(Check::unreachable(), Check::ok("v1.34.0")).ready);
        assert!(!Readiness::new(Check::ok("sqlite"), Check::unreachable()).ready);
    }

    #[test]
    fn serialises_states_in_snake_case_without_empty_detail() {
        let json =
            serde_json::to_value(Readiness::new(Check::ok("sqlite"), Check::not_configured()))
                .expect("serialises");
        assert_eq!(
            json,
            serde_json::json!({
                "ready": true,
                "database": {"state": "ok", "detail": "sqlite"},
                "cluster": {"state": "not_configured"}
            })
        );
    }
}
