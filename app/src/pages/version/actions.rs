//! The four lifecycle actions on the details screen: which ones the caller
//! may take and why not, the buttons, and the reason dialog that carries one
//! out.

use leptos::{html, prelude::*};
use lifecycle::{
    Action, MAX_REASON_CHARS, Permission, Role, Status, VersionLive, available_actions,
};

use super::live::{Source, apply_update};
use crate::{
    components::{BreakGlass, dialog},
    dry_run::{DryRunSection, PublishChanges},
    versions::{VersionAction, version_path},
};

/// What else than the status keeps an action from being offered.
#[derive(Debug, Clone, Copy, Default)]
pub struct Blocks<'a> {
    /// Marked bad: no publish.
    pub bad: bool,
    /// Required variables without a value: no start.
    pub missing: &'a [String],
}

/// Why `action` is not offered to `role` on a version in `status`, or
/// `None` when it is.
pub fn disabled_reason(
    role: Role,
    status: Status,
    action: Action,
    blocks: Blocks<'_>,
) -> Option<String> {
    if !role.allows(Permission::Operate) {
        return Some(Permission::Operate.refusal().to_owned());
    }
    if blocks.bad && action == Action::Publish {
        return Some("Marked bad: clear the mark before publishing it.".to_owned());
    }
    let by_status = available_actions(status)
        .into_iter()
        .find(|(a, _)| *a == action)
        .and_then(|(_, plan)| plan.err())
        .map(|refusal| format!("{refusal}."));
    if by_status.is_none() && action == Action::Start && !blocks.missing.is_empty() {
        return Some(lifecycle::variables::missing_sentence(blocks.missing));
    }
    by_status
}

/// What the dialog says an action will do.
fn consequence(action: Action, version: &str, published_other: Option<&str>) -> String {
    match action {
        Action::Start => format!("Starts every process of {version} in the cluster."),
        Action::Stop => {
            format!("Stops {version}: its pods, services and configuration are removed.")
        }
        Action::Publish => match published_other {
            Some(other) => format!(
                "{version} will receive the runtime's traffic. {other} is published now: it stops receiving traffic and goes back to started."
            ),
            None => format!("{version} will receive the runtime's traffic."),
        },
        Action::Unpublish => {
            format!("{version} stops receiving the runtime's traffic and stays started.")
        }
    }
}

fn pending_label(action: Action) -> &'static str {
    match action {
        Action::Start => "Starting…",
        Action::Stop => "Stopping…",
        Action::Publish => "Publishing…",
        Action::Unpublish => "Unpublishing…",
    }
}

#[component]
pub fn ActionButtons(
    role: Role,
    status: Signal<Status>,
    marked: Signal<bool>,
    /// Required variables without a value.
    missing: Signal<Vec<String>>,
    dialog: RwSignal<Option<(Action, Status)>>,
    path: String,
) -> impl IntoView {
    view! {
        // A plain GET form: without the wasm, a button reloads the page with
        // the dialog open.
        <form method="get" action=path class="actions" aria-label="Actions">
            {Action::ALL.into_iter().map(|action| {
                let why = move || missing.with(|missing| {
                    let blocks = Blocks { bad: marked.get(), missing };
                    disabled_reason(role, status.get(), action, blocks)
                });
                let why_id = format!("why-{action}");
                view! {
                    <div class="action">
                        <button
                            type="submit"
                            id=format!("action-{action}")
                            name="action"
                            value=action.as_str()
                            class="button"
                            disabled=move || why().is_some()
                            aria-describedby=why_id.clone()
                            on:click=move |ev| {
                                ev.prevent_default();
                                dialog.set(Some((action, status.get_untracked())));
                            }
                        >
                            {action.label()}
                        </button>
                        <span class="why muted" id=why_id>{why}</span>
                    </div>
                }
            }).collect_view()}
        </form>
    }
}

