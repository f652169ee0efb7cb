//! Throttling failed sign-ins without letting anyone lock the rightful user
//! out (the approach of OWASP's authentication guidance): failures count per
//! (account, address) pair, per address, and per account, each with its own
//! number of free failures, after which every further attempt waits twice as
//! long as the last (1 s, 2 s, 4 s, ... up to 15 minutes).
//!
//! - The pair is the tight one: three guesses at one account from one
//!   address, then waits.
//! - The address slows one address guessing across many accounts, with
//!   room for a shared office address's typos.
//! - The account slows guessing at one account from many addresses, but only
//!   for addresses that have failed themselves: a correct password from an
//!   address with no failures is never refused, however many guesses others
//!   made. Each address of a distributed guesser gets its one guess and then
//!   waits the account's delay.
//!
//! The strikes live in the database, so every replica counts the same
//! failures. A success clears the pair and the address, not the account:
//! signing in does not hand a guesser a fresh allowance.

use std::{net::IpAddr, time::Duration};

use crate::{db::Database, error::Error};

/// One key's count of failures and when the last one was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Strikes {
    pub failures: u32,
    pub last_ms: i64,
}

/// The strikes that bear on one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Standing {
    pub pair: Strikes,
    /// `None` when the address is unknown.
    pub address: Option<Strikes>,
    pub account: Strikes,
}

/// The keys of one attempt's strikes in `sign_in_strikes`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keys {
    pair: String,
    address: Option<String>,
    account: String,
}

impl Keys {
    pub fn new(email: &str, client: Option<IpAddr>) -> Self {
        let at = client.map_or_else(|| "unknown".to_owned(), |ip| ip.to_string());
        Self {
            pair: format!("pair:{email}|{at}"),
            address: client.map(|ip| format!("client:{ip}")),
            account: format!("account:{email}"),
        }
    }

    fn all(&self) -> impl Iterator<Item = &str> {
        [Some(&self.pair), self.address.as_ref(), Some(&self.account)]
            .into_iter()
            .flatten()
            .map(String::as_str)
    }
}

#[derive(Debug, Default)]
pub struct Throttle;

impl Throttle {
    /// Free failures of one account from one address.
    pub const FREE_FAILURES: u32 = 3;
    /// Free failures from one address, whatever the accounts.
    pub const ADDRESS_FREE_FAILURES: u32 = 10;
    /// Free failures of one account, whatever the addresses.
    pub const ACCOUNT_FREE_FAILURES: u32 = 30;
    pub const MAX_DELAY: Duration = Duration::from_secs(15 * 60);
    /// Strikes are forgotten a day after the last failure. Not sooner: an
    /// account at the longest delay must stay there while guesses go on, not
    /// earn free ones every time it waits out the delay.
    const FORGET_AFTER: Duration = Duration::from_secs(24 * 60 * 60);

    fn delay(failures: u32, free: u32) -> Duration {
        if failures < free {
            return Duration::ZERO;
        }
        let exponent = (failures - free).min(20);
        Duration::from_secs(1u64 << exponent).min(Self::MAX_DELAY)
    }

    /// How long is left of the wait `strikes` impose, `free` failures being
    /// free, at `now_ms`.
    fn remaining(strikes: Strikes, free: u32, now_ms: i64) -> Duration {
        let delay =
            i64::try_from(Self::delay(strikes.failures, free).as_millis()).unwrap_or(i64::MAX);
        let until = strikes.last_ms.saturating_add(delay);
        Duration::from_millis(u64::try_from(until.saturating_sub(now_ms)).unwrap_or(0))
    }

    /// How long an attempt with `standing` must still wait at `now_ms`: the
    /// rule itself, apart from storage.
    pub fn wait_for(standing: Standing, now_ms: i64) -> Duration {
        let pair = Self::remaining(standing.pair, Self::FREE_FAILURES, now_ms);
        let Some(address) = standing.address else {
            return pair;
        };
        let from_address = Self::remaining(address, Self::ADDRESS_FREE_FAILURES, now_ms);
        // The account's delay binds only addresses that have failed.
        let account = if address.failures > 0 {
            Self::remaining(standing.account, Self::ACCOUNT_FREE_FAILURES, now_ms)
        } else {
            Duration::ZERO
        };
        pair.max(from_address).max(account)
    }

    async fn strikes(db: &Database, key: &str) -> Result<Strikes, Error> {
        let sql = "SELECT failures, last_failure_ms FROM sign_in_strikes WHERE key = $1";
        let row: Option<(i64, i64)> = on_pool!(db, |pool| sqlx::query_as(sql)
            .bind(key)
            .fetch_optional(pool)
            .await?);
        Ok(
            row.map_or_else(Strikes::default, |(failures, last_ms)| Strikes {
                failures: u32::try_from(failures).unwrap_or(u32::MAX),
                last_ms,
            }),
        )
    }

    /// How long the caller must still wait, if at all.
    pub async fn wait(&self, db: &Database, keys: &Keys) -> Result<Option<Duration>, Error> {
        let address = match &keys.address {
            Some(key) => Some(Self::strikes(db, key).await?),
            None => None,
        };
        let standing = Standing {
            pair: Self::strikes(db, &keys.pair).await?,
            address,
            account: Self::strikes(db, &keys.account).await?,
        };
        let wait = Self::wait_for(standing, now_ms());
        Ok((!wait.is_zero()).then_some(wait))
    }

