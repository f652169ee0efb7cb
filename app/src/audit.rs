//! The `/audit` page's data: filters that live in the URL (so a filtered view
//! can be shared), keyset pages newest first, and the rows the page and a
//! version's timeline show.

// `read_audit_page` takes one argument per filter field; the server macro
// generates functions an item-level allow does not reach.
#![allow(clippy::too_many_arguments)]

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::ConsoleError;

/// Rows per `/audit` page.
pub const PAGE_ROWS: u32 = 50;
/// Longest accepted filter value (emails are at most 254 characters).
pub const MAX_FILTER_CHARS: usize = 254;

/// One audit entry as people read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRow {
    pub id: i64,
    pub at: String,
    /// The user's email, or `system`.
    pub actor: String,
    pub actor_role: Option<String>,
    pub action: String,
    pub runtime: Option<String>,
    pub version: Option<String>,
    pub reason: Option<String>,
    pub outcome: String,
    pub status_before: Option<String>,
    pub status_after: Option<String>,
}

impl AuditRow {
    /// `started → published`, or the one status known, or nothing.
    pub fn status_change(&self) -> String {
        match (&self.status_before, &self.status_after) {
            (Some(b), Some(a)) if b != a => format!("{b} → {a}"),
            (Some(s), _) | (None, Some(s)) => s.clone(),
            (None, None) => String::new(),
        }
    }

    /// The action in words ("System: started"); the code is the fallback
    /// for a name this build does not know.
    pub fn action_words(&self) -> String {
        self.action
            .parse::<lifecycle::AuditAction>()
            .map(|action| action.describe(self.status_after.as_deref()))
            .unwrap_or_else(|_| self.action.clone())
    }
}

/// What `/audit` selects: each field narrows it. The same names are the
/// page's URL parameters and the export endpoint's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditQuery {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    /// From this time on (UTC, `2026-11-28` or `2026-11-28T10:00`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Before this time (UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
}

impl AuditQuery {
    /// Field names in URL order, with their values.
    pub fn fields(&self) -> [(&'static str, &Option<String>); 7] {
        [
            ("user", &self.user),
            ("action", &self.action),
            ("runtime", &self.runtime),
            ("version", &self.version),
            ("outcome", &self.outcome),
            ("from", &self.from),
            ("to", &self.to),
        ]
    }

    /// Builds the query from URL parameters; blank values mean "any".
    pub fn from_params(get: impl Fn(&str) -> Option<String>) -> Self {
        let value = |name: &str| {
            get(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        Self {
            user: value("user"),
            action: value("action"),
            runtime: value("runtime"),
            version: value("version"),
            outcome: value("outcome"),
            from: value("from"),
            to: value("to"),
        }
    }

    /// `user=...&action=...` of the set fields, percent-encoded.
    pub fn to_query_string(&self) -> String {
        self.fields()
            .into_iter()
            .filter_map(|(name, value)| value.as_ref().map(|v| format!("{name}={}", encode(v))))
            .collect::<Vec<_>>()
            .join("&")
    }

    pub fn is_empty(&self) -> bool {
        self.fields().iter().all(|(_, v)| v.is_none())
    }
}

/// Percent-encodes all but RFC 3986's unreserved characters.
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// One page of `/audit`, newest first; `older` is the cursor of the next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPage {
    pub rows: Vec<AuditRow>,
    pub older: Option<i64>,
}

/// Entries matching `query`, strictly older than entry `before` when given.
pub async fn audit_entries(
    query: AuditQuery,
    before: Option<i64>,
) -> Result<AuditPage, ConsoleError> {
    let AuditQuery {
        user,
        action,
        runtime,
        version,
        outcome,
        from,
        to,
    } = query;
    read_audit_page(user, action, runtime, version, outcome, from, to, before).await
}

/// The filter's fields are separate arguments so that each may be absent
/// from the form-encoded call (a nested struct could not be).
#[server(endpoint = "audit")]
pub async fn read_audit_page(
    user: Option<String>,
    action: Option<String>,
    runtime: Option<String>,
    version: Option<String>,
    outcome: Option<String>,
    from: Option<String>,
    to: Option<String>,
    before: Option<i64>,
) -> Result<AuditPage, ConsoleError> {
    use crate::server::{require, unavailable};
    use lifecycle::Permission;

    let (services, _) = require(Permission::ReadAudit, None).await?;
    let query = AuditQuery {
        user,
        action,
        runtime,
        version,
        outcome,
        from,
        to,
    };
    let filter = ssr::filter(&query).map_err(ConsoleError::Invalid)?;
    let page = backend::audit::query(&services.db, &filter, before, PAGE_ROWS)
        .await
        .map_err(unavailable)?;
    Ok(AuditPage {
        rows: page.entries.into_iter().map(AuditRow::from).collect(),
        older: page.next_before,
    })
}

#[cfg(feature = "ssr")]
pub mod ssr {
    use backend::audit::{Entry, Filter};
    use lifecycle::{AuditAction, Outcome};

    use super::{AuditQuery, AuditRow, MAX_FILTER_CHARS};

    impl From<Entry> for AuditRow {
        fn from(e: Entry) -> Self {
            Self {
                id: e.id,
                at: e.at,
                actor: e.actor_email.unwrap_or_else(|| e.actor_kind.clone()),
                actor_role: e.actor_role,
                action: e.action,
                runtime: e.runtime,
                version: e.version,
                reason: e.reason,
                outcome: e.outcome,
                status_before: e.status_before,
                status_after: e.status_after,
            }
        }
    }

    /// A time bound as typed (`2026-11-28`, `2026-11-28T10:00`, or the
    /// log's full form): digits and separators only, so it compares as time
    /// against the log's fixed-width timestamps.
    fn time_bound(name: &str, value: &str) -> Result<String, String> {
        let well_formed = value.len() >= 4
            && value.len() <= 32
            && value.bytes().take(4).all(|b| b.is_ascii_digit())
            && value
                .bytes()
                .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b':' | b'.' | b'T' | b'Z'));
        if well_formed {
            // A trailing Z adds nothing: every entry is UTC.
            Ok(value.trim_end_matches('Z').to_owned())
        } else {
            Err(format!(
                "{name}: expected a UTC time such as 2026-11-28 or 2026-11-28T10:00."
            ))
        }
    }

