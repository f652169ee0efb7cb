//! Load on the release server over loopback: 200 signed-in users reading the
//! details page as fast as they can, then 1,000 open live streams (five per
//! user) while the version is started and stopped three times. Reports page
//! throughput and latency, the server's memory with the streams open, how
//! fast a status change fans out to every stream, and whether any stream
//! missed any change. Writes `bench/load.md` (or `$BENCH_REPORT`).
//!
//! `cargo bench -p server --bench load` (part of `make bench`).

use std::{
    fmt::Write as _,
    sync::Arc,
    time::{Duration, Instant},
};

use lifecycle::Status;
use tokio::sync::Mutex;

use testkit::{
    binary, http as wire,
    stats::{ms, percentile},
};

const USERS: usize = 200;
const STREAMS_PER_USER: usize = 5;
const PAGE_SECONDS: u64 = 10;
const CYCLES: usize = 3;
const DEADLINE: Duration = Duration::from_secs(120);
const PAGE: &str = "/runtimes/demo/versions/v1";

/// Resident memory of a process, in MiB.
fn rss_mib(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

/// One open stream: the statuses it has seen (consecutive repeats folded)
/// and when it saw each.
#[derive(Default)]
struct Seen {
    statuses: Vec<(Status, Instant)>,
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (server, _emulator) = binary::Server::on_emulator(
        env!("CARGO_BIN_EXE_server").as_ref(),
        dir.path(),
        Duration::from_millis(500),
    )
    .await;
    let base = server.base.clone();
    let rss_idle = rss_mib(server.pid());

    // 200 users, each with their own session and connection pool.
    let mut users = Vec::new();
    let emails = [
        "admin@example.com",
        "manager@example.com",
        "viewer@example.com",
    ];
    for i in 0..USERS {
        let http = reqwest::Client::new();
        let cookie = wire::sign_in(&http, &base, emails[i % 3], "demo-password").await;
        users.push((http, cookie));
    }

    // The details page, as fast as 200 users can read it.
    let until = Instant::now() + Duration::from_secs(PAGE_SECONDS);
    let started = Instant::now();
    let mut readers = Vec::new();
    for (http, cookie) in users.clone() {
        let base = base.clone();
        readers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut failures = 0usize;
            while Instant::now() < until {
                let sent = Instant::now();
                let ok = match http
                    .get(format!("{base}{PAGE}"))
                    .header("cookie", &cookie)
                    .send()
                    .await
                {
                    Ok(response) if response.status().is_success() => {
                        response.bytes().await.is_ok()
                    }
                    _ => false,
                };
                if ok {
                    latencies.push(sent.elapsed());
                } else {
                    failures += 1;
                }
            }
            (latencies, failures)
        }));
    }
    let mut page_latencies = Vec::new();
    let mut page_failures = 0;
    for reader in readers {
        let (latencies, failures) = reader.await.expect("reader");
        page_latencies.extend(latencies);
        page_failures += failures;
    }
    let page_elapsed = started.elapsed();
    page_latencies.sort();
    let rss_after_pages = rss_mib(server.pid());

    // 1,000 streams on v1, five per user.
    let mut streams = Vec::new();
    let seen: Vec<Arc<Mutex<Seen>>> = (0..USERS * STREAMS_PER_USER)
        .map(|_| Arc::new(Mutex::new(Seen::default())))
        .collect();
    for (i, record) in seen.iter().enumerate() {
        let (http, cookie) = users[i % USERS].clone();
        let response = http
            .get(format!("{base}/api/live/runtimes/demo/versions/v1"))
            .header("cookie", &cookie)
            .send()
            .await
            .expect("stream opens");
        assert!(
            response.status().is_success(),
            "stream {i}: {}",
            response.status()
        );
        let record = record.clone();
        streams.push(tokio::spawn(async move {
            let mut response = response;
            let mut buffer = String::new();
            while let Ok(Some(chunk)) = response.chunk().await {
                buffer.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(live) = wire::next_version_event(&mut buffer) {
                    let mut record = record.lock().await;
                    if record.statuses.last().map(|(s, _)| *s) != Some(live.status) {
                        record.statuses.push((live.status, Instant::now()));
                    }
                }
            }
        }));
    }
    // Every stream has its first event before anything changes.
    let opened = async {
        loop {
            let mut all = true;
            for record in &seen {
                if record.lock().await.statuses.is_empty() {
                    all = false;
                    break;
                }
            }
            if all {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(DEADLINE, opened)
        .await
        .expect("every stream opened");
    let rss_streams = rss_mib(server.pid());

    // Start and stop v1 three times; every stream must see every status.
    let (http, cookie) = users[1].clone(); // a manager
    let mut expected = vec![Status::Stopped];
    let mut fanout = Vec::new();
    let cycles_started = Instant::now();
    for _ in 0..CYCLES {
        for (action, from, steps) in [
            (
                "start",
                Status::Stopped,
                [Status::Starting, Status::Started],
            ),
            ("stop", Status::Started, [Status::Stopping, Status::Stopped]),
        ] {
            let sent = Instant::now();
            wire::act(&http, &base, &cookie, "v1", action, from.as_str()).await;
            expected.extend(steps);
            let wanted = expected.len();
            let all_saw = async {
                loop {
                    let mut done = true;
                    for record in &seen {
                        if record.lock().await.statuses.len() < wanted {
                            done = false;
                            break;
                        }
                    }
                    if done {
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            };
            tokio::time::timeout(DEADLINE, all_saw)
                .await
                .expect("every stream saw the change");
            // Fan-out: from sending the action to each stream seeing its
            // first consequence (starting / stopping).
            for record in &seen {
                let record = record.lock().await;
                fanout.push(
                    record.statuses[wanted - 2]
                        .1
                        .saturating_duration_since(sent),
                );
            }
        }
    }
    let cycles_elapsed = cycles_started.elapsed();
    fanout.sort();
    let mut missed = 0;
    for record in &seen {
        let statuses: Vec<Status> = record
            .lock()
            .await
            .statuses
            .iter()
            .map(|(s, _)| *s)
            .collect();
        if statuses != expected {
            missed += 1;
        }
    }
    let events: usize = USERS * STREAMS_PER_USER * (expected.len() - 1);
    for stream in streams {
        stream.abort();
    }
    let pages = page_latencies.len();

    let mut report = String::new();
    let _ = writeln!(report, "# Load: 200 users, 1,000 live streams\n");
    let _ = writeln!(
        report,
        "`cargo bench -p server --bench load` (release build, this 2-core machine, \
         the server as its own process on SQLite with the emulator on loopback).\n"
    );
    let _ = writeln!(
        report,
        "## Details page, {USERS} signed-in users, {PAGE_SECONDS} s\n"
    );
    let _ = writeln!(report, "| figure | value |\n|---|---|");
    let _ = writeln!(report, "| pages served | {pages} |");
    let _ = writeln!(
        report,
        "| throughput | {:.0} pages/s |",
        pages as f64 / page_elapsed.as_secs_f64()
    );
    let _ = writeln!(
        report,
        "| p50 latency | {} |",
        ms(percentile(&page_latencies, 50.0))
    );
    let _ = writeln!(
        report,
        "| p99 latency | {} |",
        ms(percentile(&page_latencies, 99.0))
    );
    let _ = writeln!(report, "| failed requests | {page_failures} |");
    let _ = writeln!(
        report,
        "\n## Live streams: {} open, v1 started and stopped {CYCLES} times\n",
        USERS * STREAMS_PER_USER
    );
    let _ = writeln!(report, "| figure | value |\n|---|---|");
    let _ = writeln!(
        report,
        "| server memory, idle after start | {rss_idle:.1} MiB |"
    );
    let _ = writeln!(
        report,
        "| server memory, after the page load | {rss_after_pages:.1} MiB |"
    );
    let _ = writeln!(
        report,
        "| server memory, {} streams open | {rss_streams:.1} MiB |",
        USERS * STREAMS_PER_USER
    );
    let _ = writeln!(
        report,
        "| status events delivered | {events} in {:.1} s |",
        cycles_elapsed.as_secs_f64()
    );
    let _ = writeln!(
        report,
        "| action sent → stream sees it, p50 | {} |",
        ms(percentile(&fanout, 50.0))
    );
    let _ = writeln!(
        report,
        "| action sent → stream sees it, p99 | {} |",
        ms(percentile(&fanout, 99.0))
    );
    let _ = writeln!(
        report,
        "| streams that missed or reordered a status | {missed} of {} |",
        USERS * STREAMS_PER_USER
    );
    let _ = writeln!(
        report,
        "\nEach stream must show exactly {:?}.",
        expected.iter().map(|s| s.as_str()).collect::<Vec<_>>()
    );
    print!("{report}");
    let path = std::env::var("BENCH_REPORT")
        .unwrap_or_else(|_| format!("{}/../bench/load.md", env!("CARGO_MANIFEST_DIR")));
    std::fs::write(&path, report).expect("report written");
    assert_eq!(missed, 0, "every status change reaches every open stream");
    assert_eq!(page_failures, 0, "no page request failed");
}
