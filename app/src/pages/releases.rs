//! `/runtimes/<runtime>/releases`: what served the runtime's traffic when,
//! newest first and paged by keyset (`?before=`), and what served at an
//! instant (`?at=<RFC 3339>`), for everyone signed in. The parameters are the
//! URL's, so an answer ("what was live at 14:05?") can be shared.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{
    components::Form,
    hooks::{use_params_map, use_query_map},
};

use crate::{
    components::{
        PageError, PendingRollbackNotice, RollbackButton, RollbackDialog, RollbackTarget,
        short_time,
    },
    error::page_data,
    releases::{
        ReleaseRow, ReleasesView, RollBack, ServingAnswer, diff_path, releases_path,
        runtime_releases, served_for,
    },
    runtimes::settings_path,
    versions::version_path,
};

#[component]
pub fn ReleasesPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let runtime = move || params.with(|p| p.get("runtime").unwrap_or_default());
    let before =
        Memo::new(move |_| query.with(|q| q.get("before").and_then(|b| b.parse::<i64>().ok())));
    let at = Memo::new(move |_| query.with(|q| q.get("at")));
    let roll_back = ServerAction::<RollBack>::new();
    // Blocking: an unknown runtime (404) or a bad instant (422) is the
    // page's status. A rollback reloads it.
    let page = Resource::new_blocking(
        move || (runtime(), before.get(), at.get(), roll_back.version().get()),
        |(runtime, before, at, _)| page_data(runtime_releases(runtime, before, at)),
    );
    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading releases…"</p> }>
            {move || page.get().map(|answer| match answer {
                Ok(view) => view! { <History view asked=at.get().unwrap_or_default() roll_back/> }.into_any(),
                Err(error) => view! { <PageError title="Releases" error/> }.into_any(),
            })}
        </Transition>
    }
}

#[component]
fn History(view: ReleasesView, asked: String, roll_back: ServerAction<RollBack>) -> impl IntoView {
    let ReleasesView {
        runtime,
        releases,
        older,
        answer,
        may_operate,
        serving,
        previous,
        stopped,
        pending,
        window,
    } = view;
    // The dialog: `Some(None)` rolls back to the previous release,
    // `Some(Some(v))` to an older one with version `v`.
    let open = RwSignal::new(None::<Option<String>>);
    let offer = may_operate
        .then_some(previous.clone())
        .flatten()
        .map(|previous| {
            view! {
                <p class="rollback">
                    <RollbackButton to=None open/>
                    " "
                    <span class="muted">{format!(
                        "Publishes {previous}, the previous release, again{}.",
                        serving.as_ref().map(|s| format!(" in place of {s}")).unwrap_or_default()
                    )}</span>
                </p>
            }
        });
    // Older releases get their own button; the previous and the serving
    // one do not.
    let older_target = {
        let (serving, previous) = (serving.clone(), previous.clone());
        move |version: &str| {
            (may_operate
                && Some(version) != serving.as_deref()
                && Some(version) != previous.as_deref())
            .then(|| version.to_owned())
        }
    };
    let path = releases_path(&runtime);
    let older = older.map(|id| format!("{path}?before={id}"));
    view! {
        <Title text=format!("Releases of {runtime}")/>
        <section class="card" aria-labelledby="releases-heading">
            <h1 id="releases-heading">{format!("Releases of {runtime}")}</h1>
            <p class="muted">
                "Each release is a period during which a version served the runtime's traffic. "
                <a href=settings_path(&runtime)>{format!("Settings of {runtime}")}</a>
            </p>
            <Form method="GET" action=path.clone() attr:class="form form-inline">
                <label for="releases-at">"Serving at (UTC, RFC 3339)"</label>
                <input id="releases-at" name="at" type="text" value=asked
                    placeholder="2026-12-07T14:05:00Z" spellcheck="false"/>
                <button type="submit" class="button">"Look up"</button>
            </Form>
            {answer.map(|answer| view! { <Answer answer runtime=runtime.clone()/> })}
        </section>
        <section class="card" aria-labelledby="history-heading">
            <h2 id="history-heading">"History"</h2>
            {pending.map(|pending| view! { <PendingRollbackNotice pending/> })}
            {offer}
            {if releases.is_empty() {
                view! { <p class="muted" data-no-releases="">"No version has served this runtime yet."</p> }.into_any()
            } else {
                let rows = releases
                    .into_iter()
                    .map(|r| {
                        let target = older_target(&r.version);
                        (r, target)
                    })
                    .collect();
                view! { <ReleaseTable rows runtime=runtime.clone() open with_actions=may_operate/> }.into_any()
            }}
            <nav class="pager" aria-label="Release pages">
                {older.map(|href| view! { <a href=href rel="next">"Older releases"</a> })}
            </nav>
        </section>
        {move || open.get().map(|to| {
            let target = to.clone().or_else(|| previous.clone()).unwrap_or_default();
            let stopped = stopped.contains(&target);
            view! {
                <RollbackDialog runtime=runtime.clone() to fallback=target stopped open roll_back window=window.clone()/>
            }
        })}
    }
}

