//! A console over real HTTP, as a browser sees it: signing in, acting on a
//! version and reading the live stream.

use lifecycle::VersionLive;

/// Signs in through the login server function; answers `name=value` of the
/// session cookie.
pub async fn sign_in(http: &reqwest::Client, base: &str, email: &str, password: &str) -> String {
    let response = http
        .post(format!("{base}/api/login"))
        .header("accept", "application/json")
        .form(&[("email", email), ("password", password)])
        .send()
        .await
        .expect("login answers");
    assert!(
        response.status().is_success(),
        "{email}: {}",
        response.status()
    );
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("console_session="))
        .and_then(|c| c.split(';').next())
        .expect("session cookie")
        .to_owned()
}

/// Takes the next complete `version` event out of an SSE `buffer` (other
/// frames are dropped); `None` until a whole one has arrived.
pub fn next_version_event(buffer: &mut String) -> Option<VersionLive> {
    while let Some(end) = buffer.find("\n\n") {
        let frame: String = buffer.drain(..end + 2).collect();
        if !frame
            .lines()
            .any(|l| l.strip_prefix("event:").map(str::trim) == Some("version"))
        {
            continue;
        }
        let data: String = frame
            .lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .map(str::trim_start)
            .collect();
        return Some(serde_json::from_str(&data).expect("a version event holds its state"));
    }
    None
}

/// A lifecycle action through the server function, as the details screen
/// sends it: the answer's status and body, whatever they are.
pub async fn version_action(
    http: &reqwest::Client,
    base: &str,
    cookie: &str,
    (runtime, version): (&str, &str),
    action: &str,
    expected: &str,
    reason: &str,
) -> (reqwest::StatusCode, String) {
    let response = http
        .post(format!("{base}/api/version_action"))
        .header("accept", "application/json")
        .header("cookie", cookie)
        .form(&[
            ("runtime", runtime),
            ("version", version),
            ("action", action),
            ("expected", expected),
            ("reason", reason),
        ])
        .send()
        .await
        .expect("action answers");
    let status = response.status();
    (status, response.text().await.unwrap_or_default())
}

/// A lifecycle action on a version of the demo runtime through the server
/// function, as the details screen sends it; it must be accepted.
pub async fn act(
    http: &reqwest::Client,
    base: &str,
    cookie: &str,
    version: &str,
    action: &str,
    expected: &str,
) {
    let (status, body) = version_action(
        http,
        base,
        cookie,
        ("demo", version),
        action,
        expected,
        "acted over HTTP by a test",
    )
    .await;
    assert!(status.is_success(), "{action} {version}: {status} {body}");
}

/// Schedules `action` on a demo version at `run_at` (RFC 3339) through a
/// replica's server function; answers the scheduled action's id.
pub async fn schedule(
    http: &reqwest::Client,
    base: &str,
    cookie: &str,
    version: &str,
    action: &str,
    run_at: &str,
) -> i64 {
    let response = http
        .post(format!("{base}/api/schedules/create"))
        .header("accept", "application/json")
        .header("cookie", cookie)
        .form(&[
            ("runtime", "demo"),
            ("version", version),
            ("action", action),
            ("run_at", run_at),
            ("reason", "scheduled over HTTP by a test"),
        ])
        .send()
        .await
        .expect("schedule answers");
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    assert!(
        status.is_success(),
        "schedule {action} {version}: {status} {body}"
    );
    serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v["id"].as_i64())
        .unwrap_or_else(|| panic!("a scheduled action's id in {body}"))
}
