//! The lifecycle table of `DESIGN.md`, and the system transitions.

use serde::{Deserialize, Serialize};

use crate::status::{Action, Status, SystemEvent};

/// An allowed change of status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transition {
    pub from: Status,
    pub to: Status,
}

/// Why an action is not possible in a status, in words for the person who
/// asked ("Stop is not possible: the version is published; unpublish it first").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{} is not possible: the version is {from}; {hint}", action.label())]
pub struct Refusal {
    pub from: Status,
    pub action: Action,
    pub hint: &'static str,
}

/// The operator table. `Ok(to)` is the status the action moves to; the server
/// applies it only if the status is still `from` when it writes.
pub fn plan(from: Status, action: Action) -> Result<Transition, Refusal> {
    use Action::*;
    use Status::*;
    let to = match (from, action) {
        (Stopped, Start) => Starting,
        (Starting, Stop) => Stopping,
        (Started, Stop) => Stopping,
        (Started, Publish) => Published,
        (Published, Unpublish) => Started,
        (Error, Start) => Starting,
        (Error, Stop) => Stopping,
        _ => {
            return Err(Refusal {
                from,
                action,
                hint: hint(from, action),
            });
        }
    };
    Ok(Transition { from, to })
}

fn hint(from: Status, action: Action) -> &'static str {
    use Action::*;
    use Status::*;
    match (from, action) {
        (Stopping, _) => "wait until it has stopped",
        (Published, Stop) => "unpublish it first",
        (Published, Publish) => "it is already published",
        (Starting, Start) | (Started, Start) | (Published, Start) => "it is already running",
        (Starting, Publish) => "wait until it has started",
        (Stopped, Stop) => "it is already stopped",
        (Stopped, Publish) | (Error, Publish) => "start it first",
        (_, Unpublish) => "it is not published",
        _ => "this action does not apply",
    }
}

/// For each action, whether it applies to `status`: what the UI shows.
pub fn available_actions(status: Status) -> [(Action, Result<Transition, Refusal>); 4] {
    Action::ALL.map(|action| (action, plan(status, action)))
}

/// Transitions the system makes by itself (actor `system`). `None` when the
/// event does not apply to the status (e.g. a late "all ready" after a stop).
pub fn system_transition(from: Status, event: SystemEvent) -> Option<Transition> {
    use Status::*;
    use SystemEvent::*;
    let to = match (from, event) {
        (Starting, AllReady) => Started,
        (Starting, StartFailed) => Error,
        (Stopping, AllGone) => Stopped,
        (Stopping, StopFailed) => Error,
        (Published, SwitchFailed) => Started,
        (Started, SwitchReverted) => Published,
        _ => return None,
    };
    Some(Transition { from, to })
}

/// Publishing a version demotes the runtime's published one to `started` in
/// the same step: one published version per runtime.
pub fn demotion_on_publish(other: Status) -> Option<Transition> {
    (other == Status::Published).then_some(Transition {
        from: Status::Published,
        to: Status::Started,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use Action::*;
    use Status::*;

    /// The table of DESIGN.md, written out cell by cell: every pair is pinned.
    const TABLE: [(Status, [Option<Status>; 4]); 6] = [
        //              start           stop            publish          unpublish
        (Stopped, [Some(Starting), None, None, None]),
        (Starting, [None, Some(Stopping), None, None]),
        (Started, [None, Some(Stopping), Some(Published), None]),
        (Published, [None, None, None, Some(Started)]),
        (Stopping, [None, None, None, None]),
        (Error, [Some(Starting), Some(Stopping), None, None]),
    ];

    #[test]
    fn every_status_and_action_pair_follows_the_design_table() {
        for (from, row) in TABLE {
            for (action, expected) in Action::ALL.into_iter().zip(row) {
                let got = plan(from, action).ok().map(|t| t.to);
                assert_eq!(got, expected, "{from} + {action}");
                if let Ok(t) = plan(from, action) {
                    assert_eq!(t.from, from);
                }
            }
        }
    }

    #[test]
    fn refusals_explain_themselves() {
        let refusal = plan(Published, Stop).expect_err("refused");
        assert_eq!(
            refusal.to_string(),
            "Stop is not possible: the version is published; unpublish it first"
        );
        assert_eq!(
            plan(Stopping, Start).expect_err("refused").hint,
            "wait until it has stopped"
        );
        for from in Status::ALL {
            for action in Action::ALL {
                if let Err(refusal) = plan(from, action) {
                    assert_ne!(
                        refusal.hint, "this action does not apply",
                        "{from} + {action}"
                    );
                }
            }
        }
    }

    #[test]
    fn system_transitions_apply_only_to_in_flight_statuses() {
        assert_eq!(
            system_transition(Starting, SystemEvent::AllReady).map(|t| t.to),
            Some(Started)
        );
        assert_eq!(
            system_transition(Starting, SystemEvent::StartFailed).map(|t| t.to),
            Some(Error)
        );
        assert_eq!(
            system_transition(Stopping, SystemEvent::AllGone).map(|t| t.to),
            Some(Stopped)
        );
        assert_eq!(
            system_transition(Stopping, SystemEvent::StopFailed).map(|t| t.to),
            Some(Error)
        );
        let switch = [SystemEvent::SwitchFailed, SystemEvent::SwitchReverted];
        for from in Status::ALL {
            for event in SystemEvent::ALL {
                if system_transition(from, event).is_some() {
                    assert!(
                        from.is_in_flight() || switch.contains(&event),
                        "{from} + {event:?}"
                    );
                }
            }
        }
        // A failed switch never takes a version to error: the one that could
        // not take the traffic goes back to started, the one still serving
        // is published again.
        assert_eq!(
            system_transition(Published, SystemEvent::SwitchFailed).map(|t| t.to),
            Some(Started)
        );
        assert_eq!(
            system_transition(Started, SystemEvent::SwitchReverted).map(|t| t.to),
            Some(Published)
        );
        assert_eq!(
            system_transition(Stopped, SystemEvent::SwitchReverted),
            None
        );
        assert_eq!(system_transition(Started, SystemEvent::SwitchFailed), None);
        assert_eq!(system_transition(Stopped, SystemEvent::AllReady), None);
        assert_eq!(system_transition(Starting, SystemEvent::AllGone), None);
    }

    #[test]
    fn routing_follows_status_and_where_the_ingress_points() {
        use crate::Routing;
        assert_eq!(
            Routing::of("v2", Published, Some("v2")),
            Some(Routing::Serving)
        );
        assert_eq!(
            Routing::of("v2", Published, Some("v1")),
            Some(Routing::Switching)
        );
        assert_eq!(Routing::of("v2", Published, None), Some(Routing::Switching));
        assert_eq!(
            Routing::of("v1", Started, Some("v1")),
            Some(Routing::Draining)
        );
        assert_eq!(Routing::of("v1", Started, Some("v2")), None);
        assert_eq!(Routing::of("v1", Stopped, None), None);
        assert!(Action::Publish.changes_traffic() && Action::Unpublish.changes_traffic());
        assert!(!Action::Start.changes_traffic() && !Action::Stop.changes_traffic());
    }

    #[test]
    fn only_a_published_version_is_demoted() {
        assert_eq!(demotion_on_publish(Published).map(|t| t.to), Some(Started));
        for other in Status::ALL.into_iter().filter(|s| *s != Published) {
            assert_eq!(demotion_on_publish(other), None);
        }
    }

    #[test]
    fn available_actions_match_plan() {
        for status in Status::ALL {
            for (action, result) in available_actions(status) {
                assert_eq!(result, plan(status, action));
            }
        }
    }
}
