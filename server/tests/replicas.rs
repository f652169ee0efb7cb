//! Two console processes on one PostgreSQL database and one cluster, as a
//! Deployment with two replicas runs them: a session signed in through one
//! works on the other; actions go through either; a status change reaches
//! event streams open on both; one replica at a time drives transitions, and
//! when it is killed (SIGKILL) mid-start the other takes over and finishes.
//!
//! Needs PostgreSQL: `make test` provides one (scripts/with-postgres.sh) in
//! TEST_POSTGRES_URL.

use std::time::Duration;

use backend::{Database, versions};
use lifecycle::{Status, VersionLive};
use sqlx::PgPool;

mod common;
use common::SERVER_BIN;
use testkit::{binary::Server, eventually, http as wire};

const DEADLINE: Duration = Duration::from_secs(60);
/// The leader lock's first key (backend/src/runtime/replicas.rs).
const LEADER_LOCK: i32 = 0x5243_4f4e;

/// Whether some session holds this schema's leader lock.
async fn leader_elected(admin: &PgPool, schema: &str) -> bool {
    sqlx::query_scalar::<_, i64>(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted \
         AND classid = $1::int8::oid AND objid::int8 = (hashtext($2)::int8 & 4294967295)",
    )
    .bind(LEADER_LOCK)
    .bind(schema)
    .fetch_one(admin)
    .await
    .expect("pg_locks readable")
        == 1
}

/// `console_leader` from a replica's /metrics.
async fn leader_metric(http: &reqwest::Client, server: &Server) -> Option<f64> {
    let url = server.metrics.as_ref().expect("metrics served");
    let text = http.get(url).send().await.ok()?.text().await.ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("console_leader "))
        .and_then(|v| v.parse().ok())
}

/// A version's event stream on one replica.
struct Stream {
    response: reqwest::Response,
    buffer: String,
    replica: &'static str,
}

impl Stream {
    async fn open(
        http: &reqwest::Client,
        base: &str,
        cookie: &str,
        version: &str,
        replica: &'static str,
    ) -> Self {
        let response = http
            .get(format!("{base}/api/live/runtimes/demo/versions/{version}"))
            .header("cookie", cookie)
            .send()
            .await
            .expect("stream opens");
        assert!(
            response.status().is_success(),
            "{replica}: {}",
            response.status()
        );
        Self {
            response,
            buffer: String::new(),
            replica,
        }
    }

