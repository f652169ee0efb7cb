//! A runtime's webhooks: list, add (the secret is printed this once),
//! remove, the delivery log, and sending a delivery again.

use serde_json::{Value, json};

use crate::{
    Output,
    client::{Client, Failure},
    commands::{array, encode},
    output::{field, print},
};

fn base(runtime: &str) -> String {
    format!("/runtimes/{}/webhooks", encode(runtime))
}

fn rows(webhooks: &Value) -> Vec<Value> {
    array(webhooks)
        .into_iter()
        .map(|mut w| {
            let events: Vec<String> = array(&w["events"])
                .iter()
                .filter_map(|e| e.as_str().map(str::to_owned))
                .collect();
            w["events"] = json!(events.join(","));
            w
        })
        .collect()
}

pub async fn list(client: &Client, runtime: &str, out: Output) -> Result<(), Failure> {
    let webhooks: Value = client.get(&base(runtime)).await?;
    print(
        out,
        &webhooks,
        &rows(&webhooks),
        &[
            ("ID", "id"),
            ("URL", "url"),
            ("EVENTS", "events"),
            ("PENDING", "pending"),
            ("FAILED", "failed"),
            ("BY", "created_by"),
        ],
    );
    Ok(())
}

pub async fn add(
    client: &Client,
    runtime: &str,
    url: &str,
    events: &[String],
    out: Output,
) -> Result<(), Failure> {
    if events.is_empty() {
        return Err(Failure::Usage(
            "name at least one --event: version.status, version.publish, version.register or change".into(),
        ));
    }
    let added: Value = client
        .post_json(&base(runtime), &json!({ "url": url, "events": events }))
        .await?;
    match out {
        Output::Json => print(out, &added, &[], &[]),
        Output::Table => {
            println!(
                "added webhook #{} for {runtime}: {}",
                field(&added["webhook"], "id"),
                field(&added["webhook"], "url")
            );
            println!(
                "signing secret (shown this once): {}",
                field(&added, "secret")
            );
        }
    }
    Ok(())
}

pub async fn remove(client: &Client, runtime: &str, id: i64) -> Result<(), Failure> {
    client.delete(&format!("{}/{id}", base(runtime))).await?;
    println!("removed webhook #{id} of {runtime}");
    Ok(())
}

pub async fn deliveries(
    client: &Client,
    runtime: &str,
    id: i64,
    out: Output,
) -> Result<(), Failure> {
    let log: Value = client
        .get(&format!("{}/{id}/deliveries", base(runtime)))
        .await?;
    print(
        out,
        &log,
        &array(&log),
        &[
            ("ID", "id"),
            ("EVENT", "event_id"),
            ("KIND", "kind"),
            ("STATE", "state"),
            ("TRIES", "attempts"),
            ("LAST_TRY", "last_attempt_at"),
            ("STATUS", "last_status"),
            ("ERROR", "last_error"),
        ],
    );
    Ok(())
}

pub async fn resend(
    client: &Client,
    runtime: &str,
    id: i64,
    delivery: i64,
    out: Output,
) -> Result<(), Failure> {
    let queued: Value = client
        .post_json(
            &format!("{}/{id}/deliveries/{delivery}/resend", base(runtime)),
            &json!({}),
        )
        .await?;
    match out {
        Output::Json => print(out, &queued, &[], &[]),
        Output::Table => println!(
            "delivery #{delivery} of webhook #{id}: {}",
            field(&queued, "state")
        ),
    }
    Ok(())
}