#[component]
fn Answer(answer: ServingAnswer, runtime: String) -> impl IntoView {
    let at = short_time(&answer.at);
    let text = match (&answer.release, answer.before_runtime) {
        (_, true) => {
            view! { {format!("At {at}, runtime {runtime} did not exist yet.")} }.into_any()
        }
        (None, false) => view! { {format!("At {at}, nothing was serving {runtime}.")} }.into_any(),
        (Some(release), false) => {
            let reason = release
                .publish_reason
                .clone()
                .map(|r| format!(" (reason: {r})"))
                .unwrap_or_default();
            view! {
                {format!("At {at}, ")}
                <a href=version_path(&runtime, &release.version) data-serving-version=release.version.clone()>{release.version.clone()}</a>
                {format!(" was serving, published by {}{reason}.", release.published_by)}
            }
            .into_any()
        }
    };
    view! { <p class="answer" role="status" data-serving-at=answer.at.clone()>{text}</p> }
}

#[component]
fn ReleaseTable(
    /// Each release, with the version a rollback from its row would publish.
    rows: Vec<(ReleaseRow, Option<String>)>,
    runtime: String,
    open: RollbackTarget,
    with_actions: bool,
) -> impl IntoView {
    view! {
        <div class="table-scroll">
            <table class="table">
                <thead>
                    <tr>
                        <th scope="col">"Version"</th>
                        <th scope="col">"Published by"</th>
                        <th scope="col">"Started serving"</th>
                        <th scope="col">"Ended"</th>
                        <th scope="col">"Served for"</th>
                        {with_actions.then(|| view! { <th scope="col">"Roll back to"</th> })}
                    </tr>
                </thead>
                <tbody>
                    {rows.into_iter().map(|(r, target)| {
                        let state = if r.ended_at.is_some() { "ended" } else { "serving" };
                        let ended = match (&r.ended_at, r.end_cause.as_deref()) {
                            (None, _) => "Serving now".to_owned(),
                            (Some(at), Some("superseded")) => format!(
                                "{}: superseded by {}",
                                short_time(at),
                                r.superseded_by.clone().unwrap_or_default()
                            ),
                            (Some(at), Some(cause)) => format!("{}: {cause}", short_time(at)),
                            (Some(at), None) => short_time(at),
                        };
                        let compare = r.superseded_by.clone().map(|next| view! {
                            " " <a href=diff_path(&runtime, &r.version, &next) data-release-diff="">{format!("What changed in {next}")}</a>
                        });
                        let reason = r.publish_reason.clone().unwrap_or_default();
                        let action = with_actions.then(|| view! {
                            <td>{target.map(|to| view! { <RollbackButton to=Some(to) open/> })}</td>
                        });
                        view! {
                            <tr data-release-version=r.version.clone() data-release-state=state>
                                <th scope="row"><a href=version_path(&runtime, &r.version)>{r.version.clone()}</a></th>
                                <td>{r.published_by.clone()}<br/><span class="muted">{reason}</span></td>
                                <td><time datetime=r.started_at.clone()>{short_time(&r.started_at)}</time></td>
                                <td>{ended}{compare}</td>
                                <td>{served_for(r.seconds_served)}</td>
                                {action}
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}
