//! `/audit`, for managers and admins: who did what, when and why. The
//! filters are the URL's parameters, so a filtered view can be shared; the
//! "older" link pages by keyset; the exports take the same filter.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::Form, hooks::use_query_map};
use lifecycle::{AuditAction, Outcome};

use crate::{
    audit::{AuditQuery, AuditRow, audit_entries},
    components::short_time,
    error::page_data,
    versions::version_path,
};

#[component]
pub fn Audit() -> impl IntoView {
    let params = use_query_map();
    let query = Memo::new(move |_| params.with(|p| AuditQuery::from_params(|k| p.get(k))));
    let before =
        Memo::new(move |_| params.with(|p| p.get("before").and_then(|b| b.parse::<i64>().ok())));
    // Blocking: a refusal (403) or a bad filter (422) is the page's status.
    let page = Resource::new_blocking(
        move || (query.get(), before.get()),
        |(query, before)| page_data(audit_entries(query, before)),
    );
    let field = move |name: &'static str| {
        move || {
            query.with(|q| {
                q.fields()
                    .into_iter()
                    .find(|(n, _)| *n == name)
                    .and_then(|(_, v)| v.clone())
                    .unwrap_or_default()
            })
        }
    };
    // A datetime-local input only takes `yyyy-MM-ddThh:mm[:ss]`; anything
    // else stays out of it (the server says what is wrong with it).
    let time_field = move |name: &'static str| {
        let value = field(name);
        move || {
            let value = value();
            let b = value.as_bytes();
            let shaped = (b.len() == 16 || b.len() == 19)
                && b.get(10) == Some(&b'T')
                && b.iter().enumerate().all(|(i, c)| match i {
                    4 | 7 => *c == b'-',
                    10 => *c == b'T',
                    13 | 16 => *c == b':',
                    _ => c.is_ascii_digit(),
                });
            if shaped { value } else { String::new() }
        }
    };
    let export = move |format: &'static str| {
        move || {
            let filter = query.with(AuditQuery::to_query_string);
            if filter.is_empty() {
                format!("/api/audit/export?format={format}")
            } else {
                format!("/api/audit/export?format={format}&{filter}")
            }
        }
    };

    view! {
        <Title text="Audit log"/>
        <section class="card">
            <h1>"Audit log"</h1>
            <Form method="get" action="/audit" attr:class="filters" attr:aria-label="Filters">
                <div class="filter">
                    <label for="filter-user">"User"</label>
                    <input id="filter-user" name="user" type="text" maxlength="254" placeholder="email" value=field("user")/>
                </div>
                <div class="filter">
                    <label for="filter-action">"Action"</label>
                    <select id="filter-action" name="action">
                        <option value="">"Any"</option>
                        {AuditAction::ALL.into_iter().map(|a| {
                            let chosen = field("action");
                            view! { <option value=a.as_str() selected=move || chosen() == a.as_str()>{a.as_str()}</option> }
                        }).collect_view()}
                    </select>
                </div>
                <div class="filter">
                    <label for="filter-runtime">"Runtime"</label>
                    <input id="filter-runtime" name="runtime" type="text" maxlength="254" value=field("runtime")/>
                </div>
                <div class="filter">
                    <label for="filter-version">"Version"</label>
                    <input id="filter-version" name="version" type="text" maxlength="254" value=field("version")/>
                </div>
                <div class="filter">
                    <label for="filter-outcome">"Outcome"</label>
                    <select id="filter-outcome" name="outcome">
                        <option value="">"Any"</option>
                        {Outcome::ALL.into_iter().map(|o| {
                            let chosen = field("outcome");
                            view! { <option value=o.as_str() selected=move || chosen() == o.as_str()>{o.as_str()}</option> }
                        }).collect_view()}
                    </select>
                </div>
                <div class="filter">
                    <label for="filter-from">"From (UTC)"</label>
                    <input id="filter-from" name="from" type="datetime-local" value=time_field("from")/>
                </div>
                <div class="filter">
                    <label for="filter-to">"Before (UTC)"</label>
                    <input id="filter-to" name="to" type="datetime-local" value=time_field("to")/>
                </div>
                <div class="filter-buttons">
                    <button type="submit" class="button">"Apply filters"</button>
                    <a href="/audit" class="button secondary">"Clear filters"</a>
                </div>
            </Form>
            <p class="exports">
                "Export what this filter selects: "
                <a href=export("csv") download="audit.csv" rel="external" data-export="csv">"CSV"</a>
                " · "
                <a href=export("json") download="audit.json" rel="external" data-export="json">"JSON"</a>
            </p>
            <Transition fallback=|| view! { <p class="muted">"Loading entries…"</p> }>
                {move || page.get().map(|answer| match answer {
                    Ok(page) => {
                        let older = page.older.map(|id| {
                            let filter = query.with(AuditQuery::to_query_string);
                            let sep = if filter.is_empty() { "" } else { "&" };
                            format!("/audit?{filter}{sep}before={id}")
                        });
                        let newest = before.get().map(|_| {
                            let filter = query.with(AuditQuery::to_query_string);
                            if filter.is_empty() { "/audit".to_owned() } else { format!("/audit?{filter}") }
                        });
                        view! {
                            <AuditTable rows=page.rows/>
                            <nav class="pager" aria-label="Pages">
                                {newest.map(|href| view! { <a href=href>"Newest entries"</a> })}
                                {older.map(|href| view! { <a href=href rel="next">"Older entries"</a> })}
                            </nav>
                        }.into_any()
                    }
                    Err(error) => {
                                                view! { <p class="error" role="alert" data-error="">{error.to_string()}</p> }.into_any()
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn AuditTable(rows: Vec<AuditRow>) -> impl IntoView {
    if rows.is_empty() {
        return view! { <p class="muted" data-audit-empty="">"No entries match this filter."</p> }
            .into_any();
    }
    view! {
        <div class="table-scroll">
            <table class="table audit">
                <thead>
                    <tr>
                        <th scope="col">"Time"</th>
                        <th scope="col">"User"</th>
                        <th scope="col">"Action"</th>
                        <th scope="col">"Version"</th>
                        <th scope="col">"Reason"</th>
                        <th scope="col">"Outcome"</th>
                        <th scope="col">"Status"</th>
                    </tr>
                </thead>
                <tbody>
                    {rows.into_iter().map(|row| {
                        let target = match (&row.runtime, &row.version) {
                            (Some(rt), Some(v)) => view! { <a href=version_path(rt, v)>{format!("{rt}/{v}")}</a> }.into_any(),
                            (Some(rt), None) => view! { <span>{rt.clone()}</span> }.into_any(),
                            _ => view! { <span class="muted">"—"</span> }.into_any(),
                        };
                        let change = row.status_change();
                        view! {
                            <tr data-audit-id=row.id data-audit-action=row.action.clone() data-audit-outcome=row.outcome.clone()>
                                <td><time datetime=row.at.clone()>{short_time(&row.at)}</time></td>
                                <td>
                                    {row.actor.clone()}
                                    {row.actor_role.clone().map(|r| view! { " " <span class="muted">{format!("({r})")}</span> })}
                                </td>
                                <td title=row.action.clone()>{row.action_words()}</td>
                                <td>{target}</td>
                                <td class="reason-cell">{row.reason.clone().unwrap_or_default()}</td>
                                <td><span class=format!("outcome outcome-{}", row.outcome)>{row.outcome.clone()}</span></td>
                                <td>{change}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}
