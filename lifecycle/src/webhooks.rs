//! Webhooks' rules: which audited events an endpoint can subscribe to, the
//! endpoint's address, and how failed deliveries are retried. Sending is the
//! server's; these are shared with the page where admins register endpoints.

text_enum! {
    /// What an endpoint is told about, for its runtime.
    EventKind {
        /// A version's status changed: started, stopped, failed, and the
        /// steps between.
        Status => "version.status",
        /// A version was published or unpublished, rolled back included,
        /// or the traffic switch moved.
        Publish => "version.publish",
        /// A version was registered.
        Register => "version.register",
        /// A change request was opened, approved, rejected, withdrawn or
        /// expired.
        Approval => "change",
    }
}

impl EventKind {
    pub fn label(self) -> &'static str {
        match self {
            Self::Status => "Status changes",
            Self::Publish => "Publishes and rollbacks",
            Self::Register => "Registrations",
            Self::Approval => "Change requests and approvals",
        }
    }

    /// The kind of event an audit entry is, if it is one an endpoint can
    /// subscribe to: only what happened (accepted or completed), never a
    /// denial or a failed attempt that changed nothing.
    pub fn of_entry(
        action: &str,
        outcome: &str,
        status_before: Option<&str>,
        status_after: Option<&str>,
    ) -> Option<Self> {
        if !matches!(outcome, "accepted" | "completed") {
            return None;
        }
        match action {
            "version.publish" | "version.unpublish" | "runtime.routing_switched" => {
                Some(Self::Publish)
            }
            "version.register" => Some(Self::Register),
            a if a.starts_with("change.") => Some(Self::Approval),
            "version.start" | "version.stop" | "version.system_transition"
                if status_after.is_some() && status_after != status_before =>
            {
                Some(Self::Status)
            }
            _ => None,
        }
    }
}

/// Event kinds from a form's or request's list: at least one, each known,
/// each once, in `EventKind::ALL` order.
pub fn event_kinds<S: AsRef<str>>(names: &[S]) -> Result<Vec<EventKind>, String> {
    let mut kinds = Vec::new();
    for name in names {
        let name = name.as_ref().trim();
        let kind: EventKind = name
            .parse()
            .map_err(|_| format!("Events: {name:?} is not an event kind."))?;
        if !kinds.contains(&kind) {
            kinds.push(kind);
        }
    }
    if kinds.is_empty() {
        return Err("Events: choose at least one.".to_owned());
    }
    kinds.sort();
    Ok(kinds)
}

/// The longest endpoint address accepted.
pub const MAX_URL_CHARS: usize = 2048;

/// An endpoint's address, trimmed: an absolute `https://` URL with a host,
/// or `http://` when `allow_http` (outside production). No credentials in
/// it (they would show on every page that lists endpoints) and no fragment.
pub fn endpoint_url(url: &str, allow_http: bool) -> Result<String, String> {
    let url = url.trim();
    if url.is_empty() {
        return Err("URL: required.".to_owned());
    }
    if url.chars().count() > MAX_URL_CHARS {
        return Err(format!("URL: at most {MAX_URL_CHARS} characters."));
    }
    if url.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err("URL: no spaces or control characters.".to_owned());
    }
    let rest = if let Some(rest) = url.strip_prefix("https://") {
        rest
    } else if let Some(rest) = url.strip_prefix("http://") {
        if !allow_http {
            return Err(
                "URL: must start with https:// (plain HTTP is allowed only outside production)."
                    .to_owned(),
            );
        }
        rest
    } else {
        return Err("URL: must start with https://.".to_owned());
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.is_empty() {
        return Err("URL: a host is required.".to_owned());
    }
    if authority.contains('@') {
        return Err(
            "URL: no user name or password in it; the signature authenticates the console."
                .to_owned(),
        );
    }
    if url.contains('#') {
        return Err("URL: no fragment (#…).".to_owned());
    }
    Ok(url.to_owned())
}

/// Tries per delivery before it is given up (and can be sent again by hand).
pub const MAX_ATTEMPTS: u32 = 8;

/// How long to wait after the `attempt`-th failed try (1-based) before the
/// next: `first` doubling each time. With the default 30 s the tries come
/// at 0, 30 s, 1.5, 3.5, 7.5, 15.5, 31.5 and 63.5 minutes.
pub fn retry_delay(attempt: u32, first: std::time::Duration) -> std::time::Duration {
    first.saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
}

/// What the signature covers: the timestamp (Unix seconds, as sent in the
/// `Console-Signature` header), a dot, and the body exactly as sent.
pub fn signed_content(timestamp: i64, body: &str) -> String {
    format!("{timestamp}.{body}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn entries_become_events_only_when_something_happened() {
        use EventKind::*;
        let of = |a, o, b, s| EventKind::of_entry(a, o, b, s);
        assert_eq!(
            of(
                "version.start",
                "accepted",
                Some("stopped"),
                Some("starting")
            ),
            Some(Status)
        );
        assert_eq!(
            of(
                "version.system_transition",
                "completed",
                Some("starting"),
                Some("started")
            ),
            Some(Status)
        );
        assert_eq!(of("version.start", "denied", Some("stopped"), None), None);
        assert_eq!(of("version.start", "failed", None, None), None);
        assert_eq!(
            of(
                "version.system_transition",
                "completed",
                Some("started"),
                Some("started")
            ),
            None
        );
        assert_eq!(of("version.publish", "accepted", None, None), Some(Publish));
        assert_eq!(
            of("version.unpublish", "accepted", None, None),
            Some(Publish)
        );
        assert_eq!(
            of("version.register", "accepted", None, None),
            Some(Register)
        );
        assert_eq!(of("change.approve", "accepted", None, None), Some(Approval));
        assert_eq!(of("auth.login", "accepted", None, None), None);
        assert_eq!(of("token.create", "accepted", None, None), None);
    }

    #[test]
    fn kinds_are_known_at_least_one_and_each_once() {
        assert_eq!(
            event_kinds(&["version.register", "version.status", "version.register"]),
            Ok(vec![EventKind::Status, EventKind::Register])
        );
        assert!(event_kinds::<&str>(&[]).is_err());
        assert!(event_kinds(&["version.exploded"]).is_err());
    }

    #[test]
    fn endpoint_urls_are_https_unless_allowed() {
        assert!(endpoint_url("https://hooks.example.com/console", false).is_ok());
        assert!(endpoint_url("http://127.0.0.1:9000/hook", false).is_err());
        assert!(endpoint_url("http://127.0.0.1:9000/hook", true).is_ok());
        for bad in [
            "",
            "ftp://example.com",
            "https://",
            "https://user:pw@example.com/",
            "https://example.com/a b",
            "https://example.com/#frag",
            "javascript:alert(1)",
        ] {
            assert!(endpoint_url(bad, true).is_err(), "{bad:?}");
        }
        assert!(endpoint_url(&format!("https://e.com/{}", "a".repeat(3000)), true).is_err());
    }

    #[test]
    fn retries_back_off_over_more_than_ten_minutes() {
        let first = Duration::from_secs(30);
        assert_eq!(retry_delay(1, first), Duration::from_secs(30));
        assert_eq!(retry_delay(2, first), Duration::from_secs(60));
        let total: Duration = (1..MAX_ATTEMPTS).map(|n| retry_delay(n, first)).sum();
        const { assert!(MAX_ATTEMPTS >= 5) };
        assert!(total >= Duration::from_secs(600), "{total:?}");
        // Never overflows, however many tries.
        assert!(retry_delay(u32::MAX, first) > Duration::ZERO);
    }
}
