//! Prometheus metrics of this process, plus figures read from the database
//! at scrape time (versions by status, audit entries) so that every replica
//! reports the same, true totals for them.

use std::{sync::LazyLock, time::Duration};

use lifecycle::{Status, SystemEvent};
use prometheus_client::{
    encoding::{EncodeLabelSet, text::encode},
    metrics::{
        counter::Counter,
        family::Family,
        gauge::Gauge,
        histogram::{Histogram, exponential_buckets},
    },
    registry::Registry,
};

use crate::db::Database;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    /// The route as registered (`/runtimes/{runtime}`), never the raw path:
    /// the set of series stays bounded whatever clients send.
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ActionLabels {
    action: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TransitionLabels {
    transition: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StatusLabels {
    status: String,
}

struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    request_seconds: Family<RouteLabels, Histogram>,
    actions: Family<ActionLabels, Counter>,
    transition_seconds: Family<TransitionLabels, Histogram>,
    versions: Family<StatusLabels, Gauge>,
    watch_restarts: Counter,
    audit_entries: Counter,
    leader: Gauge,
}

fn request_buckets() -> Histogram {
    // 1 ms to about 33 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 16))
}

fn transition_buckets() -> Histogram {
    // 0.25 s to about 17 min: starts wait for pods, and deadlines are minutes.
    Histogram::new(exponential_buckets(0.25, 2.0, 13))
}

static METRICS: LazyLock<Metrics> = LazyLock::new(|| {
    let mut registry = Registry::with_prefix("console");
    let requests = Family::<RequestLabels, Counter>::default();
    registry.register(
        "http_requests",
        "HTTP requests answered, by method, route and status",
        requests.clone(),
    );
    let request_seconds =
        Family::<RouteLabels, Histogram>::new_with_constructor(request_buckets as fn() -> _);
    registry.register(
        "http_request_duration_seconds",
        "Time to answer an HTTP request (to the response head), by method and route",
        request_seconds.clone(),
    );
    let actions = Family::<ActionLabels, Counter>::default();
    registry.register(
        "actions",
        "Lifecycle actions asked for, by action and outcome (accepted, conflict, refused, denied, unknown_version, invalid, error)",
        actions.clone(),
    );
    let transition_seconds = Family::<TransitionLabels, Histogram>::new_with_constructor(
        transition_buckets as fn() -> _,
    );
    registry.register(
        "transition_duration_seconds",
        "From the start or stop being accepted to its end in the cluster, by transition and outcome",
        transition_seconds.clone(),
    );
    let versions = Family::<StatusLabels, Gauge>::default();
    registry.register(
        "versions",
        "Versions by status (read from the database at scrape time)",
        versions.clone(),
    );
    let watch_restarts = Counter::default();
    registry.register(
        "pod_watch_restarts",
        "Pod watches that failed and were restarted with backoff",
        watch_restarts.clone(),
    );
    let audit_entries = Counter::default();
    registry.register(
        "audit_entries",
        "Audit entries ever written by every replica (the log's last id, read at scrape time)",
        audit_entries.clone(),
    );
    let leader = Gauge::default();
    registry.register(
        "leader",
        "1 while this replica drives transitions, 0 while another does",
        leader.clone(),
    );
    Metrics {
        registry,
        requests,
        request_seconds,
        actions,
        transition_seconds,
        versions,
        watch_restarts,
        audit_entries,
        leader,
    }
});

pub fn http_request(method: &str, route: &str, status: u16, took: Duration) {
    let m = &*METRICS;
    m.requests
        .get_or_create(&RequestLabels {
            method: method.to_owned(),
            route: route.to_owned(),
            status,
        })
        .inc();
    m.request_seconds
        .get_or_create(&RouteLabels {
            method: method.to_owned(),
            route: route.to_owned(),
        })
        .observe(took.as_secs_f64());
}

/// A lifecycle action and what became of it.
pub fn action(action: &str, outcome: &str) {
    METRICS
        .actions
        .get_or_create(&ActionLabels {
            action: action.to_owned(),
            outcome: outcome.to_owned(),
        })
        .inc();
}

/// A start or stop ended (in `to`) after `took`.
pub fn transition_ended(event: SystemEvent, to: Status, took: Duration) {
    let transition = match event {
        SystemEvent::AllReady | SystemEvent::StartFailed => "start",
        SystemEvent::AllGone | SystemEvent::StopFailed => "stop",
        _ => return,
    };
    METRICS
        .transition_seconds
        .get_or_create(&TransitionLabels {
            transition: transition.to_owned(),
            outcome: to.as_str().to_owned(),
        })
        .observe(took.as_secs_f64());
}

pub fn watch_restarted() {
    METRICS.watch_restarts.inc();
}

pub fn set_leader(leading: bool) {
    METRICS.leader.set(i64::from(leading));
}

/// The text exposition, with the database's figures read now.
pub async fn render(db: &Database) -> Result<String, crate::Error> {
    let m = &*METRICS;
    let by_status = count_by_status(db).await?;
    for status in Status::ALL {
        let n = by_status
            .iter()
            .find(|(s, _)| s == status.as_str())
            .map_or(0, |(_, n)| *n);
        m.versions
            .get_or_create(&StatusLabels {
                status: status.as_str().to_owned(),
            })
            .set(n);
    }
    let last_id = last_audit_id(db).await?;
    let counted = m.audit_entries.get();
    if let Ok(last_id) = u64::try_from(last_id)
        && last_id > counted
    {
        // A counter only goes up; the log's ids do too.
        m.audit_entries.inc_by(last_id - counted);
    }
    let mut text = String::new();
    encode(&mut text, &m.registry).map_err(|e| crate::Error::Corrupt(e.to_string()))?;
    Ok(text)
}

async fn count_by_status(db: &Database) -> Result<Vec<(String, i64)>, crate::Error> {
    let sql = "SELECT status, COUNT(*) FROM versions GROUP BY status";
    Ok(match db {
        Database::Sqlite(pool) => sqlx::query_as(sql).fetch_all(pool).await?,
        Database::Postgres(pool) => sqlx::query_as(sql).fetch_all(pool).await?,
    })
}

async fn last_audit_id(db: &Database) -> Result<i64, crate::Error> {
    let sql = "SELECT COALESCE(MAX(id), 0) FROM audit_log";
    Ok(match db {
        Database::Sqlite(pool) => sqlx::query_scalar(sql).fetch_one(pool).await?,
        Database::Postgres(pool) => sqlx::query_scalar(sql).fetch_one(pool).await?,
    })
}
