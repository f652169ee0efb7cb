//! A version's scheduled actions on its details screen: what will happen
//! when, who asked and why; scheduling one (the reason is given now) and
//! cancelling a pending one, with a reason. Both forms post without the
//! wasm too; the leader carries the actions out.

use leptos::prelude::*;
use lifecycle::{Action, MAX_REASON_CHARS, Permission, Role};

use crate::{
    components::short_time,
    schedules::{CancelSchedule, ScheduleAction, ScheduleView},
};

#[component]
pub fn Schedules(
    role: Role,
    runtime: String,
    version: String,
    schedules: RwSignal<Vec<ScheduleView>>,
    acted: RwSignal<u32>,
) -> impl IntoView {
    let schedule = ServerAction::<ScheduleAction>::new();
    let cancel = ServerAction::<CancelSchedule>::new();
    Effect::new(move |_| {
        if matches!(schedule.value().get(), Some(Ok(_)))
            || matches!(cancel.value().get(), Some(Ok(_)))
        {
            acted.update(|n| *n += 1);
        }
    });
    let error = |value: Signal<Option<Result<ScheduleView, crate::ConsoleError>>>| {
        move || value.get().and_then(Result::err).map(|e| e.to_string())
    };
    let schedule_error = error(schedule.value().into());
    let cancel_error = error(cancel.value().into());
    let may_operate = role.allows(Permission::Operate);
    let max = MAX_REASON_CHARS.to_string();
    view! {
        <section class="card" aria-labelledby="schedules-heading">
            <h2 id="schedules-heading">"Scheduled actions"</h2>
            <Show
                when=move || schedules.with(|s| !s.is_empty())
                fallback=|| view! { <p class="muted">"Nothing is scheduled."</p> }
            >
                <ul class="schedules">
                    {move || schedules.get().into_iter().map(|s| {
                        let pending = s.state == "pending";
                        let id = s.id.to_string();
                        view! {
                            <li data-scheduled-action=s.id.to_string() data-schedule-state=s.state.clone()>
                                {format!(
                                    "{} at {} (UTC), scheduled by {} at {}: {}",
                                    s.action.label(), short_time(&s.run_at), s.scheduled_by,
                                    short_time(&s.scheduled_at), s.reason
                                )}
                                " · " <strong>{s.state.clone()}</strong>
                                {s.outcome.clone().map(|o| view! { " · " <span class="muted">{o}</span> })}
                                {(pending && may_operate).then(move || view! {
                                    <ActionForm action=cancel attr:class="form form-inline">
                                        <input type="hidden" name="id" value=id.clone()/>
                                        <label for=format!("cancel-reason-{id}")>"Cancel reason"</label>
                                        <input id=format!("cancel-reason-{id}") name="reason" type="text" required/>
                                        <button type="submit" class="button secondary">"Cancel"</button>
                                    </ActionForm>
                                })}
                            </li>
                        }
                    }).collect_view()}
                </ul>
            </Show>
            <p role="alert" class="form-error" data-cancel-error="">{cancel_error}</p>
            {may_operate.then(|| view! {
                <ActionForm action=schedule attr:class="form form-inline schedule-form">
                    <input type="hidden" name="runtime" value=runtime.clone()/>
                    <input type="hidden" name="version" value=version.clone()/>
                    <label for="schedule-action">"Action"</label>
                    <select id="schedule-action" name="action">
                        {Action::ALL.into_iter().map(|a| view! {
                            <option value=a.as_str()>{a.label()}</option>
                        }).collect_view()}
                    </select>
                    <label for="schedule-at">"When (UTC)"</label>
                    <input id="schedule-at" name="run_at" type="datetime-local" required/>
                    <label for="schedule-reason">"Schedule reason"</label>
                    <input id="schedule-reason" name="reason" type="text" required maxlength=max.clone()/>
                    <button type="submit" class="button secondary" disabled=move || schedule.pending().get()>
                        "Schedule"
                    </button>
                    <span role="alert" class="form-error" data-schedule-error="">{schedule_error}</span>
                </ActionForm>
            })}
        </section>
    }
}
