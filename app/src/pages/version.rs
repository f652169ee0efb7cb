//! `/runtimes/<runtime>/versions/<version>`: a version's status, health,
//! actions, process graph, node logs and timeline, updated live.
//!
//! Works before the wasm arrives: each action button is a GET form that
//! reloads the page with `?action=<action>`, which renders the reason dialog
//! open, whose form posts to the server function and comes back here.
//! After hydration the same buttons open the dialog in place, and the live
//! stream updates the status and the nodes.

use leptos::{ev::KeyboardEvent, html, prelude::*};
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};
use lifecycle::{
    Action, MAX_REASON_CHARS, NodeStatus, Permission, Role, Status, VersionLive, available_actions,
};

use crate::{
    components::{ProcessGraph, StatusBadge, health_class, health_text, node_icon, short_time},
    versions::{
        GraphNode, VersionAction, VersionDetails, get_version_details, node_logs, version_path,
        version_timeline,
    },
};

/// Why `action` is not offered to `role` on a version in `status`, or
/// `None` when it is.
pub fn disabled_reason(role: Role, status: Status, action: Action) -> Option<String> {
    if !role.allows(Permission::Operate) {
        return Some(Permission::Operate.refusal().to_owned());
    }
    available_actions(status)
        .into_iter()
        .find(|(a, _)| *a == action)
        .and_then(|(_, plan)| plan.err())
        .map(|refusal| format!("{refusal}."))
}

/// Whether `update` may replace `current`: the live stream and an action's
/// answer race, and an answer computed before the stream's latest event
/// (`starting` arriving after `started`) must not win, or the page would
/// stay behind until the next change.
pub fn is_current(current: &VersionLive, update: &VersionLive) -> bool {
    // Fixed-width UTC timestamps: text order is time order.
    update.status_changed_at >= current.status_changed_at
}

fn apply_update(live: RwSignal<VersionLive>, update: VersionLive) {
    live.update(|current| {
        if is_current(current, &update) {
            *current = update;
        }
    });
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
        get_version_details(runtime, version)
    });
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading the version…"</p> }>
            {move || details.get().map(|answer| match answer {
                Ok(details) => view! { <VersionScreen details/> }.into_any(),
                Err(error) => view! {
                    <Title text="Version"/>
                    <section class="card">
                        <h1>"Version"</h1>
                        <p class="error" role="alert" data-error="">{error.to_string()}</p>
                        <p><a href="/runtimes">"All runtimes"</a></p>
                    </section>
                }.into_any(),
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
        live: initial,
    } = details;
    let runtime = initial.runtime.clone();
    let version = initial.version.clone();
    let live = RwSignal::new(initial);
    let published_other = RwSignal::new(published_other);
    let status = Signal::derive(move || live.with(|l| l.status));
    let nodes = Signal::derive(move || live.with(|l| l.nodes.clone()));
    let stream_state = RwSignal::new("connecting");

    // Every change of status (from the stream or an action) refreshes the
    // timeline and who else is published; the first render has both.
    let status_changes = RwSignal::new(0u32);
    Effect::new(move |previous: Option<(Status, String)>| {
        let now = live.with(|l| (l.status, l.status_changed_at.clone()));
        if previous.as_ref().is_some_and(|p| *p != now) {
            status_changes.update(|n| *n += 1);
        }
        now
    });
    {
        let (runtime, version) = (runtime.clone(), version.clone());
        let refreshed = Resource::new(
            move || status_changes.get(),
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
            move |update: VersionLive| apply_update(live, update),
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
        .filter(|&a| disabled_reason(role, status.get_untracked(), a).is_none())
        .map(|a| (a, status.get_untracked()));
    let dialog = RwSignal::new(from_url);
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
                            _ => "Connecting…",
                        }}
                    </span>
                </div>
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
                <ActionButtons role status dialog path=path.clone()/>
            </section>
            <section class="card" aria-labelledby="graph-heading">
                <h2 id="graph-heading">"Processes"</h2>
                <p class="muted">"Select a node to see its logs."</p>
                <div class="graph-scroll">
                    <ProcessGraph graph=graph.clone() nodes selected/>
                </div>
                <NodeTable graph nodes/>
            </section>
            <NodeLogs runtime=runtime.clone() version=version.clone() selected status/>
            {can_read_audit.then(|| view! {
                <Timeline runtime=runtime.clone() version=version.clone() status_changes/>
            })}
        </div>
        {move || dialog.get().map(|(action, expected)| view! {
            <ReasonDialog
                runtime=runtime.clone()
                version=version.clone()
                action
                expected
                published_other=published_other.get_untracked()
                dialog
                live
            />
        })}
    }
    // Erased: the page's full view type is too deep for the compiler.
    .into_any()
}

