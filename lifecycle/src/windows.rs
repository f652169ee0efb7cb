//! Change windows: when a runtime's versions may change. Allow windows
//! (weekly, in a named IANA time zone) say when actions may happen at all;
//! freezes (one instant to another, or weekly) say when they may not. An
//! action refused by a window is told the window's title and when it
//! reopens; an admin (or a manager, if the runtime says so) may override
//! with a reason, which the audit log marks as `break_glass`.
//!
//! The types are plain data, shared with the browser; reading the clock
//! and the time-zone database (`clock` feature) stays on the server.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::Action;

pub const MAX_WINDOWS: usize = 20;
pub const MAX_TITLE_CHARS: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChangeWindows {
    /// The actions the windows govern (a rollback is a publish).
    pub actions: BTreeSet<Action>,
    pub windows: Vec<Window>,
    /// Whether managers, not only admins, may override a window.
    pub managers_may_override: bool,
}

impl Default for ChangeWindows {
    fn default() -> Self {
        Self {
            actions: BTreeSet::from([Action::Publish, Action::Unpublish]),
            windows: Vec::new(),
            managers_may_override: false,
        }
    }
}

/// One window. Times of day are `HH:MM`, local to `time_zone`, from
/// inclusive to exclusive, on the same day; instants are RFC 3339.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Window {
    /// Actions happen only inside an allow window (when there is one).
    Allow {
        title: String,
        days: BTreeSet<Day>,
        from: String,
        to: String,
        time_zone: String,
    },
    /// No action from one instant to another.
    Freeze {
        title: String,
        from: String,
        to: String,
    },
    /// No action on these days between these times, every week.
    WeeklyFreeze {
        title: String,
        days: BTreeSet<Day>,
        from: String,
        to: String,
        time_zone: String,
    },
}

impl ChangeWindows {
    /// Whether someone with `role` may override a closed window.
    pub fn may_override(&self, role: crate::Role) -> bool {
        match role {
            crate::Role::Admin => true,
            crate::Role::Manager => self.managers_may_override,
            crate::Role::Viewer => false,
        }
    }
}

impl Window {
    pub fn title(&self) -> &str {
        match self {
            Self::Allow { title, .. }
            | Self::Freeze { title, .. }
            | Self::WeeklyFreeze { title, .. } => title,
        }
    }
}

text_enum! {
    /// A day of the week.
    Day {
        Mon => "mon",
        Tue => "tue",
        Wed => "wed",
        Thu => "thu",
        Fri => "fri",
        Sat => "sat",
        Sun => "sun",
    }
}

/// Why an action may not happen now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Closed {
    /// The window that refuses: the freeze, or the allow window that opens
    /// next.
    pub title: String,
    /// Inside a freeze (rather than outside every allow window).
    pub frozen: bool,
    /// When the action may happen again, RFC 3339 UTC; `None` if never
    /// within a year.
    pub reopens_at: Option<String>,
}

impl std::fmt::Display for Closed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.frozen {
            write!(f, "The freeze \"{}\" is on", self.title)?;
        } else {
            write!(f, "Outside the change window \"{}\"", self.title)?;
        }
        match &self.reopens_at {
            Some(at) => write!(f, ": changes reopen at {at}."),
            None => f.write_str(": changes do not reopen within a year."),
        }
    }
}

/// Parses `HH:MM` (00:00 to 23:59) into minutes since midnight.
pub fn minutes_of_day(text: &str) -> Option<u32> {
    let (h, m) = text.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60).then_some(h * 60 + m)
}

#[cfg(feature = "clock")]
mod clock {
    //! Evaluating windows against an instant, with the IANA time-zone
    //! database: the local time of a weekly window is resolved per day, so
    //! 09:00 in Europe/Madrid is 08:00 UTC in winter and 07:00 in summer.

    use chrono::{
        DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveTime, TimeZone, Timelike, Utc,
        Weekday,
    };
    use chrono_tz::Tz;

    use super::{ChangeWindows, Closed, Day, MAX_TITLE_CHARS, MAX_WINDOWS, Window, minutes_of_day};
    use crate::{Action, problems::Errors};

    /// How far ahead a reopening is looked for.
    const HORIZON_DAYS: i64 = 366;

