//! One function per command, each a call or two of the REST API.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::{
    ActionArgs, Output,
    client::{Client, Failure},
    output::{field, print},
    span,
};

/// How often `wait` asks for the version's status.
const POLL: Duration = Duration::from_millis(500);

/// `<runtime>/<version>`, each part percent-encoded for a path.
pub fn target(text: &str) -> Result<(String, String), Failure> {
    match text.split_once('/') {
        Some((runtime, version))
            if !runtime.is_empty() && !version.is_empty() && !version.contains('/') =>
        {
            Ok((encode(runtime), encode(version)))
        }
        _ => Err(Failure::Usage(format!(
            "{text:?}: expected <runtime>/<version>, for example demo/v2"
        ))),
    }
}

pub fn encode(part: &str) -> String {
    form_urlencoded::byte_serialize(part.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}

pub fn array(value: &Value) -> Vec<Value> {
    value.as_array().cloned().unwrap_or_default()
}

pub async fn runtimes(client: &Client, out: Output) -> Result<(), Failure> {
    let list: Value = client.get("/runtimes").await?;
    print(
        out,
        &list,
        &array(&list),
        &[
            ("NAME", "name"),
            ("SERVING", "serving"),
            ("HOST", "host"),
            ("DESCRIPTION", "description"),
        ],
    );
    Ok(())
}

pub async fn versions(client: &Client, runtime: Option<&str>, out: Output) -> Result<(), Failure> {
    let runtimes = match runtime {
        Some(runtime) => vec![runtime.to_owned()],
        None => {
            let list: Value = client.get("/runtimes").await?;
            array(&list).iter().map(|r| field(r, "name")).collect()
        }
    };
    let mut all = Vec::new();
    for runtime in runtimes {
        let list: Value = client
            .get(&format!("/runtimes/{}/versions", encode(&runtime)))
            .await?;
        all.extend(array(&list));
    }
    let json = Value::Array(all.clone());
    print(
        out,
        &json,
        &all,
        &[
            ("RUNTIME", "runtime"),
            ("VERSION", "name"),
            ("STATUS", "status"),
            ("SERVING", "serving"),
            ("CHANGED", "status_changed_at"),
            ("BY", "status_actor"),
        ],
    );
    Ok(())
}

pub async fn show(client: &Client, target_text: &str, out: Output) -> Result<(), Failure> {
    let (runtime, version) = target(target_text)?;
    let detail: Value = client
        .get(&format!("/runtimes/{runtime}/versions/{version}"))
        .await?;
    match out {
        Output::Json => print(out, &detail, &[], &[]),
        Output::Table => {
            for (label, key) in [
                ("Runtime", "runtime"),
                ("Version", "name"),
                ("Status", "status"),
                ("Serving", "serving"),
                ("Changed", "status_changed_at"),
                ("By", "status_actor"),
            ] {
                println!("{label:<8} {}", field(&detail, key));
            }
            println!("Health   {}", field(&detail["live"], "health"));
            println!();
            let nodes = array(&detail["live"]["nodes"]);
            print(
                out,
                &detail,
                &nodes,
                &[
                    ("NODE", "name"),
                    ("STATUS", "status"),
                    ("READY", "ready"),
                    ("DESIRED", "desired"),
                ],
            );
        }
    }
    Ok(())
}

pub async fn register(
    client: &Client,
    file: &str,
    runtime: &str,
    out: Output,
) -> Result<(), Failure> {
    let manifest = if file == "-" {
        let mut text = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut text)
            .map_err(|e| Failure::Usage(format!("cannot read standard input: {e}")))?;
        text
    } else {
        std::fs::read(file).map_err(|e| Failure::Usage(format!("cannot read {file}: {e}")))?
    };
    let registered: Value = client
        .post_text(&format!("/runtimes/{}/versions", encode(runtime)), manifest)
        .await?;
    match out {
        Output::Json => print(out, &registered, &[], &[]),
        Output::Table => println!(
            "registered {}/{} ({})",
            field(&registered, "runtime"),
            field(&registered, "name"),
            field(&registered, "status")
        ),
    }
    Ok(())
}