    /// The store's filter, or a message naming the bad field.
    pub fn filter(query: &AuditQuery) -> Result<Filter, String> {
        // Blank fields (an untouched form input) mean "any".
        let query = &AuditQuery::from_params(|name| {
            query
                .fields()
                .into_iter()
                .find(|(field, _)| *field == name)
                .and_then(|(_, value)| value.clone())
        });
        for (name, value) in query.fields() {
            if value
                .as_ref()
                .is_some_and(|v| v.chars().count() > MAX_FILTER_CHARS)
            {
                return Err(format!("{name}: at most {MAX_FILTER_CHARS} characters."));
            }
        }
        let action = query
            .action
            .as_deref()
            .map(|a| {
                a.parse::<AuditAction>()
                    .map_err(|_| format!("action: unknown action {a:?}."))
            })
            .transpose()?;
        let outcome = query
            .outcome
            .as_deref()
            .map(|o| {
                o.parse::<Outcome>().map_err(|_| {
                    format!("outcome: expected accepted, denied, failed or completed, not {o:?}.")
                })
            })
            .transpose()?;
        Ok(Filter {
            actor_email: query.user.clone(),
            action,
            runtime: query.runtime.clone(),
            version: query.version.clone(),
            outcome,
            from: query
                .from
                .as_deref()
                .map(|v| time_bound("from", v))
                .transpose()?,
            to: query
                .to
                .as_deref()
                .map(|v| time_bound("to", v))
                .transpose()?,
        })
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn filters_parse_and_name_the_bad_field() {
            let query = AuditQuery {
                user: Some("manager@example.com".into()),
                action: Some("version.publish".into()),
                outcome: Some("accepted".into()),
                from: Some("2026-11-28T10:00".into()),
                ..Default::default()
            };
            let filter = filter(&query).expect("valid");
            assert_eq!(filter.action, Some(AuditAction::Publish));
            assert_eq!(filter.outcome, Some(Outcome::Accepted));
            assert_eq!(filter.from.as_deref(), Some("2026-11-28T10:00"));

            let bad_action = AuditQuery {
                action: Some("version.delete".into()),
                ..Default::default()
            };
            assert!(filter_err(&bad_action).starts_with("action:"));
            let bad_time = AuditQuery {
                to: Some("yesterday'; --".into()),
                ..Default::default()
            };
            assert!(filter_err(&bad_time).starts_with("to:"));
            let long = AuditQuery {
                user: Some("a".repeat(MAX_FILTER_CHARS + 1)),
                ..Default::default()
            };
            assert!(filter_err(&long).starts_with("user:"));
        }

        fn filter_err(query: &AuditQuery) -> String {
            filter(query).expect_err("refused")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_strings_encode_and_parse_back() {
        let query = AuditQuery {
            user: Some("a+b@example.com".into()),
            version: Some("v 1&x=2".into()),
            ..Default::default()
        };
        let text = query.to_query_string();
        assert_eq!(text, "user=a%2Bb%40example.com&version=v%201%26x%3D2");
        let decoded: std::collections::HashMap<String, String> = text
            .split('&')
            .map(|pair| {
                let (k, v) = pair.split_once('=').expect("pair");
                (k.to_owned(), percent_decode(v))
            })
            .collect();
        assert_eq!(AuditQuery::from_params(|k| decoded.get(k).cloned()), query);
        assert!(AuditQuery::from_params(|_| Some("  ".into())).is_empty());
    }

    #[test]
    fn status_changes_read_as_from_to() {
        let row = |before: Option<&str>, after: Option<&str>| AuditRow {
            id: 1,
            at: String::new(),
            actor: "system".into(),
            actor_role: None,
            action: "version.start".into(),
            runtime: None,
            version: None,
            reason: None,
            outcome: "accepted".into(),
            status_before: before.map(Into::into),
            status_after: after.map(Into::into),
        };
        assert_eq!(
            row(Some("stopped"), Some("starting")).status_change(),
            "stopped → starting"
        );
        assert_eq!(row(None, Some("stopped")).status_change(), "stopped");
        assert_eq!(
            row(Some("started"), Some("started")).status_change(),
            "started"
        );
        assert_eq!(row(None, None).status_change(), "");
    }

    fn percent_decode(value: &str) -> String {
        let bytes = value.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).expect("utf8");
                out.push(u8::from_str_radix(hex, 16).expect("hex"));
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8(out).expect("utf8")
    }
}