#[component]
pub fn ReasonDialog(
    runtime: String,
    version: String,
    action: Action,
    expected: Status,
    published_other: Option<String>,
    dialog: RwSignal<Option<(Action, Status)>>,
    /// Counts accepted dialogs (a change held for approval included).
    acted: RwSignal<u32>,
    live: RwSignal<VersionLive>,
    /// A change window that refuses the action now.
    window: Option<crate::windows::WindowNotice>,
) -> impl IntoView {
    let submit = ServerAction::<VersionAction>::new();
    let pending = submit.pending();
    let reason_chars = RwSignal::new(0usize);
    let textarea = NodeRef::<html::Textarea>::new();
    let container = NodeRef::<html::Div>::new();
    let close = move || {
        dialog.set(None);
        dialog::focus_by_id(&format!("action-{action}"));
    };

    Effect::new(move |_| {
        if let Some(el) = textarea.get() {
            let _ = el.focus();
        }
    });
    Effect::new(move |_| match submit.value().get() {
        Some(Ok(updated)) => {
            apply_update(live, updated, Source::Answer);
            acted.update(|n| *n += 1);
            close();
        }
        // Back to the reason, where the person can correct or cancel (the
        // confirm button lost focus while it was disabled).
        Some(Err(_)) => {
            if let Some(el) = textarea.get() {
                let _ = el.focus();
            }
        }
        None => {}
    });
    let error = move || {
        submit
            .value()
            .get()
            .and_then(Result::err)
            .map(|e| e.to_string())
    };
    dialog::keep_focus_inside(container, close);
    let path = version_path(&runtime, &version);
    let label = action.label();
    let max = MAX_REASON_CHARS;

    view! {
        <div class="dialog-backdrop">
            <div
                class="dialog"
                role="dialog"
                aria-modal="true"
                aria-labelledby="dialog-title"
                aria-describedby="dialog-consequence"
                node_ref=container
            >
                <h2 id="dialog-title">{format!("{label} {version}")}</h2>
                <p id="dialog-consequence" class=if published_other.is_some() && action == Action::Publish { "warning" } else { "" }>
                    {consequence(action, &version, published_other.as_deref())}
                </p>
                <ActionForm action=submit attr:class="form">
                    <input type="hidden" name="runtime" value=runtime.clone()/>
                    <input type="hidden" name="version" value=version.clone()/>
                    <input type="hidden" name="action" value=action.as_str()/>
                    <input type="hidden" name="expected" value=expected.as_str()/>
                    <BreakGlass notice=window/>
                    <label for="action-reason">"Reason"</label>
                    <textarea
                        id="action-reason"
                        name="reason"
                        required
                        autofocus
                        rows="3"
                        maxlength=max.to_string()
                        aria-describedby="reason-count"
                        node_ref=textarea
                        on:input=move |ev| reason_chars.set(event_target_value(&ev).chars().count())
                    ></textarea>
                    <p id="reason-count" class="muted counter">
                        {move || format!("{} / {max} characters", reason_chars.get())}
                    </p>
                    <div role="alert" class="form-error" data-dialog-error="">{error}</div>
                    {matches!(action, Action::Start | Action::Publish).then(|| view! {
                        <DryRunSection runtime=runtime.clone() version=version.clone() action/>
                    })}
                    {published_other.clone().filter(|_| action == Action::Publish).map(|other| view! {
                        <PublishChanges runtime=runtime.clone() from=other to=version.clone()/>
                    })}
                    <div class="dialog-buttons">
                        <a class="button secondary" href=path on:click=move |ev| {
                            ev.prevent_default();
                            close();
                        }>"Cancel"</a>
                        <button type="submit" class="button primary" disabled=move || pending.get() aria-busy=move || pending.get().to_string()>
                            {move || if pending.get() { pending_label(action) } else { label }}
                        </button>
                    </div>
                </ActionForm>
            </div>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn viewers_get_the_role_reason_and_managers_the_status_reason() {
        let none = Blocks::default();
        let bad = Blocks {
            bad: true,
            ..Blocks::default()
        };
        for action in Action::ALL {
            assert_eq!(
                disabled_reason(Role::Viewer, Status::Started, action, none).as_deref(),
                Some(Permission::Operate.refusal())
            );
        }
        assert_eq!(
            disabled_reason(Role::Manager, Status::Stopped, Action::Start, none),
            None
        );
        assert_eq!(
            disabled_reason(Role::Manager, Status::Published, Action::Stop, none).as_deref(),
            Some("Stop is not possible: the version is published; unpublish it first.")
        );
        assert_eq!(
            disabled_reason(Role::Admin, Status::Started, Action::Publish, none),
            None
        );
        let marked = disabled_reason(Role::Manager, Status::Started, Action::Publish, bad);
        assert!(marked.is_some_and(|why| why.contains("Marked bad")));
        assert_eq!(
            disabled_reason(Role::Manager, Status::Started, Action::Stop, bad),
            None
        );
    }

    #[test]
    fn start_names_the_missing_configuration_only_when_the_status_allows_it() {
        let missing = ["DB_URL".to_owned(), "API_KEY".to_owned()];
        let blocks = Blocks {
            missing: &missing,
            ..Blocks::default()
        };
        let why = disabled_reason(Role::Manager, Status::Stopped, Action::Start, blocks)
            .unwrap_or_default();
        assert!(
            why.contains("configuration") && why.contains("DB_URL, API_KEY"),
            "{why}"
        );
        let why = disabled_reason(Role::Manager, Status::Started, Action::Start, blocks)
            .unwrap_or_default();
        assert!(!why.contains("configuration"), "the status says why: {why}");
        assert_eq!(
            disabled_reason(Role::Manager, Status::Started, Action::Stop, blocks),
            None
        );
    }

    #[test]
    fn publishing_over_another_version_names_it() {
        let text = consequence(Action::Publish, "v2", Some("v1"));
        assert!(text.contains("v1 is published now"), "{text}");
        assert!(!consequence(Action::Publish, "v2", None).contains("published now"));
    }
}