#[component]
fn ActionButtons(
    role: Role,
    status: Signal<Status>,
    dialog: RwSignal<Option<(Action, Status)>>,
    path: String,
) -> impl IntoView {
    view! {
        // A plain GET form: without the wasm, a button reloads the page with
        // the dialog open.
        <form method="get" action=path class="actions" aria-label="Actions">
            {Action::ALL.into_iter().map(|action| {
                let why = move || disabled_reason(role, status.get(), action);
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

/// The text list of nodes beside the graph: the same states in words, for
/// screen readers and narrow screens.
#[component]
fn NodeTable(graph: Vec<GraphNode>, nodes: Signal<Vec<lifecycle::NodeState>>) -> impl IntoView {
    view! {
        <div class="table-scroll">
            <table class="table nodes">
                <thead>
                    <tr><th scope="col">"Node"</th><th scope="col">"Image"</th><th scope="col">"State"</th><th scope="col">"Ready"</th><th scope="col">"Reason"</th></tr>
                </thead>
                <tbody>
                    {graph.into_iter().map(|node| {
                        let name = node.name.clone();
                        let state = Memo::new(move |_| {
                            nodes.with(|all| all.iter().find(|n| n.name == name).cloned())
                        });
                        let desired = node.replicas;
                        let status = move || state.with(|s| s.as_ref().map_or(NodeStatus::Stopped, |s| s.status));
                        view! {
                            <tr data-node-row=node.name.clone() class=move || format!("node-row node-{}", status())>
                                <th scope="row">{node.name.clone()}</th>
                                <td><code>{node.image.clone()}</code></td>
                                <td>{move || format!("{} {}", node_icon(status()), status())}</td>
                                <td>{move || state.with(|s| match s {
                                    Some(s) if s.desired > 0 => format!("{}/{}", s.ready, s.desired),
                                    Some(s) => format!("{}/{desired}", s.ready),
                                    None => format!("0/{desired}"),
                                })}</td>
                                <td>{move || state.with(|s| s.as_ref().and_then(|s| match (&s.reason, &s.message) {
                                    (Some(r), Some(m)) => Some(format!("{r}: {m}")),
                                    (Some(r), None) => Some(r.clone()),
                                    _ => None,
                                }).unwrap_or_default())}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

/// How often a running node's logs are fetched again while shown.
const LOG_REFRESH: std::time::Duration = std::time::Duration::from_secs(3);

#[component]
fn NodeLogs(
    runtime: String,
    version: String,
    selected: RwSignal<Option<String>>,
    status: Signal<Status>,
) -> impl IntoView {
    let tick = RwSignal::new(0u32);
    let logs = Resource::new(
        move || (selected.get(), tick.get()),
        move |(node, _)| {
            let (runtime, version) = (runtime.clone(), version.clone());
            async move {
                match node {
                    None => Ok(None),
                    Some(node) => node_logs(runtime, version, node).await.map(Some),
                }
            }
        },
    );
    // Live while running: fetch again every few seconds while a node is
    // shown and the version has pods.
    Effect::new(move |_| {
        let running = status.get().is_running() || status.get() == Status::Starting;
        if selected.with(Option::is_some)
            && running
            && let Ok(handle) =
                set_interval_with_handle(move || tick.update(|t| *t += 1), LOG_REFRESH)
        {
            on_cleanup(move || handle.clear());
        }
    });
    view! {
        {move || selected.get().map(|node| view! {
            <section class="card" aria-labelledby="logs-heading">
                <div class="section-head">
                    <h2 id="logs-heading">{format!("Logs of {node}")}</h2>
                    <button type="button" class="link-button" on:click=move |_| selected.set(None)>"Close logs"</button>
                </div>
                <Transition fallback=|| view! { <p class="muted">"Loading logs…"</p> }>
                    {move || logs.get().map(|answer| match answer {
                        Ok(Some(lines)) if lines.is_empty() => view! {
                            <p class="muted" data-logs="">"No log lines yet."</p>
                        }.into_any(),
                        Ok(Some(lines)) => view! {
                            <pre class="logs" data-logs="">
                                {lines.into_iter().map(|l| format!("{} {} {}\n", short_time(&l.at), l.pod, l.line)).collect::<String>()}
                            </pre>
                        }.into_any(),
                        Ok(None) => ().into_any(),
                        Err(error) => view! { <p class="error">{error.to_string()}</p> }.into_any(),
                    })}
                </Transition>
            </section>
        })}
    }
}

#[component]
fn Timeline(runtime: String, version: String, status_changes: RwSignal<u32>) -> impl IntoView {
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
                                        <span>{row.action.clone()}</span>
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

#[component]
fn ReasonDialog(
    runtime: String,
    version: String,
    action: Action,
    expected: Status,
    published_other: Option<String>,
    dialog: RwSignal<Option<(Action, Status)>>,
    live: RwSignal<VersionLive>,
) -> impl IntoView {
    let submit = ServerAction::<VersionAction>::new();
    let pending = submit.pending();
    let reason_chars = RwSignal::new(0usize);
    let textarea = NodeRef::<html::Textarea>::new();
    let container = NodeRef::<html::Div>::new();
    let close = move || {
        dialog.set(None);
        focus_by_id(&format!("action-{action}"));
    };

    Effect::new(move |_| {
        if let Some(el) = textarea.get() {
            let _ = el.focus();
        }
    });
    Effect::new(move |_| match submit.value().get() {
        Some(Ok(updated)) => {
            apply_update(live, updated);
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
    // On the window, not the dialog: keys count wherever focus is (it can
    // fall to the page's body when the focused button gets disabled).
    let keys = window_event_listener(leptos::ev::keydown, move |ev: KeyboardEvent| {
        match ev.key().as_str() {
            "Escape" => {
                ev.prevent_default();
                close();
            }
            "Tab" => {
                if let Some(el) = container.get_untracked() {
                    trap_focus(&ev, &el);
                }
            }
            _ => {}
        }
    });
    on_cleanup(move || keys.remove());
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

/// Focuses an element once the current update is on screen (the page
/// behind a dialog is inert until the dialog is gone).
#[cfg(feature = "hydrate")]
fn focus_by_id(id: &str) {
    use wasm_bindgen::JsCast;
    let id = id.to_owned();
    request_animation_frame(move || {
        if let Some(el) = document()
            .get_element_by_id(&id)
            .and_then(|el| el.dyn_into::<web_sys::HtmlElement>().ok())
        {
            let _ = el.focus();
        }
    });
}

#[cfg(not(feature = "hydrate"))]
fn focus_by_id(_id: &str) {}

/// Keeps Tab and Shift+Tab inside the dialog.
#[cfg(feature = "hydrate")]
fn trap_focus(ev: &KeyboardEvent, container: &web_sys::HtmlDivElement) {
    use wasm_bindgen::JsCast;
    let Ok(list) = container.query_selector_all("textarea, button:not([disabled]), a[href]") else {
        return;
    };
    let focusable: Vec<web_sys::HtmlElement> = (0..list.length())
        .filter_map(|i| list.get(i))
        .filter_map(|n| n.dyn_into::<web_sys::HtmlElement>().ok())
        .collect();
    let (Some(first), Some(last)) = (focusable.first(), focusable.last()) else {
        return;
    };
    let active = document().active_element();
    let is = |el: &web_sys::HtmlElement| {
        active
            .as_ref()
            .is_some_and(|a| a == el.unchecked_ref::<web_sys::Element>())
    };
    let inside = focusable.iter().any(is);
    if ev.shift_key() && (is(first) || !inside) {
        ev.prevent_default();
        let _ = last.focus();
    } else if !ev.shift_key() && (is(last) || !inside) {
        ev.prevent_default();
        let _ = first.focus();
    }
}

#[cfg(not(feature = "hydrate"))]
fn trap_focus(_ev: &KeyboardEvent, _container: &leptos::web_sys::HtmlDivElement) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn viewers_get_the_role_reason_and_managers_the_status_reason() {
        for action in Action::ALL {
            assert_eq!(
                disabled_reason(Role::Viewer, Status::Started, action).as_deref(),
                Some(Permission::Operate.refusal())
            );
        }
        assert_eq!(
            disabled_reason(Role::Manager, Status::Stopped, Action::Start),
            None
        );
        assert_eq!(
            disabled_reason(Role::Manager, Status::Published, Action::Stop).as_deref(),
            Some("Stop is not possible: the version is published; unpublish it first.")
        );
        assert_eq!(
            disabled_reason(Role::Admin, Status::Started, Action::Publish),
            None
        );
    }

    #[test]
    fn an_older_state_never_replaces_a_newer_one() {
        let at = |status: Status, changed: &str| VersionLive {
            runtime: "demo".into(),
            version: "v1".into(),
            status,
            health: lifecycle::Health::Unknown,
            status_changed_at: changed.into(),
            status_actor: "system".into(),
            error_message: None,
            nodes: Vec::new(),
        };
        let started = at(Status::Started, "2026-11-28T17:24:02.912302Z");
        let starting = at(Status::Starting, "2026-11-28T17:24:01.100000Z");
        assert!(!is_current(&started, &starting), "a late action answer");
        assert!(is_current(&starting, &started));
        // Same status time: node changes come through.
        assert!(is_current(&started, &started.clone()));
    }

    #[test]
    fn publishing_over_another_version_names_it() {
        let text = consequence(Action::Publish, "v2", Some("v1"));
        assert!(text.contains("v1 is published now"), "{text}");
        assert!(!consequence(Action::Publish, "v2", None).contains("published now"));
    }
}