    pub async fn fail(&self, db: &Database, keys: &Keys) -> Result<(), Error> {
        let now = now_ms();
        let stale = now.saturating_sub(i64::try_from(Self::FORGET_AFTER.as_millis()).unwrap_or(0));
        let prune = "DELETE FROM sign_in_strikes WHERE last_failure_ms < $1";
        let count = "INSERT INTO sign_in_strikes (key, failures, last_failure_ms) VALUES ($1, 1, $2) \
                     ON CONFLICT (key) DO UPDATE SET failures = sign_in_strikes.failures + 1, \
                     last_failure_ms = excluded.last_failure_ms";
        on_pool!(db, |pool| {
            // Keeps the table to the last day's failures.
            sqlx::query(prune).bind(stale).execute(pool).await?;
            for key in keys.all() {
                sqlx::query(count).bind(key).bind(now).execute(pool).await?;
            }
        });
        Ok(())
    }

    /// A success: the pair and the address start over; the account keeps
    /// its count.
    pub async fn clear(&self, db: &Database, keys: &Keys) -> Result<(), Error> {
        for key in [Some(&keys.pair), keys.address.as_ref()]
            .into_iter()
            .flatten()
        {
            let sql = "DELETE FROM sign_in_strikes WHERE key = $1";
            on_pool!(db, |pool| {
                sqlx::query(sql).bind(key).execute(pool).await?;
            });
        }
        Ok(())
    }
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_000_000;

    fn strikes(failures: u32) -> Strikes {
        Strikes {
            failures,
            last_ms: T0,
        }
    }

    #[test]
    fn waits_start_after_the_free_failures_and_double() {
        let free = Throttle::FREE_FAILURES;
        for failures in 0..free {
            assert_eq!(
                Throttle::remaining(strikes(failures), free, T0),
                Duration::ZERO
            );
        }
        assert_eq!(
            Throttle::remaining(strikes(free), free, T0),
            Duration::from_secs(1)
        );
        assert_eq!(
            Throttle::remaining(strikes(free + 1), free, T0),
            Duration::from_secs(2)
        );
        assert_eq!(
            Throttle::remaining(strikes(free + 1), free, T0 + 2_000),
            Duration::ZERO
        );
        assert_eq!(
            Throttle::remaining(strikes(free + 1), free, T0 + 500),
            Duration::from_millis(1_500)
        );
        assert_eq!(
            Throttle::remaining(strikes(free + 40), free, T0),
            Throttle::MAX_DELAY
        );
        assert_eq!(
            Throttle::remaining(strikes(u32::MAX), free, T0),
            Throttle::MAX_DELAY
        );
    }

    #[test]
    fn a_clean_address_is_never_refused_however_guessed_the_account() {
        let standing = Standing {
            pair: Strikes::default(),
            address: Some(Strikes::default()),
            account: strikes(10_000),
        };
        assert_eq!(Throttle::wait_for(standing, T0), Duration::ZERO);
        // The same account from an address that has failed once waits.
        let failed_once = Standing {
            address: Some(strikes(1)),
            ..standing
        };
        assert_eq!(Throttle::wait_for(failed_once, T0), Throttle::MAX_DELAY);
    }

    #[test]
    fn each_key_binds_past_its_own_allowance() {
        let pair = Standing {
            pair: strikes(Throttle::FREE_FAILURES),
            address: Some(strikes(Throttle::FREE_FAILURES)),
            account: strikes(Throttle::FREE_FAILURES),
        };
        assert_eq!(Throttle::wait_for(pair, T0), Duration::from_secs(1));
        let address = Standing {
            pair: Strikes::default(),
            address: Some(strikes(Throttle::ADDRESS_FREE_FAILURES - 1)),
            account: Strikes::default(),
        };
        assert_eq!(Throttle::wait_for(address, T0), Duration::ZERO);
        let address = Standing {
            address: Some(strikes(Throttle::ADDRESS_FREE_FAILURES)),
            ..address
        };
        assert_eq!(Throttle::wait_for(address, T0), Duration::from_secs(1));
        let unknown_address = Standing {
            pair: strikes(2),
            address: None,
            account: strikes(10_000),
        };
        assert_eq!(Throttle::wait_for(unknown_address, T0), Duration::ZERO);
    }

    #[test]
    fn an_attempt_has_a_pair_an_address_and_an_account_key() {
        let ip: IpAddr = "192.0.2.7".parse().expect("ip");
        assert_eq!(
            Keys::new("a@example.com", Some(ip))
                .all()
                .collect::<Vec<_>>(),
            [
                "pair:a@example.com|192.0.2.7",
                "client:192.0.2.7",
                "account:a@example.com"
            ]
        );
        assert_eq!(
            Keys::new("a@example.com", None).all().collect::<Vec<_>>(),
            ["pair:a@example.com|unknown", "account:a@example.com"]
        );
    }
}
