//! `/approvals`: the change requests that are open, each with what it asks
//! for, who asked and why, its approvals and when it expires; `Approve` and
//! `Reject` for those the policy lets decide (never the requester),
//! `Withdraw` for the requester. Each decision takes a reason.

use leptos::{html, prelude::*};
use leptos_meta::Title;
use lifecycle::MAX_REASON_CHARS;

use crate::{
    approvals::{DecideRequest, RequestView, WithdrawRequest, list_requests},
    components::{PageError, change_request::waiting, short_time},
    error::page_data,
    versions::version_path,
};

#[component]
pub fn Approvals() -> impl IntoView {
    let decide = ServerAction::<DecideRequest>::new();
    let withdraw = ServerAction::<WithdrawRequest>::new();
    let requests = Resource::new_blocking(
        move || (decide.version().get(), withdraw.version().get()),
        |_| page_data(list_requests()),
    );
    let error = move || {
        decide
            .value()
            .get()
            .and_then(Result::err)
            .or_else(|| withdraw.value().get().and_then(Result::err))
            .map(|e| e.to_string())
    };
    view! {
        <Title text="Approvals"/>
        <section class="card" aria-labelledby="approvals-heading">
            <h1 id="approvals-heading">"Approvals"</h1>
            <p class="muted">"Changes a runtime's policy holds until enough other people approve them."</p>
            <p role="alert" class="form-error" data-approvals-error="">{error}</p>
            <Transition fallback=|| view! { <p class="muted">"Loading requests…"</p> }>
                {move || requests.get().map(|answer| match answer {
                    Err(error) => view! { <PageError title="Approvals" error/> }.into_any(),
                    Ok(list) if list.is_empty() => view! {
                        <p data-no-requests="">"Nothing waits for approval."</p>
                    }.into_any(),
                    Ok(list) => list.into_iter().map(|request| view! {
                        <RequestCard request decide withdraw/>
                    }).collect_view().into_any(),
                })}
            </Transition>
        </section>
    }
}

#[component]
fn RequestCard(
    request: RequestView,
    decide: ServerAction<DecideRequest>,
    withdraw: ServerAction<WithdrawRequest>,
) -> impl IntoView {
    let reason = NodeRef::<html::Textarea>::new();
    let id = request.id;
    let text = move || reason.get().map(|r| r.value()).unwrap_or_default();
    let decided = request
        .decisions
        .iter()
        .map(|d| {
            format!(
                "{} {} at {}: {}",
                d.by,
                if d.approve { "approved" } else { "rejected" },
                short_time(&d.at),
                d.reason
            )
        })
        .collect::<Vec<_>>();
    let field = format!("request-{id}-reason");
    let pending = Signal::derive(move || decide.pending().get() || withdraw.pending().get());
    view! {
        <article class="request" data-change-request=id.to_string() data-request-state=request.state.clone()
            aria-labelledby=format!("request-{id}-title")>
            <h2 id=format!("request-{id}-title")>
                {format!("{} ", request.action)}
                <a href=version_path(&request.runtime, &request.version)>{format!("{}/{}", request.runtime, request.version)}</a>
                {request.rollback_from.clone().filter(|f| !f.is_empty()).map(|from| format!(" (rollback from {from})"))}
            </h2>
            <p>{waiting(&request)}</p>
            <p class="muted">{format!("Reason: {}", request.reason)}</p>
            <ul class="decisions">{decided.into_iter().map(|d| view! { <li>{d}</li> }).collect_view()}</ul>
            {(request.may_decide || request.may_withdraw).then(|| view! {
                <div class="form">
                    <label for=field.clone()>"Reason"</label>
                    <textarea id=field.clone() rows="2" required maxlength=MAX_REASON_CHARS.to_string() node_ref=reason></textarea>
                    <div class="dialog-buttons">
                        {request.may_decide.then(|| view! {
                            <button type="button" class="button primary" disabled=pending
                                on:click=move |_| { decide.dispatch(DecideRequest { id, approve: true, reason: text() }); }>
                                "Approve"
                            </button>
                            <button type="button" class="button secondary" disabled=pending
                                on:click=move |_| { decide.dispatch(DecideRequest { id, approve: false, reason: text() }); }>
                                "Reject"
                            </button>
                        })}
                        {request.may_withdraw.then(|| view! {
                            <button type="button" class="button secondary" disabled=pending
                                on:click=move |_| { withdraw.dispatch(WithdrawRequest { id, reason: text() }); }>
                                "Withdraw"
                            </button>
                        })}
                    </div>
                </div>
            })}
        </article>
    }
}
