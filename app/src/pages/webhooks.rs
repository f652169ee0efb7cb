//! `/runtimes/<runtime>/webhooks`: a runtime's webhook endpoints, for
//! admins (add, with the signing secret shown once; remove), and
//! `/runtimes/<runtime>/webhooks/<id>`: an endpoint's delivery log, each
//! delivery with its state, tries, last error and "Send again".

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;
use lifecycle::webhooks::EventKind;

use crate::{
    components::{PageError, short_time},
    error::page_data,
    runtimes::settings_path,
    webhooks::{
        CreateWebhook, DeleteWebhook, DeliveryRow, ResendDelivery, WebhookRow, deliveries_path,
        field_of_kind, list_webhooks, webhook_deliveries, webhooks_path,
    },
};

fn first_error<const N: usize>(errors: [Option<crate::ConsoleError>; N]) -> Option<String> {
    errors.into_iter().flatten().next().map(|e| e.to_string())
}

#[component]
pub fn WebhooksPage() -> impl IntoView {
    let params = use_params_map();
    let runtime = move || params.with(|p| p.get("runtime").unwrap_or_default());
    let create = ServerAction::<CreateWebhook>::new();
    let delete = ServerAction::<DeleteWebhook>::new();
    let list = Resource::new_blocking(
        move || (runtime(), create.version().get(), delete.version().get()),
        |(runtime, _, _)| page_data(list_webhooks(runtime)),
    );
    let error = move || {
        first_error([
            create.value().get().and_then(Result::err),
            delete.value().get().and_then(Result::err),
        ])
    };
    let created = move || create.value().get().and_then(Result::ok);
    view! {
        <Title text=move || format!("Webhooks of {}", runtime())/>
        <nav class="breadcrumbs" aria-label="Breadcrumbs">
            <a href="/runtimes">"Runtimes"</a>" / "
            <a href=move || settings_path(&runtime())>{runtime}</a>" / Webhooks"
        </nav>
        <Transition fallback=|| view! { <p class="muted">"Loading webhooks…"</p> }>
            {move || list.get().map(|answer| match answer {
                Err(error) => view! { <PageError title="Webhooks" error/> }.into_any(),
                Ok(rows) => view! {
                    <section class="card" aria-labelledby="webhooks-heading">
                        <h1 id="webhooks-heading">{format!("Webhooks of {}", runtime())}</h1>
                        <p class="muted">
                            "Each event is sent as JSON, signed with HMAC-SHA256 over the timestamp and the body (the Console-Signature header), and retried with backoff until the endpoint answers 2xx."
                        </p>
                        <div role="alert" class="form-error">{error}</div>
                        {created().map(|new| view! {
                            <div class="notice" role="status" data-webhook-created=new.row.url.clone()>
                                <p>"Webhook added. Copy its signing secret now: it is not shown again."</p>
                                <code data-webhook-secret="">{new.secret}</code>
                            </div>
                        })}
                        <WebhookTable rows delete/>
                    </section>
                }.into_any(),
            })}
        </Transition>
        <section class="card" aria-labelledby="webhook-new-heading">
            <h2 id="webhook-new-heading">"New webhook"</h2>
            <ActionForm action=create attr:class="form">
                <input type="hidden" name="runtime" value=runtime/>
                <label for="webhook-url">"URL"</label>
                <input id="webhook-url" name="url" type="url" required maxlength="2048" placeholder="https://hooks.example.com/console"/>
                <fieldset>
                    <legend>"Events"</legend>
                    {EventKind::ALL.into_iter().map(|kind| view! {
                        <label class="checkbox">
                            <input type="checkbox" name=format!("events[{}]", field_of_kind(kind)) value="on" checked=kind == EventKind::Status/>
                            {kind.label()}
                        </label>
                    }).collect_view()}
                </fieldset>
                <button type="submit" class="button">"Add webhook"</button>
            </ActionForm>
        </section>
    }
}

