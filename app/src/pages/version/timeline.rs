//! The version's timeline: its audit entries, newest first, refreshed at
//! every status change.

use leptos::prelude::*;

use crate::{components::short_time, versions::version_timeline};

#[component]
pub fn Timeline(runtime: String, version: String, status_changes: RwSignal<u32>) -> impl IntoView {
    let entries = Resource::new(
        move || status_changes.get(),
        move |_| version_timeline(runtime.clone(), version.clone()),
    );
    view! {
        <section class="card" aria-labelledby="timeline-heading">
            <h2 id="timeline-heading">"Timeline"</h2>
            <Transition fallback=|| view! { <p class="muted">"Loading the timeline…"</p> }>
                {move || entries.get().map(|answer| match answer {
                    Ok(rows) if rows.is_empty() => view! { <p class="muted">"Nothing recorded yet."</p> }.into_any(),
                    Ok(rows) => view! {
                        <ol class="timeline">
                            {rows.into_iter().map(|row| {
                                let change = row.status_change();
                                view! {
                                    <li data-audit-action=row.action.clone() data-audit-outcome=row.outcome.clone()>
                                        <time datetime=row.at.clone()>{short_time(&row.at)}</time>
                                        " "
                                        <strong>{row.actor.clone()}</strong>
                                        " "
                                        <span title=row.action.clone()>{row.action_words()}</span>
                                        " "
                                        <span class=format!("outcome outcome-{}", row.outcome)>{row.outcome.clone()}</span>
                                        " "
                                        <span class="muted">{change}</span>
                                        {row.reason.clone().map(|r| view! { <q class="reason">{r}</q> })}
                                    </li>
                                }
                            }).collect_view()}
                        </ol>
                    }.into_any(),
                    Err(error) => view! { <p class="error">{error.to_string()}</p> }.into_any(),
                })}
            </Transition>
        </section>
    }
}
