//! Content-Security-Policy violation reports from browsers: each one is a
//! script or style the policy blocked in someone's console (an injection
//! attempt, or a change that needs the policy adjusted), logged as a
//! warning with what was blocked and where. Anyone may send one, so only a
//! bounded excerpt of a report is logged and nothing is stored.

use axum::{body::Bytes, http::StatusCode};

/// Most bytes of one field that reach the log.
const EXCERPT: usize = 200;

pub async fn receive(body: Bytes) -> StatusCode {
    let report: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    // `report-uri` sends {"csp-report": {...}}; the Reporting API a list of
    // {"body": {...}}.
    let fields = report
        .get("csp-report")
        .or_else(|| report.get(0).and_then(|r| r.get("body")))
        .unwrap_or(&report);
    let field = |names: &[&str]| {
        names
            .iter()
            .find_map(|name| fields.get(*name).and_then(|v| v.as_str()))
            .map(|v| v.chars().take(EXCERPT).collect::<String>())
            .unwrap_or_default()
    };
    tracing::warn!(
        directive = %field(&["violated-directive", "effectiveDirective"]),
        blocked = %field(&["blocked-uri", "blockedURL"]),
        page = %field(&["document-uri", "documentURL"]),
        sample = %field(&["script-sample", "sample"]),
        "Content-Security-Policy violation reported"
    );
    StatusCode::NO_CONTENT
}
