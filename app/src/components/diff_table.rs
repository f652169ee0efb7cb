//! Fields that differ between two versions, one row each with the value on
//! either side: the diff page's manifest and object sections, and the
//! publish dialog's changes.

use leptos::prelude::*;

use crate::releases::DiffRow;

#[component]
pub fn DiffTable(rows: Vec<DiffRow>, from: String, to: String) -> impl IntoView {
    let show = |value: Option<String>| value.unwrap_or_else(|| "—".into());
    view! {
        <div class="table-scroll">
            <table class="table diff">
                <thead>
                    <tr>
                        <th scope="col">"Field"</th>
                        <th scope="col">{from}</th>
                        <th scope="col">{to}</th>
                    </tr>
                </thead>
                <tbody>
                    {rows.into_iter().map(|c| view! {
                        <tr data-diff-path=c.path.clone() data-diff-kind=c.kind.clone() class=format!("diff-{}", c.kind)>
                            <th scope="row"><code>{c.path.clone()}</code>" "<span class="muted">{c.kind.clone()}</span></th>
                            <td><code>{show(c.from)}</code></td>
                            <td><code>{show(c.to)}</code></td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}