#[component]
fn WebhookTable(rows: Vec<WebhookRow>, delete: ServerAction<DeleteWebhook>) -> impl IntoView {
    if rows.is_empty() {
        return view! { <p class="muted" data-webhooks-empty="">"No webhooks."</p> }.into_any();
    }
    view! {
        <div class="table-scroll">
            <table class="table" data-webhooks="">
                <thead>
                    <tr>
                        <th scope="col">"URL"</th>
                        <th scope="col">"Events"</th>
                        <th scope="col">"Added"</th>
                        <th scope="col">"Waiting"</th>
                        <th scope="col">"Given up"</th>
                        <th scope="col">"Remove"</th>
                    </tr>
                </thead>
                <tbody>
                    {rows.into_iter().map(|row| {
                        let kinds = row.kinds.iter().map(|k| k.label()).collect::<Vec<_>>().join(", ");
                        let remove_label = format!("Remove {}", row.url);
                        let log = deliveries_path(&row.runtime, row.id);
                        view! {
                            <tr data-webhook=row.url.clone()>
                                <td><a href=log>{row.url.clone()}</a></td>
                                <td>{kinds}</td>
                                <td>{format!("{} by {}", short_time(&row.created_at), row.created_by)}</td>
                                <td data-webhook-pending=row.pending>{row.pending}</td>
                                <td data-webhook-failed=row.failed>{row.failed}</td>
                                <td>
                                    <ActionForm action=delete attr:class="inline-form">
                                        <input type="hidden" name="runtime" value=row.runtime.clone()/>
                                        <input type="hidden" name="id" value=row.id/>
                                        <button type="submit" class="button danger" aria-label=remove_label>"Remove"</button>
                                    </ActionForm>
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

#[component]
pub fn DeliveriesPage() -> impl IntoView {
    let params = use_params_map();
    let runtime = move || params.with(|p| p.get("runtime").unwrap_or_default());
    let id = move || {
        params.with(|p| {
            p.get("id")
                .and_then(|id| id.parse::<i64>().ok())
                .unwrap_or(0)
        })
    };
    let resend = ServerAction::<ResendDelivery>::new();
    let log = Resource::new_blocking(
        move || (runtime(), id(), resend.version().get()),
        |(runtime, id, _)| page_data(webhook_deliveries(runtime, id)),
    );
    let error = move || first_error([resend.value().get().and_then(Result::err)]);
    view! {
        <Title text=move || format!("Webhook deliveries of {}", runtime())/>
        <nav class="breadcrumbs" aria-label="Breadcrumbs">
            <a href="/runtimes">"Runtimes"</a>" / "
            <a href=move || settings_path(&runtime())>{runtime}</a>" / "
            <a href=move || webhooks_path(&runtime())>"Webhooks"</a>" / Deliveries"
        </nav>
        <Transition fallback=|| view! { <p class="muted">"Loading deliveries…"</p> }>
            {move || log.get().map(|answer| match answer {
                Err(error) => view! { <PageError title="Webhook" error/> }.into_any(),
                Ok(log) => view! {
                    <section class="card" aria-labelledby="deliveries-heading">
                        <h1 id="deliveries-heading">"Deliveries"</h1>
                        <p><code>{log.webhook.url.clone()}</code></p>
                        <div role="alert" class="form-error">{error}</div>
                        <DeliveryTable runtime=log.webhook.runtime.clone() webhook=log.webhook.id rows=log.deliveries resend/>
                    </section>
                }.into_any(),
            })}
        </Transition>
    }
}

#[component]
fn DeliveryTable(
    runtime: String,
    webhook: i64,
    rows: Vec<DeliveryRow>,
    resend: ServerAction<ResendDelivery>,
) -> impl IntoView {
    if rows.is_empty() {
        return view! { <p class="muted" data-deliveries-empty="">"Nothing sent yet."</p> }
            .into_any();
    }
    view! {
        <div class="table-scroll">
            <table class="table" data-deliveries="">
                <thead>
                    <tr>
                        <th scope="col">"Event"</th>
                        <th scope="col">"Kind"</th>
                        <th scope="col">"State"</th>
                        <th scope="col">"Tries"</th>
                        <th scope="col">"Last try"</th>
                        <th scope="col">"Last error"</th>
                        <th scope="col">"Send again"</th>
                    </tr>
                </thead>
                <tbody>
                    {rows.into_iter().map(|row| {
                        let runtime = runtime.clone();
                        let last = row.last_attempt_at.as_deref().map_or_else(
                            || "not yet".to_owned(),
                            |at| match row.last_status {
                                Some(status) => format!("{} ({status})", short_time(at)),
                                None => short_time(at),
                            },
                        );
                        let next = (row.state == "pending" && row.attempts > 0)
                            .then(|| format!("; next try {}", short_time(&row.next_attempt_at)));
                        view! {
                            <tr data-delivery=row.event_id data-delivery-state=row.state.clone() data-delivery-attempts=row.attempts>
                                <td>{row.event_id}</td>
                                <td>{row.kind.clone()}</td>
                                <td>{row.state.clone()}{next}</td>
                                <td>{row.attempts}</td>
                                <td>{last}</td>
                                <td>{row.last_error.clone().unwrap_or_default()}</td>
                                <td>
                                    <ActionForm action=resend attr:class="inline-form">
                                        <input type="hidden" name="runtime" value=runtime/>
                                        <input type="hidden" name="id" value=webhook/>
                                        <input type="hidden" name="delivery" value=row.id/>
                                        <button type="submit" class="button" aria-label=format!("Send event {} again", row.event_id)>"Send again"</button>
                                    </ActionForm>
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}
