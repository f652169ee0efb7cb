//! What the console's tests share, so no test crate keeps a copy: waiting on
//! a condition with a deadline (never a fixed sleep), a seeded generator,
//! SQLite and PostgreSQL test databases, the emulator with fast pods,
//! callers signed in over HTTP, and the server binary as a child process.

#[cfg(feature = "console")]
pub mod actors;
#[cfg(feature = "console")]
pub mod binary;
#[cfg(feature = "console")]
pub mod db;
#[cfg(feature = "console")]
pub mod http;
pub mod stats;

use std::{future::Future, time::Duration};

/// How often [`eventually`] looks again.
const POLL: Duration = Duration::from_millis(20);

/// Polls `check` until it holds, failing the test with `what` after `limit`.
pub async fn eventually<F, Fut>(what: &str, limit: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    eventually_some(what, limit, || {
        let holds = check();
        async move { holds.await.then_some(()) }
    })
    .await
}

/// Polls `find` until it finds something and answers it, failing the test
/// with `what` after `limit`.
pub async fn eventually_some<T, F, Fut>(what: &str, limit: Duration, mut find: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let poll = async {
        loop {
            if let Some(found) = find().await {
                return found;
            }
            tokio::time::sleep(POLL).await;
        }
    };
    tokio::time::timeout(limit, poll)
        .await
        .unwrap_or_else(|_| panic!("not within {limit:?}: {what}"))
}

/// xorshift64*: enough randomness, fully reproducible from its seed.
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
    pub fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[self.below(from.len())]
    }
}

/// The Kubernetes emulator on a free loopback port; pods turn Ready
/// `ready_after` after they are scheduled.
#[cfg(feature = "console")]
pub async fn emulator(ready_after: Duration) -> kube_emulator::Running {
    kube_emulator::start(
        "127.0.0.1:0".parse().expect("addr"),
        kube_emulator::Config {
            ready_after,
            ..kube_emulator::Config::default()
        },
    )
    .await
    .expect("emulator starts")
}
