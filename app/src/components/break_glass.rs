//! A change window that refuses the dialog's action now: what it says,
//! and, for someone allowed to, the break-glass checkbox that overrides it
//! (the server checks both again and audits the override).

use leptos::prelude::*;

use crate::windows::WindowNotice;

#[component]
pub fn BreakGlass(notice: Option<WindowNotice>) -> impl IntoView {
    notice.map(|notice| {
        view! {
            <p class="warning" data-window-closed="">{notice.message}</p>
            {notice.may_override.then(|| view! {
                <label class="checkbox">
                    <input type="checkbox" name="break_glass" value="on"/>
                    " Override the window"
                </label>
            })}
        }
    })
}
