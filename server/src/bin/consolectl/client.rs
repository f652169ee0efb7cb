//! The REST API over HTTP: JSON in and out, problem details turned into a
//! message and an exit code.

use std::process::ExitCode;

use reqwest::{Method, StatusCode, header};
use serde::de::DeserializeOwned;

/// Why a command did not get done, and the exit code that says so.
#[derive(Debug)]
pub enum Failure {
    /// Refused or failed (exit 1).
    Refused(String),
    /// Wrong use of the command (exit 2).
    Usage(String),
    /// Someone else changed it first (exit 3).
    Conflict(String),
    /// Not in time (exit 4).
    TimedOut(String),
}

impl Failure {
    pub fn report(self) -> ExitCode {
        let (message, code) = match self {
            Self::Refused(m) => (m, 1),
            Self::Usage(m) => (m, 2),
            Self::Conflict(m) => (m, 3),
            Self::TimedOut(m) => (m, 4),
        };
        eprintln!("error: {message}");
        ExitCode::from(code)
    }
}

pub struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Client {
    pub fn new(url: &str, token: &str) -> Result<Self, Failure> {
        let base = url.trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(Failure::Usage(format!(
                "--url {url:?}: expected http:// or https://"
            )));
        }
        let http = reqwest::Client::builder()
            .user_agent(concat!("consolectl/", env!("CARGO_PKG_VERSION")))
            .timeout(std::time::Duration::from_secs(60))
            .build()
            .map_err(|e| Failure::Refused(format!("cannot make an HTTP client: {e}")))?;
        Ok(Self {
            http,
            base,
            token: token.trim().to_owned(),
        })
    }

    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, Failure> {
        self.send(Method::GET, path, None, None).await
    }

    pub async fn post_json<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<T, Failure> {
        let body = body.to_string().into_bytes();
        self.send(Method::POST, path, Some(body), Some("application/json"))
            .await
    }

    pub async fn post_text<T: DeserializeOwned>(
        &self,
        path: &str,
        body: Vec<u8>,
    ) -> Result<T, Failure> {
        self.send(Method::POST, path, Some(body), Some("application/yaml"))
            .await
    }

    /// A DELETE; its answer is usually empty (204).
    pub async fn delete(&self, path: &str) -> Result<(), Failure> {
        self.send::<serde_json::Value>(Method::DELETE, path, None, None)
            .await
            .map(drop)
    }

    async fn send<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
        content_type: Option<&str>,
    ) -> Result<T, Failure> {
        let url = format!("{}/api/v1{path}", self.base);
        let mut request = self
            .http
            .request(method, &url)
            .bearer_auth(&self.token)
            .header(header::ACCEPT, "application/json");
        if let Some(content_type) = content_type {
            request = request.header(header::CONTENT_TYPE, content_type);
        }
        if let Some(body) = body {
            request = request.body(body);
        }
        let response = request
            .send()
            .await
            .map_err(|e| Failure::Refused(format!("cannot reach {}: {e}", self.base)))?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|e| Failure::Refused(format!("the answer did not arrive whole: {e}")))?;
        if status.is_success() {
            // A 204 has no body: read it as JSON's null.
            let text = if text.trim().is_empty() {
                "null"
            } else {
                &text
            };
            return serde_json::from_str(text).map_err(|e| {
                Failure::Refused(format!(
                    "the console answered what this client does not read: {e}"
                ))
            });
        }
        Err(problem(status, &text))
    }
}

/// The failure a problem-details answer describes.
fn problem(status: StatusCode, text: &str) -> Failure {
    let json: serde_json::Value = serde_json::from_str(text).unwrap_or_default();
    let mut message = json["detail"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| format!("the console answered {status}"));
    if let Some(errors) = json["errors"].as_array() {
        for error in errors {
            message.push_str(&format!(
                "\n  {}: {}",
                error["path"].as_str().unwrap_or("?"),
                error["message"].as_str().unwrap_or("?")
            ));
        }
    }
    // Only a race is a conflict (exit 3: look again, then decide); a 409
    // the lifecycle or a policy answers is a refusal like any other.
    match (status, json["type"].as_str()) {
        (StatusCode::CONFLICT, Some("urn:console:problem:conflict")) => Failure::Conflict(message),
        _ => Failure::Refused(message),
    }
}