    fn weekday(day: Day) -> Weekday {
        match day {
            Day::Mon => Weekday::Mon,
            Day::Tue => Weekday::Tue,
            Day::Wed => Weekday::Wed,
            Day::Thu => Weekday::Thu,
            Day::Fri => Weekday::Fri,
            Day::Sat => Weekday::Sat,
            Day::Sun => Weekday::Sun,
        }
    }

    /// A weekly span, read.
    struct Weekly {
        days: Vec<Weekday>,
        from: NaiveTime,
        to: NaiveTime,
        tz: Tz,
    }

    fn time(minutes: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(minutes / 60, minutes % 60, 0).unwrap_or(NaiveTime::MIN)
    }

    impl Weekly {
        fn read(
            days: &std::collections::BTreeSet<Day>,
            from: &str,
            to: &str,
            tz: &str,
        ) -> Option<Self> {
            Some(Self {
                days: days.iter().copied().map(weekday).collect(),
                from: time(minutes_of_day(from)?),
                to: time(minutes_of_day(to)?),
                tz: tz.parse().ok()?,
            })
        }

        /// The instant a local time on `date` names: in a gap (clocks
        /// going forward) the first instant after it, in an overlap the
        /// earlier of the two.
        fn instant(&self, date: NaiveDate, at: NaiveTime) -> DateTime<Utc> {
            let local = date.and_time(at);
            let mut probe = local;
            for _ in 0..4 {
                match self.tz.from_local_datetime(&probe) {
                    LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => {
                        return t.with_timezone(&Utc);
                    }
                    LocalResult::None => probe += Duration::minutes(30),
                }
            }
            Utc.from_utc_datetime(&local)
        }

        /// The occurrence containing `now`: its end.
        fn active_until(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
            let local = now.with_timezone(&self.tz);
            let date = local.date_naive();
            let start = self.instant(date, self.from);
            let end = self.instant(date, self.to);
            (self.days.contains(&local.weekday()) && start <= now && now < end).then_some(end)
        }

        /// The first start after `now`.
        fn next_start(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
            let today = now.with_timezone(&self.tz).date_naive();
            (0..=7).find_map(|d| {
                let date = today + Duration::days(d);
                let start = self.instant(date, self.from);
                (self.days.contains(&date.weekday()) && start > now).then_some(start)
            })
        }
    }

    fn instant(text: &str) -> Option<DateTime<Utc>> {
        DateTime::parse_from_rfc3339(text)
            .ok()
            .map(|t| t.with_timezone(&Utc))
    }

    impl ChangeWindows {
        /// Why `action` may not happen at `now`, or `None` when it may.
        pub fn closed(&self, action: Action, now: DateTime<Utc>) -> Option<Closed> {
            if !self.actions.contains(&action) || self.windows.is_empty() {
                return None;
            }
            let (title, frozen) = self.refusal(now)?;
            Some(Closed {
                title,
                frozen,
                reopens_at: self.reopens(now).map(|t| {
                    t.with_nanosecond(0)
                        .unwrap_or(t)
                        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                }),
            })
        }

        /// The window refusing at `t`, and whether it is a freeze; with
        /// the end of that freeze, or the next allow window's start.
        fn blocked(&self, t: DateTime<Utc>) -> Option<(String, bool, Option<DateTime<Utc>>)> {
            for window in &self.windows {
                let until = match window {
                    Window::Freeze { from, to, .. } => match (instant(from), instant(to)) {
                        (Some(from), Some(to)) if from <= t && t < to => Some(to),
                        _ => None,
                    },
                    Window::WeeklyFreeze {
                        days,
                        from,
                        to,
                        time_zone,
                        ..
                    } => Weekly::read(days, from, to, time_zone).and_then(|w| w.active_until(t)),
                    Window::Allow { .. } => None,
                };
                if let Some(until) = until {
                    return Some((window.title().to_owned(), true, Some(until)));
                }
            }
            let allows: Vec<(&Window, Weekly)> = self
                .windows
                .iter()
                .filter_map(|w| match w {
                    Window::Allow {
                        days,
                        from,
                        to,
                        time_zone,
                        ..
                    } => Weekly::read(days, from, to, time_zone).map(|weekly| (w, weekly)),
                    _ => None,
                })
                .collect();
            if allows.is_empty() || allows.iter().any(|(_, w)| w.active_until(t).is_some()) {
                return None;
            }
            let next = allows
                .iter()
                .filter_map(|(window, w)| w.next_start(t).map(|at| (at, window.title())))
                .min_by_key(|(at, _)| *at);
            let title = next
                .map(|(_, title)| title)
                .or_else(|| allows.first().map(|(w, _)| w.title()))
                .unwrap_or_default();
            Some((title.to_owned(), false, next.map(|(at, _)| at)))
        }

