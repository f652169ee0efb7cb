//! A version's bad mark on its details screen: shown to everyone, set and
//! cleared (with a reason) by those who may operate. The server refuses to
//! publish a bad version whatever the page shows.

use leptos::prelude::*;
use lifecycle::{MAX_REASON_CHARS, Permission, Role};

use crate::{
    components::short_time,
    versions::{BadMarkView, VersionBadMark},
};

#[component]
pub fn BadMark(
    role: Role,
    runtime: String,
    version: String,
    bad: RwSignal<Option<BadMarkView>>,
) -> impl IntoView {
    let submit = ServerAction::<VersionBadMark>::new();
    let pending = submit.pending();
    Effect::new(move |_| {
        if let Some(Ok(mark)) = submit.value().get() {
            bad.set(mark);
        }
    });
    let error = move || {
        submit
            .value()
            .get()
            .and_then(Result::err)
            .map(|e| e.to_string())
    };
    let may_operate = role.allows(Permission::Operate);
    view! {
        {move || bad.get().map(|mark| view! {
            <p class="error bad-mark" data-version-bad="true">
                {format!("Marked bad by {} at {}: {}", mark.by, short_time(&mark.at), mark.reason)}
            </p>
        })}
        {may_operate.then(|| view! {
            <ActionForm action=submit attr:class="form form-inline bad-mark-form">
                <input type="hidden" name="runtime" value=runtime.clone()/>
                <input type="hidden" name="version" value=version.clone()/>
                <input type="hidden" name="bad" value=move || (bad.with(Option::is_none)).to_string()/>
                <label for="bad-mark-reason">"Reason"</label>
                <input id="bad-mark-reason" name="reason" type="text" required
                    maxlength=MAX_REASON_CHARS.to_string()/>
                <button type="submit" class="button secondary" disabled=move || pending.get()>
                    {move || if bad.with(Option::is_some) { "Clear bad mark" } else { "Mark bad" }}
                </button>
                <span role="alert" class="form-error" data-bad-mark-error="">{error}</span>
            </ActionForm>
        })}
    }
}
