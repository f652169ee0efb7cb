//! Signing in: password checks with throttling and auditing, the session
//! user axum-login keeps, and the session store on either database.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use async_trait::async_trait;
use axum_login::{AuthUser, AuthnBackend, UserId};
use lifecycle::{AuditAction, Outcome, Role};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tower_sessions::{
    SessionStore,
    session::{Id, Record},
    session_store::{self, ExpiredDeletion},
};
use tower_sessions_sqlx_store::{PostgresStore, SqliteStore};

use crate::{
    audit::{self, Actor, NewEntry},
    db::Database,
    error::Error,
    password,
    users::{self, StoredUser},
};

/// The signed-in user as the session knows it.
#[derive(Clone, Serialize, Deserialize)]
pub struct SessionUser {
    pub id: i64,
    pub email: String,
    pub role: Role,
    /// Changes when the password or the session epoch does, which ends
    /// every session made before.
    auth_hash: Vec<u8>,
}

impl std::fmt::Debug for SessionUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionUser")
            .field("id", &self.id)
            .field("email", &self.email)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

impl SessionUser {
    fn from_stored(stored: &StoredUser) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(stored.session_epoch.to_be_bytes());
        hasher.update(stored.password_hash.as_bytes());
        Self {
            id: stored.user.id,
            email: stored.user.email.clone(),
            role: stored.user.role,
            auth_hash: hasher.finalize().to_vec(),
        }
    }

    /// How the audit log names this user.
    pub fn actor(&self) -> Actor {
        Actor::User {
            id: Some(self.id),
            email: self.email.clone(),
            role: self.role.as_str().to_owned(),
        }
    }
}

impl AuthUser for SessionUser {
    type Id = i64;

    fn id(&self) -> i64 {
        self.id
    }

    fn session_auth_hash(&self) -> &[u8] {
        &self.auth_hash
    }
}

/// axum-login's view of the users table. Credentials are checked by
/// [`sign_in`], which throttles and audits; this backend only reloads the
/// session's user on each request (a disabled user is no user).
#[derive(Clone)]
pub struct AuthBackend {
    db: Database,
}

impl AuthBackend {
    pub fn new(db: Database) -> Self {
        Self { db }
    }
}

impl AuthnBackend for AuthBackend {
    type User = SessionUser;
    type Credentials = std::convert::Infallible;
    type Error = Error;

    async fn authenticate(
        &self,
        credentials: Self::Credentials,
    ) -> Result<Option<Self::User>, Self::Error> {
        match credentials {}
    }

    async fn get_user(&self, id: &UserId<Self>) -> Result<Option<Self::User>, Self::Error> {
        Ok(users::find_by_id(&self.db, *id)
            .await?
            .filter(|stored| !stored.user.disabled)
            .map(|stored| SessionUser::from_stored(&stored)))
    }
}

pub type AuthSession = axum_login::AuthSession<AuthBackend>;

#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    #[error("Wrong email or password.")]
    Invalid,
    #[error("Too many failed sign-ins. Try again in {0} seconds.")]
    Throttled(u64),
    #[error(transparent)]
    Store(#[from] Error),
}

/// Failed sign-ins per account and per client address. After
/// [`Throttle::FREE_FAILURES`] failures each further attempt waits twice as
/// long as the last (1 s, 2 s, 4 s, ... up to 15 minutes); a success clears
/// the account and the address. Kept in memory: a restart forgives.
#[derive(Debug, Default)]
pub struct Throttle {
    strikes: Mutex<HashMap<String, Strikes>>,
}

#[derive(Debug, Clone, Copy)]
struct Strikes {
    failures: u32,
    last: Instant,
}

impl Throttle {
    pub const FREE_FAILURES: u32 = 3;
    pub const MAX_DELAY: Duration = Duration::from_secs(15 * 60);
    /// Bound on remembered keys; old ones are dropped first.
    const MAX_KEYS: usize = 100_000;