        fn refusal(&self, now: DateTime<Utc>) -> Option<(String, bool)> {
            self.blocked(now).map(|(title, frozen, _)| (title, frozen))
        }

        /// The first instant from `now` at which nothing refuses: past
        /// each freeze's end and to each allow window's start in turn,
        /// since one may end inside another.
        fn reopens(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
            let horizon = now + Duration::days(HORIZON_DAYS);
            let mut t = now;
            for _ in 0..(4 * MAX_WINDOWS + 16) {
                match self.blocked(t) {
                    None => return Some(t),
                    Some((_, _, Some(next))) if next > t && next < horizon => t = next,
                    Some(_) => return None,
                }
            }
            None
        }

        /// Every problem of the windows at `path`.
        pub(crate) fn validate(&self, path: &str, errors: &mut Errors) {
            if self.actions.is_empty() {
                errors.push(format!("{path}.actions"), "name at least one action");
            }
            if self.windows.len() > MAX_WINDOWS {
                errors.push(
                    format!("{path}.windows"),
                    format!("at most {MAX_WINDOWS} windows"),
                );
            }
            for (i, window) in self.windows.iter().enumerate() {
                let at = format!("{path}.windows[{i}]");
                let title = window.title().trim();
                if title.is_empty() || title.chars().count() > MAX_TITLE_CHARS {
                    errors.push(
                        format!("{at}.title"),
                        format!("must be 1 to {MAX_TITLE_CHARS} characters"),
                    );
                }
                match window {
                    Window::Allow {
                        days,
                        from,
                        to,
                        time_zone,
                        ..
                    }
                    | Window::WeeklyFreeze {
                        days,
                        from,
                        to,
                        time_zone,
                        ..
                    } => {
                        if days.is_empty() {
                            errors.push(format!("{at}.days"), "name at least one day (mon to sun)");
                        }
                        if time_zone.parse::<Tz>().is_err() {
                            errors.push(
                                format!("{at}.time_zone"),
                                "must be an IANA time zone such as Europe/Madrid",
                            );
                        }
                        match (minutes_of_day(from), minutes_of_day(to)) {
                            (Some(f), Some(t)) if f < t => {}
                            (Some(_), Some(_)) => errors
                                .push(format!("{at}.to"), "must be after from, on the same day"),
                            (f, t) => {
                                for (field, value) in [("from", f), ("to", t)] {
                                    if value.is_none() {
                                        errors.push(
                                            format!("{at}.{field}"),
                                            "must be a time of day HH:MM",
                                        );
                                    }
                                }
                            }
                        }
                    }
                    Window::Freeze { from, to, .. } => match (instant(from), instant(to)) {
                        (Some(f), Some(t)) if f < t => {}
                        (Some(_), Some(_)) => errors.push(format!("{at}.to"), "must be after from"),
                        (f, t) => {
                            for (field, value) in [("from", f), ("to", t)] {
                                if value.is_none() {
                                    errors.push(
                                        format!("{at}.{field}"),
                                        "must be an RFC 3339 instant such as 2026-12-20T00:00:00Z",
                                    );
                                }
                            }
                        }
                    },
                }
            }
        }
    }
}

