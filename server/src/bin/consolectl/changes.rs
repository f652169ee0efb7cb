//! Releases and change requests: a runtime's release history, the open
//! requests, and approving or rejecting one with a reason.

use serde_json::{Value, json};

use crate::{
    Output,
    client::{Client, Failure},
    commands::{array, encode},
    output::{field, print},
};

pub async fn releases(
    client: &Client,
    runtime: &str,
    limit: u32,
    out: Output,
) -> Result<(), Failure> {
    let mut releases = Vec::new();
    let mut cursor: Option<String> = None;
    while releases.len() < limit as usize {
        let mut path = format!("/runtimes/{}/releases", encode(runtime));
        if let Some(cursor) = &cursor {
            path.push_str(&format!("?cursor={}", encode(cursor)));
        }
        let page: Value = client.get(&path).await?;
        releases.extend(array(&page["releases"]));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    releases.truncate(limit as usize);
    print(
        out,
        &Value::Array(releases.clone()),
        &releases,
        &[
            ("VERSION", "version"),
            ("BY", "published_by"),
            ("FROM", "started_at"),
            ("UNTIL", "ended_at"),
            ("ENDED", "end_cause"),
            ("BY_NEXT", "superseded_by"),
            ("REASON", "publish_reason"),
        ],
    );
    Ok(())
}

pub async fn approvals(client: &Client, out: Output) -> Result<(), Failure> {
    let open: Value = client.get("/approvals").await?;
    let rows: Vec<Value> = array(&open)
        .into_iter()
        .map(|mut r| {
            let approved = array(&r["decisions"])
                .iter()
                .filter(|d| d["approve"] == true)
                .count();
            r["approvals"] = json!(format!("{approved}/{}", field(&r, "approvals_needed")));
            r
        })
        .collect();
    print(
        out,
        &open,
        &rows,
        &[
            ("ID", "id"),
            ("RUNTIME", "runtime"),
            ("VERSION", "version"),
            ("ACTION", "action"),
            ("BY", "requested_by"),
            ("EXPIRES", "expires_at"),
            ("APPROVED", "approvals"),
            ("REASON", "reason"),
        ],
    );
    Ok(())
}

pub async fn decide(
    client: &Client,
    id: i64,
    approve: bool,
    reason: &str,
    out: Output,
) -> Result<(), Failure> {
    let request: Value = client
        .post_json(
            &format!("/approvals/{id}/decision"),
            &json!({ "approve": approve, "reason": reason }),
        )
        .await?;
    match out {
        Output::Json => print(out, &request, &[], &[]),
        Output::Table => println!(
            "change request #{id} ({} {}/{}): {}{}",
            field(&request, "action"),
            field(&request, "runtime"),
            field(&request, "version"),
            field(&request, "state"),
            request["outcome"]
                .as_str()
                .map(|o| format!(", {o}"))
                .unwrap_or_default()
        ),
    }
    Ok(())
}
