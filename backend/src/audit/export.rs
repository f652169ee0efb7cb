//! Export of what an audit filter selects, as CSV or JSON, streamed page by
//! page (keyset, newest first): memory stays flat however many entries match.

use futures::Stream;

use super::{
    entry::Entry,
    query::{self, Filter},
};
use crate::{db::Database, error::Result};

const EXPORT_PAGE: u32 = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Json,
}

impl std::str::FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        match s {
            "csv" => Ok(Self::Csv),
            "json" => Ok(Self::Json),
            other => Err(format!("unknown export format {other:?} (csv or json)")),
        }
    }
}

impl Format {
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Csv => "text/csv; charset=utf-8",
            Self::Json => "application/json",
        }
    }
}

const CSV_HEADER: &str = "id,at,actor_kind,actor_id,actor_email,actor_role,action,runtime,version,reason,outcome,status_before,status_after,details,prev_hash,hash\n";

/// One CSV field: quoted when it holds a separator, quote or line break, and
/// defused when a spreadsheet would take it for a formula.
fn csv_field(value: &str) -> String {
    let defused;
    let value = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        defused = format!("'{value}");
        defused.as_str()
    } else {
        value
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_owned()
    }
}

fn csv_row(e: &Entry) -> String {
    let opt = |v: &Option<String>| v.as_deref().map(csv_field).unwrap_or_default();
    let fields = [
        e.id.to_string(),
        csv_field(&e.at),
        csv_field(&e.actor_kind),
        e.actor_id.map(|v| v.to_string()).unwrap_or_default(),
        opt(&e.actor_email),
        opt(&e.actor_role),
        csv_field(&e.action),
        opt(&e.runtime),
        opt(&e.version),
        opt(&e.reason),
        csv_field(&e.outcome),
        opt(&e.status_before),
        opt(&e.status_after),
        csv_field(&e.details),
        csv_field(&e.prev_hash),
        csv_field(&e.hash),
    ];
    let mut row = fields.join(",");
    row.push('\n');
    row
}

struct State {
    db: Database,
    filter: Filter,
    format: Format,
    before: Option<i64>,
    written: u64,
    phase: Phase,
}

#[derive(PartialEq)]
enum Phase {
    Start,
    Pages,
    Done,
}

/// Chunks of the export, in order. An error ends the stream after it is
/// yielded (the consumer must treat the output as incomplete).
/// The stream owns its database handle (a pool, cheap to clone), so it can
/// be an HTTP response body.
pub fn export(
    db: &Database,
    filter: Filter,
    format: Format,
) -> impl Stream<Item = Result<String>> + 'static {
    let state = State {
        db: db.clone(),
        filter,
        format,
        before: None,
        written: 0,
        phase: Phase::Start,
    };
    futures::stream::unfold(state, |mut s| async move {
        match s.phase {
            Phase::Done => None,
            Phase::Start => {
                s.phase = Phase::Pages;
                let head = match s.format {
                    Format::Csv => CSV_HEADER.to_owned(),
                    Format::Json => "[".to_owned(),
                };
                Some((Ok(head), s))
            }
            Phase::Pages => match query::query(&s.db, &s.filter, s.before, EXPORT_PAGE).await {
                Err(error) => {
                    s.phase = Phase::Done;
                    Some((Err(error), s))
                }
                Ok(page) => {
                    let mut chunk = String::new();
                    for entry in &page.entries {
                        match s.format {
                            Format::Csv => chunk.push_str(&csv_row(entry)),
                            Format::Json => {
                                chunk.push_str(if s.written == 0 { "\n" } else { ",\n" });
                                // Entry serialises infallibly (strings and integers only).
                                chunk.push_str(&serde_json::to_string(entry).unwrap_or_default());
                            }
                        }
                        s.written += 1;
                    }
                    match page.next_before {
                        Some(cursor) => s.before = Some(cursor),
                        None => {
                            s.phase = Phase::Done;
                            if s.format == Format::Json {
                                chunk.push_str("\n]\n");
                            }
                        }
                    }
                    Some((Ok(chunk), s))
                }
            },
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_formulas_defused() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv_field("=HYPERLINK(\"x\")"), "\"'=HYPERLINK(\"\"x\"\")\"");
        assert_eq!(csv_field("-1"), "'-1");
        assert_eq!(csv_field("@sum"), "'@sum");
    }
}
