//! The process graph: the entrypoint and every process as SVG boxes, in
//! columns by how far each is from its sources, with an edge from each input.
//! Node colours follow the live node states; each box also says its state in
//! words and an icon.

use std::collections::HashMap;

use leptos::prelude::*;
use lifecycle::{NodeState, NodeStatus};

use super::status::node_icon;
use crate::versions::GraphNode;

const NODE_W: f64 = 180.0;
const NODE_H: f64 = 72.0;
const GAP_X: f64 = 70.0;
const GAP_Y: f64 = 24.0;
const PAD: f64 = 12.0;
/// Longest reason shown inside a box; the full text is in its tooltip and
/// in the node table.
const REASON_CHARS: usize = 24;

/// Where each node goes.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    /// `(x, y)` of each node's top-left corner, in the graph's order.
    pub positions: Vec<(f64, f64)>,
    /// `(from, to)` indices, one per input.
    pub edges: Vec<(usize, usize)>,
    pub width: f64,
    pub height: f64,
}

/// Columns by longest path from a node without inputs (the entrypoint is
/// column 0); rows in manifest order. Inputs naming no node are skipped
/// (validation refuses them at registration anyway) and a cycle cannot
/// loop: depths settle after at most one pass per node.
pub fn layout(graph: &[GraphNode]) -> Layout {
    let index: HashMap<&str, usize> = graph
        .iter()
        .enumerate()
        .map(|(i, n)| (n.name.as_str(), i))
        .collect();
    let edges: Vec<(usize, usize)> = graph
        .iter()
        .enumerate()
        .flat_map(|(to, node)| {
            node.inputs
                .iter()
                .filter_map(|input| index.get(input.as_str()).map(|&from| (from, to)))
                .collect::<Vec<_>>()
        })
        .collect();
    let mut depth = vec![0usize; graph.len()];
    for _ in 0..graph.len() {
        let mut changed = false;
        for &(from, to) in &edges {
            if from != to && depth[to] < depth[from] + 1 && depth[from] < graph.len() {
                depth[to] = depth[from] + 1;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    let columns = depth.iter().max().map_or(0, |d| d + 1);
    let mut rows_in = vec![0usize; columns];
    let positions = depth
        .iter()
        .map(|&d| {
            let row = rows_in[d];
            rows_in[d] += 1;
            (
                PAD + d as f64 * (NODE_W + GAP_X),
                PAD + row as f64 * (NODE_H + GAP_Y),
            )
        })
        .collect();
    let rows = rows_in.iter().copied().max().unwrap_or(0);
    Layout {
        positions,
        edges,
        width: 2.0 * PAD + columns as f64 * NODE_W + columns.saturating_sub(1) as f64 * GAP_X,
        height: 2.0 * PAD + rows as f64 * NODE_H + rows.saturating_sub(1) as f64 * GAP_Y,
    }
}

fn edge_path(from: (f64, f64), to: (f64, f64)) -> String {
    let (x1, y1) = (from.0 + NODE_W, from.1 + NODE_H / 2.0);
    let (x2, y2) = (to.0 - 6.0, to.1 + NODE_H / 2.0);
    let bend = ((x2 - x1) / 2.0).max(30.0);
    format!(
        "M{x1},{y1} C{},{y1} {},{y2} {x2},{y2}",
        x1 + bend,
        x2 - bend
    )
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        format!("{}…", text.chars().take(max - 1).collect::<String>())
    }
}

/// The state line of a node: icon, word, replicas.
fn state_line(state: &NodeState) -> String {
    format!(
        "{} {} {}/{}",
        node_icon(state.status),
        state.status,
        state.ready,
        state.desired
    )
}

#[component]
pub fn ProcessGraph(
    graph: Vec<GraphNode>,
    #[prop(into)] nodes: Signal<Vec<NodeState>>,
    selected: RwSignal<Option<String>>,
) -> impl IntoView {
    let layout = layout(&graph);
    let view_box = format!("0 0 {} {}", layout.width, layout.height);
    let edges = layout
        .edges
        .iter()
        .map(|&(from, to)| {
            let d = edge_path(layout.positions[from], layout.positions[to]);
            view! { <path class="edge" d=d marker-end="url(#arrow)"/> }
        })
        .collect_view();
    let boxes = graph
        .into_iter()
        .zip(layout.positions.iter().copied())
        .map(|(node, (x, y))| {
            let name = node.name.clone();
            let desired = node.replicas;
            let state = {
                let name = name.clone();
                move || {
                    nodes.with(|nodes| {
                        let mut state = nodes.iter().find(|n| n.name == name).cloned().unwrap_or(NodeState {
                            name: name.clone(),
                            status: NodeStatus::Stopped,
                            ready: 0,
                            desired,
                            reason: None,
                            message: None,
                        });
                        // Nothing runs when stopped: show what a start asks for.
                        if state.desired == 0 {
                            state.desired = desired;
                        }
                        state
                    })
                }
            };
            let state = Memo::new(move |_| state());
            let status = move || state.with(|s| s.status.as_str());
            let is_selected = {
                let name = name.clone();
                Memo::new(move |_| selected.with(|s| s.as_deref() == Some(name.as_str())))
            };
            let choose = {
                let name = name.clone();
                move || selected.set(Some(name.clone()))
            };
            let choose_key = choose.clone();
            let tooltip = {
                let image = node.image.clone();
                move || {
                    state.with(|s| {
                        let mut text = format!("{}: {} ({image})", s.name, state_line(s));
                        if let Some(reason) = &s.reason {
                            text.push_str(&format!("\n{reason}"));
                        }
                        if let Some(message) = &s.message {
                            text.push_str(&format!(": {message}"));
                        }
                        text
                    })
                }
            };
            view! {
                <g
                    class=move || if is_selected.get() { "node selected" } else { "node" }
                    data-node=name.clone()
                    data-status=status
                    transform=format!("translate({x},{y})")
                    role="button"
                    tabindex="0"
                    aria-label=format!("Logs of {name}")
                    aria-pressed=move || is_selected.get().to_string()
                    on:click=move |_| choose()
                    on:keydown=move |ev| {
                        if ev.key() == "Enter" || ev.key() == " " {
                            ev.prevent_default();
                            choose_key();
                        }
                    }
                >
                    <title>{tooltip}</title>
                    <rect class="node-box" width=NODE_W height=NODE_H rx="8"/>
                    <text class="node-name" x="12" y="22">{truncate(&name, 20)}</text>
                    <text class="node-state" x="12" y="44">{move || state.with(state_line)}</text>
                    <text class="node-reason" x="12" y="62">
                        {move || state.with(|s| s.reason.as_deref().map(|r| truncate(r, REASON_CHARS)).unwrap_or_default())}
                    </text>
                </g>
            }
        })
        .collect_view();

    view! {
        // Its natural width, shrinking with a narrower screen (main.css);
        // an attribute rather than a style: the CSP allows no inline style.
        <svg class="graph" viewBox=view_box role="group" aria-label="Process graph"
            width=layout.width.to_string()>
            <defs>
                <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
                    <path d="M 0 0 L 10 5 L 0 10 z" class="edge-head"/>
                </marker>
            </defs>
            {edges}
            {boxes}
        </svg>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, inputs: &[&str]) -> GraphNode {
        GraphNode {
            name: name.into(),
            image: "img".into(),
            replicas: 1,
            inputs: inputs.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn columns_follow_the_longest_path_and_edges_follow_inputs() {
        let graph = [
            node("entrypoint", &[]),
            node("enrich", &["entrypoint"]),
            node("score", &["enrich", "entrypoint"]),
            node("audit", &["entrypoint"]),
        ];
        let layout = layout(&graph);
        let column = |i: usize| ((layout.positions[i].0 - PAD) / (NODE_W + GAP_X)).round() as usize;
        assert_eq!((column(0), column(1), column(2), column(3)), (0, 1, 2, 1));
        assert_eq!(layout.edges, vec![(0, 1), (1, 2), (0, 2), (0, 3)]);
        // enrich and audit share column 1, one below the other.
        assert_ne!(layout.positions[1].1, layout.positions[3].1);
        assert!(layout.width >= 3.0 * NODE_W && layout.height >= 2.0 * NODE_H);
    }

    #[test]
    fn dangling_inputs_and_cycles_still_lay_out() {
        let graph = [
            node("entrypoint", &[]),
            node("a", &["b", "ghost"]),
            node("b", &["a"]),
        ];
        let layout = layout(&graph);
        assert_eq!(layout.positions.len(), 3);
        assert_eq!(layout.edges.len(), 2);
        assert!(layout.width.is_finite() && layout.height.is_finite());
    }
}
