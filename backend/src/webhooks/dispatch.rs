//! The dispatcher every replica runs: each pass fills the outbox from the
//! audit log and starts sending to each endpoint with due deliveries, in a
//! task of its own, so a receiver that hangs holds up only itself. Which
//! replica sends to an endpoint is settled by the endpoint's lease in the
//! database, so each delivery is sent by one of them.

use std::{
    collections::HashSet,
    sync::{Arc, Mutex},
};

use super::{model::Settings, outbox, send};
use crate::{audit::now_timestamp, configuration::Keyring, db::Database, error::Error};

/// One replica's dispatcher.
#[derive(Clone)]
pub struct Dispatcher {
    db: Database,
    keyring: Keyring,
    settings: Settings,
    client: reqwest::Client,
    /// Names this replica in leases.
    owner: String,
    /// Endpoints this replica is sending to now.
    busy: Arc<Mutex<HashSet<i64>>>,
}

impl Dispatcher {
    pub fn new(db: Database, keyring: Keyring, settings: Settings) -> Result<Self, Error> {
        let client = reqwest::Client::builder()
            .timeout(settings.timeout)
            // A receiver answers; it does not send the console elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("console-webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::Corrupt(format!("no HTTP client for webhooks: {e}")))?;
        let mut nonce = [0u8; 8];
        getrandom::fill(&mut nonce).map_err(|e| Error::Corrupt(format!("no randomness: {e}")))?;
        let owner = format!("{}-{}", std::process::id(), crate::audit::hex(&nonce));
        Ok(Self {
            db,
            keyring,
            settings,
            client,
            owner,
            busy: Arc::default(),
        })
    }

    /// One pass: the outbox filled up to now, and a sender started for each
    /// endpoint with a due delivery that this replica is not sending to yet.
    pub async fn pass(&self) -> Result<(), Error> {
        outbox::fill(&self.db).await?;
        let now = now_timestamp();
        let due: Vec<i64> = on_pool!(&self.db, |pool| sqlx::query_scalar(
            "SELECT DISTINCT d.endpoint_id FROM webhook_deliveries d \
             JOIN webhook_endpoints e ON e.id = d.endpoint_id \
             WHERE d.state = 'pending' AND d.next_attempt_at <= $1 AND e.deleted_at IS NULL \
             AND (e.lease_until IS NULL OR e.lease_until < $1)"
        )
        .bind(&now)
        .fetch_all(pool)
        .await?);
        for id in due {
            let fresh = self.busy.lock().map(|mut b| b.insert(id)).unwrap_or(false);
            if !fresh {
                continue;
            }
            let this = self.clone();
            tokio::spawn(async move {
                let sent = send::send_endpoint(
                    &this.db,
                    &this.keyring,
                    &this.client,
                    &this.settings,
                    &this.owner,
                    id,
                )
                .await;
                if let Err(error) = sent {
                    tracing::warn!(webhook = id, %error, "sending webhooks failed; retrying at the next pass");
                }
                if let Ok(mut busy) = this.busy.lock() {
                    busy.remove(&id);
                }
            });
        }
        Ok(())
    }
}

/// Runs `dispatcher` until the process ends.
pub async fn run(dispatcher: Dispatcher) {
    let mut ticks = tokio::time::interval(dispatcher.settings.poll);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        if let Err(error) = dispatcher.pass().await {
            tracing::warn!(%error, "webhook dispatch pass failed; retrying at the next tick");
        }
    }
}
