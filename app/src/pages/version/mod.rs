//! `/runtimes/<runtime>/versions/<version>`: a version's status, health,
//! actions, process graph, configuration, node logs and timeline, updated
//! live.
//!
//! Works before the wasm arrives: each action button is a GET form that
//! reloads the page with `?action=<action>`, which renders the reason dialog
//! open, whose form posts to the server function and comes back here.
//! After hydration the same buttons open the dialog in place, and the live
//! stream updates the status and the nodes.

mod actions;
mod bad_mark;
mod configuration;
mod live;
mod nodes;
mod schedules;
mod timeline;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};
#[cfg(feature = "hydrate")]
use lifecycle::VersionLive;
use lifecycle::{Action, Permission, Routing, Status};

use crate::{
    components::{
        PageError, PendingRollbackNotice, ProcessGraph, RollbackButton, RollbackDialog,
        RollbackTarget, StatusBadge, health_class, health_text, short_time,
    },
    error::page_data,
    releases::RollBack,
    versions::{VersionDetails, get_version_details, version_path},
};
use actions::{ActionButtons, Blocks, ReasonDialog, disabled_reason};
use bad_mark::BadMark;
use configuration::Configuration;
#[cfg(feature = "hydrate")]
use live::{Source, apply_update};
use nodes::{NodeLogs, NodeTable};
use schedules::Schedules;
use timeline::Timeline;

#[component]
pub fn VersionPage() -> impl IntoView {
    let params = use_params_map();
    let key = move || {
        params.with(|p| {
            (
                p.get("runtime").unwrap_or_default(),
                p.get("version").unwrap_or_default(),
            )
        })
    };
    // Blocking: the answer decides the page's status code (404 for an
    // unknown version), which must be known before the first byte is sent.
    let details = Resource::new_blocking(key, |(runtime, version)| {
        page_data(get_version_details(runtime, version))
    });
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading the version…"</p> }>
            {move || details.get().map(|answer| match answer {
                Ok(details) => view! { <VersionScreen details/> }.into_any(),
                Err(error) => view! { <PageError title="Version" error/> }.into_any(),
            })}
        </Suspense>
    }
}

