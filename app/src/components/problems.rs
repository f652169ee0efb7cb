//! A refusal shown next to the form that caused it: located problems as a
//! list (each with its field's path), anything else as one message.

use leptos::prelude::*;

use crate::ConsoleError;

#[component]
pub fn Refusal(error: ConsoleError, #[prop(into)] subject: String) -> impl IntoView {
    match error {
        ConsoleError::InvalidFields(problems) => view! {
            <div role="alert" class="form-error">
                <p>{format!("The {subject} has {} problem(s):", problems.len())}</p>
                <ul class="field-errors" data-field-errors="">
                    {problems.into_iter().map(|p| view! {
                        <li><code>{p.path}</code>": "{p.message}</li>
                    }).collect_view()}
                </ul>
            </div>
        }
        .into_any(),
        error => view! { <p role="alert" class="form-error">{error.to_string()}</p> }.into_any(),
    }
}
