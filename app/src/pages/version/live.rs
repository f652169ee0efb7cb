//! The version's state on the page: updates from the live stream and from
//! an action's answer race, and only the newer may win.

use leptos::prelude::*;
use lifecycle::VersionLive;

/// Where a state comes from: the stream sends every change in order; an
/// action's answer is a snapshot taken when the action was recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Only the browser follows the stream.
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    Stream,
    Answer,
}

/// Whether `update` may replace `current`: the live stream and an action's
/// answer race, and an answer computed before the stream's latest event
/// (`starting` arriving after `started`, or `switching` after the stream
/// said `serving`) must not win, or the page would stay behind until the
/// next change. The stream's own updates with the same status time carry
/// node and routing changes and come through; an answer only replaces a
/// state older than the status it answers.
pub fn is_current(current: &VersionLive, update: &VersionLive, source: Source) -> bool {
    // Fixed-width UTC timestamps: text order is time order.
    match source {
        Source::Stream => update.status_changed_at >= current.status_changed_at,
        Source::Answer => update.status_changed_at > current.status_changed_at,
    }
}

pub fn apply_update(live: RwSignal<VersionLive>, update: VersionLive, source: Source) {
    live.update(|current| {
        if is_current(current, &update, source) {
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
        assert!(
            !is_current(&started, &starting, Source::Answer),
            "a late action answer"
        );
        assert!(!is_current(&started, &starting, Source::Stream));
        assert!(is_current(&starting, &started, Source::Stream));
        assert!(is_current(&starting, &started, Source::Answer));
        // Same status time: the stream's node and routing changes come
        // through; an answer the stream has already overtaken does not.
        assert!(is_current(&started, &started.clone(), Source::Stream));
        let mut serving = at(Status::Published, "2026-11-28T17:24:05.000000Z");
        serving.routing = Some(lifecycle::Routing::Serving);
        let mut switching = serving.clone();
        switching.routing = Some(lifecycle::Routing::Switching);
        assert!(!is_current(&serving, &switching, Source::Answer));
    }
}