#[cfg(all(test, feature = "clock"))]
mod tests {
    use chrono::{DateTime, Utc};

    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .map(|t| t.with_timezone(&Utc))
            .expect("a test instant")
    }

    fn office_hours() -> Window {
        Window::Allow {
            title: "Office hours".into(),
            days: [Day::Mon, Day::Tue, Day::Wed, Day::Thu, Day::Fri].into(),
            from: "09:00".into(),
            to: "17:00".into(),
            time_zone: "Europe/Madrid".into(),
        }
    }

    fn windows(list: Vec<Window>) -> ChangeWindows {
        ChangeWindows {
            windows: list,
            ..ChangeWindows::default()
        }
    }

    // Madrid moves from CET (UTC+1) to CEST (UTC+2) on Sunday 29 March
    // 2026: 09:00 local is 08:00 UTC on the Friday before and 07:00 UTC on
    // the Monday after.
    #[test]
    fn an_allow_window_follows_local_time_across_the_daylight_saving_change() {
        let w = windows(vec![office_hours()]);
        let closed = |t: &str| w.closed(Action::Publish, at(t));
        assert_eq!(closed("2026-03-27T08:30:00Z"), None, "09:30 CET, Friday");
        assert_eq!(closed("2026-03-27T15:59:59Z"), None, "16:59:59 CET");
        assert_eq!(closed("2026-03-30T07:30:00Z"), None, "09:30 CEST, Monday");
        let early = closed("2026-03-27T07:30:00Z").expect("08:30 CET is before the window");
        assert_eq!(early.title, "Office hours");
        assert!(!early.frozen);
        assert_eq!(early.reopens_at.as_deref(), Some("2026-03-27T08:00:00Z"));
        let evening = closed("2026-03-27T16:00:00Z").expect("17:00 CET closes it");
        assert_eq!(
            evening.reopens_at.as_deref(),
            Some("2026-03-30T07:00:00Z"),
            "Monday 09:00 is summer time"
        );
        assert!(closed("2026-03-30T15:30:00Z").is_some(), "17:30 CEST");
        assert!(closed("2026-03-29T10:00:00Z").is_some(), "a Sunday");
        assert_eq!(
            w.closed(Action::Start, at("2026-03-29T10:00:00Z")),
            None,
            "start is not governed by default"
        );
        assert_eq!(
            early.to_string(),
            "Outside the change window \"Office hours\": changes reopen at 2026-03-27T08:00:00Z."
        );
    }

    #[test]
    fn a_freeze_refuses_with_its_title_and_reopens_into_the_next_allow_window() {
        let freeze = Window::Freeze {
            title: "Year-end freeze".into(),
            from: "2026-12-20T00:00:00Z".into(),
            to: "2027-01-04T00:00:00Z".into(),
        };
        let w = windows(vec![freeze.clone()]);
        let closed = w
            .closed(Action::Unpublish, at("2026-12-24T12:00:00Z"))
            .expect("inside the freeze");
        assert!(closed.frozen);
        assert_eq!(closed.title, "Year-end freeze");
        assert_eq!(closed.reopens_at.as_deref(), Some("2027-01-04T00:00:00Z"));
        assert_eq!(w.closed(Action::Publish, at("2027-01-04T00:00:00Z")), None);
        // The freeze ends on a Monday at 01:00 Madrid time: the office
        // opens at 09:00 (08:00 UTC in winter).
        let both = windows(vec![freeze, office_hours()]);
        let closed = both
            .closed(Action::Publish, at("2026-12-24T12:00:00Z"))
            .expect("inside the freeze");
        assert_eq!(closed.reopens_at.as_deref(), Some("2027-01-04T08:00:00Z"));
    }

    #[test]
    fn a_weekly_freeze_recurs_in_local_time() {
        let w = windows(vec![Window::WeeklyFreeze {
            title: "Friday afternoons".into(),
            days: [Day::Fri].into(),
            from: "14:00".into(),
            to: "23:59".into(),
            time_zone: "America/New_York".into(),
        }]);
        assert!(
            w.closed(Action::Publish, at("2026-07-03T19:00:00Z"))
                .is_some()
        );
        assert_eq!(w.closed(Action::Publish, at("2026-07-03T17:00:00Z")), None);
        assert_eq!(w.closed(Action::Publish, at("2026-07-04T19:00:00Z")), None);
    }

    #[test]
    fn windows_are_validated_field_by_field() {
        let mut errors = crate::problems::Errors::default();
        windows(vec![
            Window::Allow {
                title: " ".into(),
                days: BTreeSet::new(),
                from: "9am".into(),
                to: "17:00".into(),
                time_zone: "Mars/Olympus".into(),
            },
            Window::Freeze {
                title: "x".into(),
                from: "2027-01-04T00:00:00Z".into(),
                to: "2026-12-20T00:00:00Z".into(),
            },
        ])
        .validate("change_windows", &mut errors);
        let paths: Vec<String> = errors
            .finish()
            .unwrap_err()
            .into_iter()
            .map(|e| e.path)
            .collect();
        assert_eq!(
            paths,
            [
                "change_windows.windows[0].title",
                "change_windows.windows[0].days",
                "change_windows.windows[0].time_zone",
                "change_windows.windows[0].from",
                "change_windows.windows[1].to",
            ]
        );
        let mut fine = crate::problems::Errors::default();
        windows(vec![office_hours()]).validate("change_windows", &mut fine);
        assert!(fine.finish().is_ok());
    }
}
