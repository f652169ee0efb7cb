//! The process nodes in words (a table beside the graph, for screen readers
//! and narrow screens) and the selected node's logs.

use leptos::prelude::*;
use lifecycle::{NodeStatus, Status};

use crate::{
    components::{node_icon, short_time},
    versions::{GraphNode, node_logs},
};

/// The text list of nodes beside the graph: the same states in words, for
/// screen readers and narrow screens.
#[component]
pub fn NodeTable(graph: Vec<GraphNode>, nodes: Signal<Vec<lifecycle::NodeState>>) -> impl IntoView {
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
                                <td data-label="Image"><code>{node.image.clone()}</code></td>
                                <td data-label="State">{move || format!("{} {}", node_icon(status()), status())}</td>
                                <td data-label="Ready">{move || state.with(|s| match s {
                                    Some(s) if s.desired > 0 => format!("{}/{}", s.ready, s.desired),
                                    Some(s) => format!("{}/{desired}", s.ready),
                                    None => format!("0/{desired}"),
                                })}</td>
                                <td data-label="Reason">{move || state.with(|s| s.as_ref().and_then(|s| match (&s.reason, &s.message) {
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
pub fn NodeLogs(
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
