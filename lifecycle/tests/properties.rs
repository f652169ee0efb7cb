//! Random sequences of operator actions and system events over a runtime of
//! several versions never leave the table and never publish two versions.

use lifecycle::{
    Action, Status, SystemEvent, Transition, demotion_on_publish, plan, system_transition,
};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Step {
    Operator(usize, Action),
    System(usize, SystemEvent),
}

fn step(versions: usize) -> impl Strategy<Value = Step> {
    prop_oneof![
        (0..versions, prop::sample::select(Action::ALL.to_vec()))
            .prop_map(|(v, a)| Step::Operator(v, a)),
        (0..versions, prop::sample::select(SystemEvent::ALL.to_vec()))
            .prop_map(|(v, e)| Step::System(v, e)),
    ]
}

/// Every change the table, the system rules or the demotion rule allows.
fn is_allowed_change(from: Status, to: Status) -> bool {
    Action::ALL
        .into_iter()
        .any(|a| plan(from, a).is_ok_and(|t| t.to == to))
        || SystemEvent::ALL
            .into_iter()
            .any(|e| system_transition(from, e).is_some_and(|t| t.to == to))
        || demotion_on_publish(from).is_some_and(|t| t.to == to)
}

fn demote_all_but(runtime: &mut [Status], v: usize) {
    for (i, other) in runtime.iter_mut().enumerate() {
        if i != v
            && let Some(t) = demotion_on_publish(*other)
        {
            *other = t.to;
        }
    }
}

/// Applies one step to the runtime as the server would: one atomic step that
/// may also demote the previously published version.
fn apply(runtime: &mut [Status], step: &Step) {
    match *step {
        Step::Operator(v, action) => {
            if let Ok(Transition { to, .. }) = plan(runtime[v], action) {
                if to == Status::Published {
                    demote_all_but(runtime, v);
                }
                runtime[v] = to;
            }
        }
        Step::System(v, event) => {
            if let Some(t) = system_transition(runtime[v], event) {
                // A reverted switch publishes again in the same step that
                // takes the traffic back from the version that failed it.
                if t.to == Status::Published {
                    demote_all_but(runtime, v);
                }
                runtime[v] = t.to;
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_sequences_stay_in_the_table_with_one_published_at_most(
        versions in 1usize..5,
        steps in prop::collection::vec(step(4), 0..200),
    ) {
        let mut runtime = vec![Status::Stopped; versions];
        for step in steps.iter().filter(|s| match s {
            Step::Operator(v, _) | Step::System(v, _) => *v < versions,
        }) {
            let before = runtime.clone();
            apply(&mut runtime, step);
            for (b, a) in before.iter().zip(&runtime) {
                prop_assert!(b == a || is_allowed_change(*b, *a), "{b} -> {a} via {step:?}");
            }
            let published = runtime.iter().filter(|s| **s == Status::Published).count();
            prop_assert!(published <= 1, "{runtime:?} after {step:?}");
        }
    }

    #[test]
    fn every_status_can_reach_stopped(start in prop::sample::select(Status::ALL.to_vec())) {
        // No stuck states: from anywhere, operator actions and the expected
        // system outcomes lead back to stopped within a few steps.
        let mut status = start;
        for _ in 0..4 {
            if status == Status::Stopped { break; }
            status = match status {
                Status::Published => plan(status, Action::Unpublish).map(|t| t.to).unwrap_or(status),
                Status::Stopping => system_transition(status, SystemEvent::AllGone).map(|t| t.to).unwrap_or(status),
                other => plan(other, Action::Stop).map(|t| t.to).unwrap_or(other),
            };
        }
        prop_assert_eq!(status, Status::Stopped);
    }
}
