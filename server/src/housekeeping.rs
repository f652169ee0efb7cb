//! Housekeeping on the leader only: with several replicas one of them trims
//! the audit log, logs signed checkpoints of it, deletes expired sessions
//! and settles change control (request expiry, approved requests left
//! unfinished, scheduled actions that are due), not each of them. The audit
//! retention also runs at most once per UTC day, whoever asks, so two
//! leaders for a moment still record one run.

use std::time::Duration;

use backend::{
    Services,
    audit::{Actor, receipt::AuditKey},
    auth::Sessions,
};
use tower_sessions::ExpiredDeletion;

/// How often the leader looks whether today's retention ran.
const RETENTION_CHECK: Duration = Duration::from_secs(60 * 60);
const SESSION_CLEANUP: Duration = Duration::from_secs(60 * 60);

/// Applies the configured audit retention once a day, as the system, from
/// the replica that leads. A failed run is logged and retried at the next
/// tick; the log is never trimmed by anything else.
pub async fn retention(services: Services, keep_days: u32) {
    let reason = match lifecycle::Reason::parse(&format!(
        "configured retention: keep {keep_days} days (--audit-retention-days)"
    )) {
        Ok(reason) => reason,
        Err(error) => {
            tracing::error!(%error, "retention reason refused; retention disabled");
            return;
        }
    };
    let mut ticks = tokio::time::interval(RETENTION_CHECK);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        if !services.leads() {
            continue;
        }
        let now = chrono::Utc::now();
        let run = backend::audit::retention::run_daily(
            &services.db,
            &Actor::System,
            keep_days,
            &reason,
            now,
        );
        if let Err(error) = run.await {
            tracing::error!(%error, "audit retention run failed; retrying at the next tick");
        }
    }
}

/// Expired sessions are refused on load anyway; this keeps the table small.
pub async fn expired_sessions(services: Services, sessions: Sessions) {
    let mut ticks = tokio::time::interval(SESSION_CLEANUP);
    loop {
        ticks.tick().await;
        if !services.leads() {
            continue;
        }
        if let Err(error) = sessions.delete_expired().await {
            tracing::warn!(%error, "could not delete expired sessions");
        }
    }
}

/// Logs a signed checkpoint of the audit chain's head every `every` while
/// the chain grows, from the leader: the log output goes where the
/// database's administrator cannot rewrite it (a log collector), so
/// `server audit verify --receipt` can later catch a log cut short.
pub async fn audit_checkpoints(services: Services, key: AuditKey, every: Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last: Option<i64> = None;
    loop {
        ticks.tick().await;
        if !services.leads() {
            continue;
        }
        match backend::audit::receipt::checkpoint(&services.db, &key).await {
            Ok(Some(receipt)) if last != Some(receipt.entry_id) => {
                last = Some(receipt.entry_id);
                match serde_json::to_string(&receipt) {
                    Ok(json) => tracing::info!(receipt = %json, "audit checkpoint"),
                    Err(error) => tracing::warn!(%error, "an audit checkpoint did not encode"),
                }
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "no audit checkpoint this time"),
        }
    }
}

/// How often the leader settles change control: closes expired change
/// requests, carries out approved ones a replica could not finish, and
/// carries out scheduled actions whose instant has come (well within the
/// promised 30 s), and stops versions past their runtime's time to live.
const CHANGE_CONTROL: Duration = Duration::from_secs(5);

pub async fn change_control(services: Services) {
    let mut ticks = tokio::time::interval(CHANGE_CONTROL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        if !services.leads() {
            continue;
        }
        let now = chrono::Utc::now();
        if let Err(error) = services.settle_requests(now).await {
            tracing::error!(%error, "change requests not settled; retrying at the next tick");
        }
        if let Err(error) = services.run_due_schedules(now).await {
            tracing::error!(%error, "scheduled actions not run; retrying at the next tick");
        }
        match services.stop_idle_versions(now).await {
            Ok(stopped) if !stopped.is_empty() => {
                tracing::info!(?stopped, "stopped versions past their time to live");
            }
            Ok(_) => {}
            Err(error) => tracing::error!(%error, "time to live not applied; retrying"),
        }
    }
}
