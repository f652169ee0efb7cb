//! Status and health as text plus an icon: colour is never the only signal.

use leptos::prelude::*;
use lifecycle::{Health, NodeStatus, Status};

pub fn status_icon(status: Status) -> &'static str {
    match status {
        Status::Stopped => "○",
        Status::Starting => "◐",
        Status::Started => "●",
        Status::Stopping => "◑",
        Status::Published => "★",
        Status::Error => "✕",
    }
}

pub fn node_icon(status: NodeStatus) -> &'static str {
    match status {
        NodeStatus::Stopped => "○",
        NodeStatus::Starting => "◐",
        NodeStatus::Ready => "✓",
        NodeStatus::Error => "✕",
    }
}

/// A version's status as a badge.
#[component]
pub fn StatusBadge(#[prop(into)] status: Signal<Status>) -> impl IntoView {
    view! {
        <span class=move || format!("badge status-{}", status.get())>
            <span aria-hidden="true">{move || status_icon(status.get())}</span>
            " "
            {move || status.get().as_str()}
        </span>
    }
}

pub fn health_text(health: &Health) -> String {
    match health {
        Health::Healthy => "healthy".to_owned(),
        Health::Degraded { node, reason } => format!("degraded: {node} ({reason})"),
        Health::Unknown => "—".to_owned(),
    }
}

pub fn health_class(health: &Health) -> &'static str {
    match health {
        Health::Healthy => "health health-healthy",
        Health::Degraded { .. } => "health health-degraded",
        Health::Unknown => "health health-unknown",
    }
}

/// A stored timestamp (`2026-11-28T10:02:03.123456Z`) as people read it.
pub fn short_time(at: &str) -> String {
    match at.get(..19) {
        Some(head) => format!("{} UTC", head.replacen('T', " ", 1)),
        None => at.to_owned(),
    }
}