    fn delay(failures: u32) -> Duration {
        if failures < Self::FREE_FAILURES {
            return Duration::ZERO;
        }
        let exponent = (failures - Self::FREE_FAILURES).min(20);
        Duration::from_secs(1u64 << exponent).min(Self::MAX_DELAY)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Strikes>> {
        // A panic while holding the lock leaves only counters behind.
        self.strikes.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How long the caller must still wait, if at all.
    pub fn wait(&self, keys: &[String], now: Instant) -> Option<Duration> {
        let strikes = self.lock();
        keys.iter()
            .filter_map(|key| strikes.get(key))
            .map(|s| (s.last + Self::delay(s.failures)).saturating_duration_since(now))
            .filter(|wait| !wait.is_zero())
            .max()
    }

    pub fn fail(&self, keys: &[String], now: Instant) {
        let mut strikes = self.lock();
        if strikes.len() >= Self::MAX_KEYS {
            strikes.retain(|_, s| now.saturating_duration_since(s.last) < Self::MAX_DELAY);
        }
        for key in keys {
            let entry = strikes.entry(key.clone()).or_insert(Strikes {
                failures: 0,
                last: now,
            });
            entry.failures = entry.failures.saturating_add(1);
            entry.last = now;
        }
    }

    pub fn clear(&self, keys: &[String]) {
        let mut strikes = self.lock();
        for key in keys {
            strikes.remove(key);
        }
    }
}

fn throttle_keys(email: &str, client: Option<IpAddr>) -> Vec<String> {
    let mut keys = vec![format!("account:{email}")];
    if let Some(ip) = client {
        keys.push(format!("client:{ip}"));
    }
    keys
}

/// Checks an email and password. Every failure is audited (never the
/// password) and counts toward throttling; an unknown or disabled account
/// costs the same time and gets the same answer as a wrong password.
pub async fn sign_in(
    db: &Database,
    throttle: &Throttle,
    email: &str,
    password: &str,
    client: Option<IpAddr>,
) -> Result<SessionUser, SignInError> {
    let normalised = users::normalise_email(email).ok();
    let shown_email = normalised
        .clone()
        .unwrap_or_else(|| "(not an email address)".to_owned());
    let keys = throttle_keys(&shown_email, client);
    let client_text = client.map(|ip| ip.to_string());

    let failed = |details: serde_json::Value, user: Option<&StoredUser>| {
        NewEntry::new(
            Actor::User {
                id: user.map(|u| u.user.id),
                email: shown_email.clone(),
                role: user.map(|u| u.user.role.as_str()).unwrap_or("").to_owned(),
            },
            AuditAction::LoginFailed,
            Outcome::Denied,
        )
        .details(details)
    };

    if let Some(wait) = throttle.wait(&keys, Instant::now()) {
        let seconds = wait.as_secs().max(1);
        audit::append(
            db,
            &failed(
                serde_json::json!({"why": "throttled", "client": client_text, "retry_after_s": seconds}),
                None,
            ),
        )
        .await?;
        return Err(SignInError::Throttled(seconds));
    }

    let stored = match &normalised {
        Some(email) => users::find_by_email(db, email).await?,
        None => None,
    };
    let usable = stored.as_ref().filter(|s| !s.user.disabled);
    let password_ok = password.chars().count() <= password::MAX_PASSWORD_CHARS
        && password::verify(password.to_owned(), usable.map(|s| s.password_hash.clone())).await?;

    match usable {
        Some(stored) if password_ok => {
            throttle.clear(&keys);
            let user = SessionUser::from_stored(stored);
            audit::append(
                db,
                &NewEntry::new(user.actor(), AuditAction::Login, Outcome::Accepted)
                    .details(serde_json::json!({"client": client_text})),
            )
            .await?;
            Ok(user)
        }
        _ => {
            throttle.fail(&keys, Instant::now());
            let why = match (&stored, password_ok) {
                (None, _) => "unknown account",
                (Some(s), _) if s.user.disabled => "account disabled",
                _ => "wrong password",
            };
            audit::append(
                db,
                &failed(
                    serde_json::json!({"why": why, "client": client_text}),
                    stored.as_ref(),
                ),
            )
            .await?;
            Err(SignInError::Invalid)
        }
    }
}

/// The session store on whichever database the console uses; the table is
/// created by the console's own migrations.
#[derive(Debug, Clone)]
pub enum Sessions {
    Sqlite(SqliteStore),
    Postgres(PostgresStore),
}

impl Sessions {
    pub async fn new(db: &Database) -> Result<Self, Error> {
        match db {
            Database::Sqlite(pool) => Ok(Self::Sqlite(
                SqliteStore::new(pool.clone())
                    .with_table_name("sessions")
                    .map_err(Error::Corrupt)?,
            )),
            Database::Postgres(pool) => {
                // The store names its schema; ours is wherever the
                // migrations ran (the connection's search path).
                let schema: String = sqlx::query_scalar("SELECT current_schema()")
                    .fetch_one(pool)
                    .await?;
                Ok(Self::Postgres(
                    PostgresStore::new(pool.clone())
                        .with_schema_name(schema)
                        .and_then(|store| store.with_table_name("sessions"))
                        .map_err(Error::Corrupt)?,
                ))
            }
        }
    }
}

#[async_trait]
impl SessionStore for Sessions {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        match self {
            Self::Sqlite(store) => store.create(record).await,
            Self::Postgres(store) => store.create(record).await,
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        match self {
            Self::Sqlite(store) => store.save(record).await,
            Self::Postgres(store) => store.save(record).await,
        }
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        match self {
            Self::Sqlite(store) => store.load(id).await,
            Self::Postgres(store) => store.load(id).await,
        }
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        match self {
            Self::Sqlite(store) => store.delete(id).await,
            Self::Postgres(store) => store.delete(id).await,
        }
    }
}

#[async_trait]
impl ExpiredDeletion for Sessions {
    async fn delete_expired(&self) -> session_store::Result<()> {
        match self {
            Self::Sqlite(store) => store.delete_expired().await,
            Self::Postgres(store) => store.delete_expired().await,
        }
    }
}

/// Shared by every request: the users' throttle and the session store.
#[derive(Clone)]
pub struct AuthServices {
    pub throttle: Arc<Throttle>,
    pub sessions: Sessions,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttling_starts_after_the_free_failures_and_doubles() {
        let throttle = Throttle::default();
        let keys = throttle_keys("a@example.com", None);
        let t0 = Instant::now();
        for _ in 0..Throttle::FREE_FAILURES {
            assert_eq!(throttle.wait(&keys, t0), None);
            throttle.fail(&keys, t0);
        }
        assert_eq!(throttle.wait(&keys, t0), Some(Duration::from_secs(1)));
        throttle.fail(&keys, t0);
        assert_eq!(throttle.wait(&keys, t0), Some(Duration::from_secs(2)));
        assert_eq!(throttle.wait(&keys, t0 + Duration::from_secs(2)), None);
        for _ in 0..40 {
            throttle.fail(&keys, t0);
        }
        assert_eq!(throttle.wait(&keys, t0), Some(Throttle::MAX_DELAY));
        throttle.clear(&keys);
        assert_eq!(throttle.wait(&keys, t0), None);
    }

    #[test]
    fn a_client_address_is_throttled_across_accounts() {
        let throttle = Throttle::default();
        let ip: IpAddr = "192.0.2.7".parse().expect("ip");
        let t0 = Instant::now();
        for n in 0..5 {
            throttle.fail(
                &throttle_keys(&format!("user{n}@example.com"), Some(ip)),
                t0,
            );
        }
        assert!(
            throttle
                .wait(&throttle_keys("fresh@example.com", Some(ip)), t0)
                .is_some()
        );
        assert!(
            throttle
                .wait(&throttle_keys("fresh@example.com", None), t0)
                .is_none()
        );
    }
}
