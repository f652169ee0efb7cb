//! The `Roll back` button and its reason dialog, on a runtime's release
//! history and on the published version's screen: both call the one
//! rollback server function.

use leptos::{html, prelude::*};

use super::{dialog, status::short_time};
use crate::releases::{PendingRollbackView, RollBack};

/// Which rollback the dialog is for: `Some(None)` to the previous release,
/// `Some(Some(v))` to an older release with version `v`; `None` closed.
pub type RollbackTarget = RwSignal<Option<Option<String>>>;

#[component]
pub fn RollbackButton(to: Option<String>, open: RollbackTarget) -> impl IntoView {
    let id = format!("roll-back-{}", to.clone().unwrap_or_default());
    // The previous release's button is the one named `Roll back`; a row's
    // names its version.
    let label = to.as_ref().map(|v| format!("Roll back to {v}"));
    view! {
        <button type="button" class="button secondary" id=id aria-label=label
            on:click=move |_| open.set(Some(to.clone()))>
            "Roll back"
        </button>
    }
}

#[component]
pub fn RollbackDialog(
    runtime: String,
    to: Option<String>,
    fallback: String,
    /// Whether the target is stopped: it is started first, then published.
    stopped: bool,
    open: RollbackTarget,
    roll_back: ServerAction<RollBack>,
    /// A change window that refuses publishing now.
    window: Option<crate::windows::WindowNotice>,
) -> impl IntoView {
    let container = NodeRef::<html::Div>::new();
    let target = to.clone().unwrap_or(fallback);
    let opener = format!("roll-back-{}", to.clone().unwrap_or_default());
    let close = move || {
        open.set(None);
        dialog::focus_by_id(&opener);
    };
    dialog::keep_focus_inside(container, close.clone());
    let pending = roll_back.pending();
    // Only an answer that comes while this dialog is open closes it.
    let opened_at = roll_back.version().get_untracked();
    Effect::new(move |_| {
        if roll_back.version().get() > opened_at && matches!(roll_back.value().get(), Some(Ok(_))) {
            open.set(None);
        }
    });
    let error = move || {
        (roll_back.version().get() > opened_at)
            .then(|| roll_back.value().get().and_then(Result::err))
            .flatten()
            .map(|e| e.to_string())
    };
    let cancel = close.clone();
    view! {
        <div class="dialog-backdrop">
            <div class="dialog" role="dialog" aria-modal="true" aria-labelledby="rollback-title" node_ref=container>
                <h2 id="rollback-title">{format!("Roll back {runtime} to {target}")}</h2>
                {if stopped {
                    view! {
                        <p data-rollback-stopped="">{format!(
                            "{target} is stopped. It is started first and published once every node is ready; the version serving now keeps the traffic meanwhile."
                        )}</p>
                    }.into_any()
                } else {
                    view! { <p>{format!("{target} is published again and takes the runtime's traffic at once.")}</p> }.into_any()
                }}
                <ActionForm action=roll_back attr:class="form">
                    <input type="hidden" name="runtime" value=runtime.clone()/>
                    <input type="hidden" name="to" value=to.clone().unwrap_or_default()/>
                    {stopped.then(|| view! {
                        <label class="checkbox">
                            <input type="checkbox" name="start_first" value="true" checked/>
                            {format!(" Start {target} first, then publish it when it is ready")}
                        </label>
                    })}
                    <super::break_glass::BreakGlass notice=window/>
                    <label for="rollback-reason">"Reason"</label>
                    <textarea id="rollback-reason" name="reason" required autofocus rows="3"></textarea>
                    <div role="alert" class="form-error" data-dialog-error="">{error}</div>
                    <div class="dialog-buttons">
                        <button type="button" class="button secondary" on:click=move |_| cancel()>"Cancel"</button>
                        <button type="submit" class="button primary" disabled=move || pending.get()>"Roll back"</button>
                    </div>
                </ActionForm>
            </div>
        </div>
    }
}

/// A rollback waiting for its version's start, as the runtime's pages show
/// it until the version is published.
#[component]
pub fn PendingRollbackNotice(pending: PendingRollbackView) -> impl IntoView {
    let PendingRollbackView {
        version,
        from,
        by,
        at,
    } = pending;
    view! {
        <p class="notice" role="status" data-rollback-pending=version.clone()>
            {format!(
                "Rolling back to {version}: it is starting and is published in place of {from} once ready (asked by {by} at {}).",
                short_time(&at)
            )}
        </p>
    }
}