#[component]
fn VersionScreen(details: VersionDetails) -> impl IntoView {
    let VersionDetails {
        role,
        description,
        created_at,
        created_by,
        graph,
        published_other,
        bad,
        rollback_to,
        rollback_to_stopped,
        pending_rollback,
        change_requests,
        windows,
        last_override,
        schedules,
        configuration,
        live: initial,
    } = details;
    let bad = RwSignal::new(bad);
    let marked = Signal::derive(move || bad.with(Option::is_some));
    let runtime = initial.runtime.clone();
    let version = initial.version.clone();
    let live = RwSignal::new(initial);
    let published_other = RwSignal::new(published_other);
    let pending_rollback = RwSignal::new(pending_rollback);
    let change_requests = RwSignal::new(change_requests);
    let windows = RwSignal::new(windows);
    let last_override = RwSignal::new(last_override);
    let schedules = RwSignal::new(schedules);
    let configuration = RwSignal::new(configuration);
    let missing = Signal::derive(move || {
        configuration.with(|fields| {
            fields
                .iter()
                .filter(|f| f.missing())
                .map(|f| f.name.clone())
                .collect::<Vec<_>>()
        })
    });
    let window_for = move |action: Action| {
        windows.with_untracked(|w| w.iter().find(|n| n.action == action).cloned())
    };
    // An accepted dialog: a change held for approval changes no status, so
    // the screen asks again for what waits.
    let acted = RwSignal::new(0u32);
    let status = Signal::derive(move || live.with(|l| l.status));
    let nodes = Signal::derive(move || live.with(|l| l.nodes.clone()));
    let stream_state = RwSignal::new("connecting");

    // Every change of status or of routing (from the stream or an action)
    // refreshes the timeline and who else is published; the first render
    // has both. Routing counts: the leader's switch of the Ingress comes
    // after the publish and writes its own entry.
    let status_changes = RwSignal::new(0u32);
    Effect::new(move |previous: Option<(Status, String, Option<Routing>)>| {
        let now = live.with(|l| (l.status, l.status_changed_at.clone(), l.routing));
        if previous.as_ref().is_some_and(|p| *p != now) {
            status_changes.update(|n| *n += 1);
        }
        now
    });
    {
        let (runtime, version) = (runtime.clone(), version.clone());
        let refreshed = Resource::new(
            move || status_changes.get() + acted.get(),
            move |changes| {
                let (runtime, version) = (runtime.clone(), version.clone());
                async move {
                    if changes == 0 {
                        return None;
                    }
                    get_version_details(runtime, version).await.ok()
                }
            },
        );
        Effect::new(move |_| {
            if let Some(Some(fresh)) = refreshed.get() {
                published_other.set(fresh.published_other);
                pending_rollback.set(fresh.pending_rollback);
                change_requests.set(fresh.change_requests);
                windows.set(fresh.windows);
                last_override.set(fresh.last_override);
                schedules.set(fresh.schedules);
                configuration.set(fresh.configuration);
            }
        });
    }

    #[cfg(feature = "hydrate")]
    {
        let url = format!(
            "/api/live/runtimes/{}/versions/{}",
            crate::audit::encode(&runtime),
            crate::audit::encode(&version)
        );
        let stream = crate::live_client::connect(
            url,
            move |update: VersionLive| apply_update(live, update, Source::Stream),
            move |state| stream_state.set(state.as_str()),
        );
        let stream = send_wrapper::SendWrapper::new(stream);
        on_cleanup(move || stream.close());
    }

    // The dialog: open from `?action=` (the no-wasm path) or a button.
    let query = use_query_map();
    let from_url = query
        .with_untracked(|q| q.get("action"))
        .and_then(|a| a.parse::<Action>().ok())
        .filter(|&a| {
            let missing = missing.get_untracked();
            let blocks = Blocks {
                bad: marked.get_untracked(),
                missing: &missing,
            };
            disabled_reason(role, status.get_untracked(), a, blocks).is_none()
        })
        .map(|a| (a, status.get_untracked()));
    let dialog = RwSignal::new(from_url);
    let rollback: RollbackTarget = RwSignal::new(None);
    let roll_back = ServerAction::<RollBack>::new();
    let selected = RwSignal::new(None::<String>);

    let title = version.clone();
    let heading = version.clone();
    let path = version_path(&runtime, &version);
    let can_read_audit = role.allows(Permission::ReadAudit);

    view! {
        <Title text=title/>
        <div class="page" inert=move || dialog.with(Option::is_some) aria-hidden=move || dialog.with(Option::is_some).then_some("true")>
            <nav class="breadcrumbs" aria-label="Breadcrumbs">
                <a href="/runtimes">"Runtimes"</a>
                " / "
                <span>{runtime.clone()}</span>
            </nav>
            <section class="card version-head" aria-labelledby="version-heading">
                <div class="version-title">
                    <h1 id="version-heading">{heading}</h1>
                    <span class="version-status" data-version-status=move || status.get().as_str()>
                        <StatusBadge status/>
                    </span>
                    <span class=move || live.with(|l| health_class(&l.health))>
                        "Health: " {move || live.with(|l| health_text(&l.health))}
                    </span>
                    <span class="live-state" data-live=move || stream_state.get() role="status">
                        {move || match stream_state.get() {
                            "live" => "● Live",
                            "reconnecting" => "Reconnecting…",
                            "ended" => "Not live: sign in again",
                            _ => "Connecting…",
                        }}
                    </span>
                </div>
                {move || live.with(|l| l.routing.zip(l.host.clone())).map(|(routing, host)| view! {
                    <p class=format!("routing routing-{routing}") data-routing=routing.as_str()>
                        {routing.label()} " · "
                        <a href=format!("https://{host}/") data-runtime-host=host.clone()>{host.clone()}</a>
                    </p>
                })}
                <p class="description">{description}</p>
                <p class="muted">
                    {move || live.with(|l| format!(
                        "Status set by {} at {}.",
                        l.status_actor,
                        short_time(&l.status_changed_at)
                    ))}
                    " "
                    {format!("Registered by {created_by} at {}.", short_time(&created_at))}
                </p>
                {move || live.with(|l| l.error_message.clone()).map(|message| view! {
                    <p class="error" data-version-error="">{message}</p>
                })}
                <ActionButtons role status marked missing dialog path=path.clone()/>
                <BadMark role runtime=runtime.clone() version=version.clone() bad/>
                {move || pending_rollback.get().map(|pending| view! { <PendingRollbackNotice pending/> })}
                {move || change_requests.get().into_iter().map(|request| view! {
                    <p class="notice" role="status" data-change-request=request.id.to_string()
                        data-request-state=request.state.clone()>
                        {crate::components::change_request::waiting(&request)} " " <a href="/approvals">"Approvals"</a>
                    </p>
                }).collect_view()}
                {move || last_override.get().map(|o| view! {
                    <p class="notice warning" role="status" data-break-glass="">
                        {format!(
                            "The last action overrode the change window \"{}\" (break-glass): {} by {} at {}: {}",
                            o.window, o.action, o.by, short_time(&o.at), o.reason
                        )}
                    </p>
                })}
                {(role.allows(Permission::Operate)).then_some(rollback_to.clone()).flatten().map(|previous| view! {
                    <Show when=move || status.get() == Status::Published>
                        <p class="rollback">
                            <RollbackButton to=None open=rollback/>
                            " "
                            <span class="muted">{format!("Publishes {previous}, the previous release, again.")}</span>
                        </p>
                    </Show>
                })}
            </section>
            <section class="card" aria-labelledby="graph-heading">
                <h2 id="graph-heading">"Processes"</h2>
                <p class="muted">"Select a node to see its logs."</p>
                <div class="graph-scroll">
                    <ProcessGraph graph=graph.clone() nodes selected/>
                </div>
                <NodeTable graph nodes/>
            </section>
            <Configuration role runtime=runtime.clone() version=version.clone() configuration/>
            <Schedules role runtime=runtime.clone() version=version.clone() schedules acted/>
            <NodeLogs runtime=runtime.clone() version=version.clone() selected status/>
            {can_read_audit.then(|| view! {
                <Timeline runtime=runtime.clone() version=version.clone() status_changes/>
            })}
        </div>
        {let runtime = runtime.clone(); move || rollback.get().map(|to| view! {
            <RollbackDialog runtime=runtime.clone() to fallback=rollback_to.clone().unwrap_or_default()
                stopped=rollback_to_stopped open=rollback roll_back window=window_for(Action::Publish)/>
        })}
        {move || dialog.get().map(|(action, expected)| view! {
            <ReasonDialog
                runtime=runtime.clone()
                version=version.clone()
                action
                expected
                published_other=published_other.get_untracked()
                dialog
                acted
                live
                window=window_for(action)
            />
        })}
    }
    // Erased: the page's full view type is too deep for the compiler.
    .into_any()
}
