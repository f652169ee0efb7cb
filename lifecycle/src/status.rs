use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

/// Where a version is in its lifecycle. Persisted as the lowercase name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Stopped,
    Starting,
    Started,
    Stopping,
    Published,
    Error,
}

impl Status {
    pub const ALL: [Status; 6] = [
        Status::Stopped,
        Status::Starting,
        Status::Started,
        Status::Stopping,
        Status::Published,
        Status::Error,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stopped => "stopped",
            Self::Starting => "starting",
            Self::Started => "started",
            Self::Stopping => "stopping",
            Self::Published => "published",
            Self::Error => "error",
        }
    }

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

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown status {0:?}")]
pub struct UnknownStatus(pub String);

impl FromStr for Status {
    type Err = UnknownStatus;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Status::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| UnknownStatus(s.to_owned()))
    }
}

/// What an operator asks for. The label is the button's accessible name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Start,
    Stop,
    Publish,
    Unpublish,
}

impl Action {
    pub const ALL: [Action; 4] = [
        Action::Start,
        Action::Stop,
        Action::Publish,
        Action::Unpublish,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Start => "start",
            Self::Stop => "stop",
            Self::Publish => "publish",
            Self::Unpublish => "unpublish",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Start => "Start",
            Self::Stop => "Stop",
            Self::Publish => "Publish",
            Self::Unpublish => "Unpublish",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Action {
    type Err = UnknownStatus;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Action::ALL
            .into_iter()
            .find(|action| action.as_str() == s)
            .ok_or_else(|| UnknownStatus(s.to_owned()))
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