    async fn until(&mut self, wanted: Status) -> VersionLive {
        let read = async {
            loop {
                while let Some(live) = wire::next_version_event(&mut self.buffer) {
                    if live.status == wanted {
                        return live;
                    }
                }
                let chunk = self
                    .response
                    .chunk()
                    .await
                    .expect("stream reads")
                    .expect("stream still open");
                self.buffer.push_str(&String::from_utf8_lossy(&chunk));
            }
        };
        tokio::time::timeout(DEADLINE, read)
            .await
            .unwrap_or_else(|_| panic!("{}'s stream never showed {wanted}", self.replica))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_share_sessions_streams_and_the_work_and_survive_losing_the_leader() {
    let Ok(url) = std::env::var("TEST_POSTGRES_URL") else {
        eprintln!("skipped: replicas need PostgreSQL (TEST_POSTGRES_URL; `make test` sets it)");
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let emulator = testkit::emulator(Duration::from_millis(1500)).await;
    let kubeconfig = dir.path().join("kubeconfig");
    kube_emulator::write_kubeconfig(&kubeconfig, &emulator.url()).expect("kubeconfig");
    let (schema, console_url) = testkit::db::fresh_schema(&url).await;
    let admin = PgPool::connect(&url).await.expect("postgres");
    // Streams re-read only hourly: a change can reach the other replica's
    // streams only through the announcement, which is what is under test.
    let extra = [
        "--stream-refresh-seconds",
        "3600",
        "--metrics-listen",
        "127.0.0.1:0",
    ];

    // A first, and leading, before B starts: then A is the one to kill.
    let a = Server::start(
        SERVER_BIN.as_ref(),
        &console_url,
        &kubeconfig,
        dir.path(),
        &extra,
    );
    eventually("replica A takes the leader lock", DEADLINE, || {
        leader_elected(&admin, &schema)
    })
    .await;
    let b = Server::start(
        SERVER_BIN.as_ref(),
        &console_url,
        &kubeconfig,
        dir.path(),
        &extra,
    );
    let http = reqwest::Client::new();
    // Each replica says on its own /metrics whether it leads.
    eventually("A reports leading and B following", DEADLINE, || async {
        leader_metric(&http, &a).await == Some(1.0) && leader_metric(&http, &b).await == Some(0.0)
    })
    .await;

    // One sign-in serves both: sessions live in the shared database.
    let cookie = wire::sign_in(&http, &a.base, "manager@example.com", "demo-password").await;
    let mut v1_on_a = Stream::open(&http, &a.base, &cookie, "v1", "A").await;
    let mut v1_on_b = Stream::open(&http, &b.base, &cookie, "v1", "B").await;
    v1_on_a.until(Status::Stopped).await;
    v1_on_b.until(Status::Stopped).await;

    // Started through B, which does not lead: A drives it, and both
    // replicas' streams follow every step.
    wire::act(&http, &b.base, &cookie, "v1", "start", "stopped").await;
    v1_on_a.until(Status::Starting).await;
    v1_on_b.until(Status::Starting).await;
    let started = v1_on_b.until(Status::Started).await;
    assert!(
        started.nodes.iter().all(|n| n.ready == n.desired),
        "{started:?}"
    );
    v1_on_a.until(Status::Started).await;

    // Published through A: B's stream hears of it.
    wire::act(&http, &a.base, &cookie, "v1", "publish", "started").await;
    v1_on_b.until(Status::Published).await;
    v1_on_a.until(Status::Published).await;

    // Scheduled through B for a moment from now: carried out once by the
    // leader, though both replicas run the scheduler's loop.
    let soon = |seconds| (chrono::Utc::now() + chrono::Duration::seconds(seconds)).to_rfc3339();
    let unpublish = wire::schedule(&http, &b.base, &cookie, "v1", "unpublish", &soon(2)).await;
    v1_on_b.until(Status::Started).await;
    v1_on_a.until(Status::Started).await;
    // And v1's publish scheduled through A, killed below before its instant.
    let publish = wire::schedule(&http, &a.base, &cookie, "v1", "publish", &soon(6)).await;

    // v2 started through A, and A killed while its pods are still coming
    // up: B takes the lock and finishes the start.
    let mut v2_on_b = Stream::open(&http, &b.base, &cookie, "v2", "B").await;
    wire::act(&http, &a.base, &cookie, "v2", "start", "stopped").await;
    v2_on_b.until(Status::Starting).await;
    a.kill();
    let db = Database::connect(&console_url).await.expect("database");
    assert_eq!(
        versions::get(&db, "demo", "v2").await.expect("v2").status,
        Status::Starting,
        "killed mid-start"
    );
    v2_on_b.until(Status::Started).await;
    // B, leading now, carries out the publish A was killed before.
    v1_on_b.until(Status::Published).await;
    assert!(leader_elected(&admin, &schema).await, "B leads now");
    assert_eq!(leader_metric(&http, &b).await, Some(1.0));

    // And B alone carries on: stop v2 through it.
    wire::act(&http, &b.base, &cookie, "v2", "stop", "started").await;
    v2_on_b.until(Status::Stopped).await;

    // Nothing lost or doubled: the chain verifies, and each transition of
    // v2 was recorded once.
    common::assert_audit_intact(&db).await;
    let entries = testkit::db::audit_entries(&db, Default::default()).await;
    for (id, action) in [
        (unpublish, "version.unpublish"),
        (publish, "version.publish"),
    ] {
        let runs = entries
            .iter()
            .filter(|e| e.action == action && e.outcome == "accepted")
            .filter(|e| {
                serde_json::from_str::<serde_json::Value>(&e.details)
                    .is_ok_and(|d| d["scheduled"] == serde_json::json!(id))
            })
            .count();
        assert_eq!(runs, 1, "scheduled {action} {id} carried out once");
        let scheduled = backend::schedules::get(&db, id).await.expect("schedule");
        assert_eq!(scheduled.state, lifecycle::ScheduleState::Done);
    }
    let after = common::recorded_statuses(&db, "v2").await;
    assert_eq!(
        after,
        ["stopped", "stopping", "started", "starting", "stopped"],
        "newest first, back to the registration"
    );
    drop(b);
}