pub async fn act(
    client: &Client,
    action: &str,
    args: &ActionArgs,
    out: Output,
) -> Result<(), Failure> {
    let (runtime, version) = target(&args.target)?;
    let path = format!("/runtimes/{runtime}/versions/{version}");
    let expected = match &args.expected {
        Some(expected) => expected.clone(),
        None => field(&client.get::<Value>(&path).await?, "status"),
    };
    let answer: Value = client
        .post_json(
            &format!("{path}/actions"),
            &json!({
                "action": action,
                "expected": expected,
                "reason": args.reason,
                "break_glass": args.break_glass,
            }),
        )
        .await?;
    match out {
        Output::Json => print(out, &answer, &[], &[]),
        Output::Table => match answer["outcome"].as_str() {
            Some("requested") => println!(
                "{} {}: held for approval as change request #{}",
                action,
                args.target,
                field(&answer["change_request"], "id")
            ),
            _ => println!(
                "{} {}: {} -> {}",
                action,
                args.target,
                field(&answer, "from"),
                field(&answer, "status")
            ),
        },
    }
    Ok(())
}

pub async fn wait(
    client: &Client,
    target_text: &str,
    status: &str,
    timeout: &str,
    out: Output,
) -> Result<(), Failure> {
    let (runtime, version) = target(target_text)?;
    let timeout = span::parse(timeout).map_err(|e| Failure::Usage(format!("--timeout {e}")))?;
    let path = format!("/runtimes/{runtime}/versions/{version}");
    let deadline = Instant::now() + timeout;
    loop {
        let detail: Value = client.get(&path).await?;
        let now = field(&detail, "status");
        if now == status {
            match out {
                Output::Json => print(out, &detail, &[], &[]),
                Output::Table => println!("{target_text} is {now}"),
            }
            return Ok(());
        }
        if now == "error" && status != "error" {
            return Err(Failure::Refused(format!(
                "{target_text} is in error: {}",
                field(&detail["live"], "error_message")
            )));
        }
        if Instant::now() + POLL > deadline {
            return Err(Failure::TimedOut(format!(
                "{target_text} is still {now}, not {status}, after {}s",
                timeout.as_secs()
            )));
        }
        tokio::time::sleep(POLL).await;
    }
}

pub struct AuditFilter {
    pub since: Option<String>,
    pub runtime: Option<String>,
    pub version: Option<String>,
    pub action: Option<String>,
    pub user: Option<String>,
    pub limit: u32,
}

pub async fn audit(client: &Client, filter: AuditFilter, out: Output) -> Result<(), Failure> {
    let mut query = form_urlencoded::Serializer::new(String::new());
    if let Some(since) = &filter.since {
        let span = span::parse(since).map_err(|e| Failure::Usage(format!("--since {e}")))?;
        let from = chrono::Utc::now()
            - chrono::Duration::from_std(span)
                .map_err(|_| Failure::Usage(format!("--since {since:?} is too long")))?;
        query.append_pair("from", &from.format("%Y-%m-%dT%H:%M:%S").to_string());
    }
    for (key, value) in [
        ("runtime", &filter.runtime),
        ("version", &filter.version),
        ("action", &filter.action),
        ("user", &filter.user),
    ] {
        if let Some(value) = value {
            query.append_pair(key, value);
        }
    }
    let query = query.finish();
    let mut entries = Vec::new();
    let mut cursor: Option<String> = None;
    while entries.len() < filter.limit as usize {
        let want = (filter.limit as usize - entries.len()).min(500);
        let mut path = format!("/audit?{query}&limit={want}");
        if let Some(cursor) = &cursor {
            path.push_str(&format!("&cursor={}", encode(cursor)));
        }
        let page: Value = client.get(&path).await?;
        entries.extend(array(&page["entries"]));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    entries.truncate(filter.limit as usize);
    let json = Value::Array(entries.clone());
    print(
        out,
        &json,
        &entries,
        &[
            ("AT", "at"),
            ("ACTOR", "actor"),
            ("ACTION", "action"),
            ("RUNTIME", "runtime"),
            ("VERSION", "version"),
            ("OUTCOME", "outcome"),
            ("REASON", "reason"),
        ],
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_runtime_slash_version() {
        assert_eq!(
            target("demo/v2").ok(),
            Some(("demo".to_owned(), "v2".to_owned()))
        );
        assert!(matches!(target("demo"), Err(Failure::Usage(_))));
        assert!(matches!(target("/v2"), Err(Failure::Usage(_))));
        assert!(matches!(target("a/b/c"), Err(Failure::Usage(_))));
        assert_eq!(
            target("my rt/v 1").ok().map(|t| t.0),
            Some("my%20rt".to_owned())
        );
    }
}
