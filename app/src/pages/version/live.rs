//! The version's state on the page: updates from the live stream and from
//! an action's answer race, and only the newer may win.

use leptos::prelude::*;
use lifecycle::VersionLive;

/// Whether `update` may replace `current`: the live stream and an action's
/// answer race, and an answer computed before the stream's latest event
/// (`starting` arriving after `started`) must not win, or the page would
/// stay behind until the next change.
pub fn is_current(current: &VersionLive, update: &VersionLive) -> bool {
    // Fixed-width UTC timestamps: text order is time order.
    update.status_changed_at >= current.status_changed_at
}

pub fn apply_update(live: RwSignal<VersionLive>, update: VersionLive) {
    live.update(|current| {
        if is_current(current, &update) {
            *current = update;
        }
    });
}

#[cfg(test)]
mod tests {
    use lifecycle::Status;

    use super::*;

    #[test]
    fn an_older_state_never_replaces_a_newer_one() {
        let at = |status: Status, changed: &str| VersionLive {
            runtime: "demo".into(),
            version: "v1".into(),
            status,
            health: lifecycle::Health::Unknown,
            status_changed_at: changed.into(),
            status_actor: "system".into(),
            error_message: None,
            nodes: Vec::new(),
            routing: None,
            host: None,
        };
        let started = at(Status::Started, "2026-11-28T17:24:02.912302Z");
        let starting = at(Status::Starting, "2026-11-28T17:24:01.100000Z");
        assert!(!is_current(&started, &starting), "a late action answer");
        assert!(is_current(&starting, &started));
        // Same status time: node changes come through.
        assert!(is_current(&started, &started.clone()));
    }
}
