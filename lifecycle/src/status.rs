use serde::{Deserialize, Serialize};

text_enum! {
    /// Where a version is in its lifecycle. Persisted as the lowercase name.
    Status {
        Stopped => "stopped",
        Starting => "starting",
        Started => "started",
        Stopping => "stopping",
        Published => "published",
        Error => "error",
    }
}

impl Status {
    /// Statuses the system must drive to an end by itself (and resume after a
    /// crash): an operator cannot act on them except to stop a start.
    pub fn is_in_flight(self) -> bool {
        matches!(self, Self::Starting | Self::Stopping)
    }

    /// Whether the version holds cluster resources that should be running.
    pub fn is_running(self) -> bool {
        matches!(self, Self::Started | Self::Published)
    }
}

/// Text that names no known status, action or audit term.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown value {0:?}")]
pub struct UnknownStatus(pub String);

text_enum! {
    /// What an operator asks for.
    Action {
        Start => "start",
        Stop => "stop",
        Publish => "publish",
        Unpublish => "unpublish",
    }
}

impl Action {
    /// The button's accessible name.
    pub fn label(self) -> &'static str {
        match self {
            Self::Start => "Start",
            Self::Stop => "Stop",
            Self::Publish => "Publish",
            Self::Unpublish => "Unpublish",
        }
    }
}

/// What the cluster tells the system about an in-flight version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SystemEvent {
    /// Every process and the entrypoint has all desired replicas Ready.
    AllReady,
    /// The start deadline passed, or a node is in a failure it cannot leave.
    StartFailed,
    /// Every resource of the version is gone.
    AllGone,
    /// The stop deadline passed.
    StopFailed,
}

impl SystemEvent {
    pub const ALL: [SystemEvent; 4] = [
        SystemEvent::AllReady,
        SystemEvent::StartFailed,
        SystemEvent::AllGone,
        SystemEvent::StopFailed,
    ];
}

/// The second axis: a running version whose pods fail stays
/// started/published but is degraded, naming the node and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "health", rename_all = "lowercase")]
pub enum Health {
    Healthy,
    Degraded {
        node: String,
        reason: String,
    },
    /// Not running, so health does not apply.
    Unknown,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_through_text_and_json() {
        for status in Status::ALL {
            assert_eq!(status.as_str().parse::<Status>(), Ok(status));
            let json = serde_json::to_string(&status).expect("serialises");
            assert_eq!(json, format!("\"{}\"", status.as_str()));
        }
        assert!("running".parse::<Status>().is_err());
    }

    #[test]
    fn actions_round_trip_and_label_buttons() {
        for action in Action::ALL {
            assert_eq!(action.as_str().parse::<Action>(), Ok(action));
            assert_eq!(action.label().to_lowercase(), action.as_str());
        }
    }
}
