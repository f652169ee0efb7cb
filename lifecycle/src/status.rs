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

    /// Whether the action changes which version receives the runtime's
    /// traffic: the runtime's Ingress then follows (on the leader, from the
    /// database), and the answer does not wait for it.
    pub fn changes_traffic(self) -> bool {
        matches!(self, Self::Publish | Self::Unpublish)
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
    /// The runtime's Ingress could not be pointed at a newly published
    /// version before the switch deadline: it goes back to `started`.
    SwitchFailed,
    /// A switch failed, and the version the Ingress still points at is
    /// published again: the one the failed publish had demoted, or the one a
    /// failed unpublish could not take the traffic from.
    SwitchReverted,
}

impl SystemEvent {
    pub const ALL: [SystemEvent; 6] = [
        SystemEvent::AllReady,
        SystemEvent::StartFailed,
        SystemEvent::AllGone,
        SystemEvent::StopFailed,
        SystemEvent::SwitchFailed,
        SystemEvent::SwitchReverted,
    ];
}

text_enum! {
    /// Where the runtime's traffic is, for a version the Ingress concerns: a
    /// third axis beside status and health.
    Routing {
        /// Published, and the Ingress does not point at it yet.
        Switching => "switching",
        /// Published, and the Ingress in the cluster points at it.
        Serving => "serving",
        /// No longer published, but the Ingress still points at it until
        /// the switch (or the unpublish) completes.
        Draining => "draining",
    }
}

impl Routing {
    /// The routing of a version in `status`, given which version the
    /// runtime's Ingress points at now (`serving`, as the leader last saw
    /// or made it). `None`: the Ingress has nothing to do with it.
    pub fn of(version: &str, status: Status, serving: Option<&str>) -> Option<Self> {
        let points_here = serving == Some(version);
        match (status, points_here) {
            (Status::Published, true) => Some(Self::Serving),
            (Status::Published, false) => Some(Self::Switching),
            (_, true) => Some(Self::Draining),
            (_, false) => None,
        }
    }

    /// In words, for the screen.
    pub fn label(self) -> &'static str {
        match self {
            Self::Switching => "Switching traffic here",
            Self::Serving => "Serving",
            Self::Draining => "Still serving until the switch completes",
        }
    }
}

text_enum! {
    /// What one process node (or the entrypoint) is doing in the cluster.
    NodeStatus {
        Stopped => "stopped",
        Starting => "starting",
        Ready => "ready",
        Error => "error",
    }
}

/// One node as the details screen shows it: readiness comes from the pods'
/// `Ready` condition, never from container state alone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeState {
    pub name: String,
    pub status: NodeStatus,
    pub ready: u32,
    pub desired: u32,
    /// The Kubernetes reason when in error (`ImagePullBackOff`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// A version's status and nodes at one moment: what the live stream sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionLive {
    pub runtime: String,
    pub version: String,
    pub status: Status,
    pub health: Health,
    pub status_changed_at: String,
    pub status_actor: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// The entrypoint first, then the processes in manifest order.
    pub nodes: Vec<NodeState>,
    /// Where the runtime's traffic is, when it concerns this version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing: Option<Routing>,
    /// The host the runtime is served at, when `routing` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
}

/// Health of a version from its nodes: only a running version has one, and
/// it is degraded by the first node that is not fully ready.
pub fn health_of(status: Status, nodes: &[NodeState]) -> Health {
    if !status.is_running() {
        return Health::Unknown;
    }
    match nodes.iter().find(|n| n.status != NodeStatus::Ready) {
        None => Health::Healthy,
        Some(node) => Health::Degraded {
            node: node.name.clone(),
            reason: match (&node.reason, &node.message) {
                (Some(reason), Some(message)) => format!("{reason}: {message}"),
                (Some(reason), None) => reason.clone(),
                _ => format!("{} of {} replicas ready", node.ready, node.desired),
            },
        },
    }
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
    fn health_is_degraded_by_the_first_node_not_ready() {
        let node = |name: &str, status, reason: Option<&str>| NodeState {
            name: name.into(),
            status,
            ready: u32::from(status == NodeStatus::Ready) * 2,
            desired: 2,
            reason: reason.map(Into::into),
            message: None,
        };
        let healthy = [node("entrypoint", NodeStatus::Ready, None)];
        assert_eq!(health_of(Status::Started, &healthy), Health::Healthy);
        assert_eq!(health_of(Status::Stopped, &healthy), Health::Unknown);
        let failing = [
            node("entrypoint", NodeStatus::Ready, None),
            node("score", NodeStatus::Error, Some("CrashLoopBackOff")),
            node("enrich", NodeStatus::Starting, None),
        ];
        assert_eq!(
            health_of(Status::Published, &failing),
            Health::Degraded {
                node: "score".into(),
                reason: "CrashLoopBackOff".into()
            }
        );
        assert_eq!(
            health_of(Status::Started, &failing[2..]),
            Health::Degraded {
                node: "enrich".into(),
                reason: "0 of 2 replicas ready".into()
            }
        );
    }

    #[test]
    fn actions_round_trip_and_label_buttons() {
        for action in Action::ALL {
            assert_eq!(action.as_str().parse::<Action>(), Ok(action));
            assert_eq!(action.label().to_lowercase(), action.as_str());
        }
    }
}
