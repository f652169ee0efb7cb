//! Signing in: password checks with throttling (see [`crate::throttle`]) and auditing, the session
//! user axum-login keeps, and the session store on either database.

use std::{net::IpAddr, sync::Arc};

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
    throttle::Keys,
    users::{self, StoredUser},
};

pub use crate::throttle::Throttle;

/// The signed-in user as the session knows it.
#[derive(Clone, Serialize, Deserialize)]
pub struct SessionUser {
    pub id: i64,
    pub email: String,
    pub role: Role,
    /// Changes when the password, the role or the session epoch does,
    /// which ends every session made before: a change of privilege is a
    /// new sign-in, and so a new session id.
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
        hasher.update(stored.user.role.as_str().as_bytes());
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
    let keys = Keys::new(&shown_email, client);
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

    if let Some(wait) = throttle.wait(db, &keys).await? {
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
            throttle.clear(db, &keys).await?;
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
            throttle.fail(db, &keys).await?;
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

/// Whether a session that was signed in as `user` still is, and still may
/// do what `permission` allows: the session exists and has not expired (a
/// sign-out deletes it), the user is enabled, their sessions were not
/// revoked and their password not reset (both change the auth hash), and
/// their role still grants it. For what outlives its request (a live
/// stream), which the session layer checks only once.
pub async fn still_allowed(
    db: &Database,
    sessions: &Sessions,
    session: Id,
    user: &SessionUser,
    permission: lifecycle::Permission,
) -> Result<bool, Error> {
    let alive = sessions
        .load(&session)
        .await
        .map_err(|e| Error::Corrupt(format!("session store: {e}")))?
        .is_some_and(|record| {
            record.expiry_date > tower_sessions::cookie::time::OffsetDateTime::now_utc()
        });
    if !alive {
        return Ok(false);
    }
    Ok(users::find_by_id(db, user.id)
        .await?
        .filter(|stored| !stored.user.disabled)
        .map(|stored| SessionUser::from_stored(&stored))
        .is_some_and(|now| now.auth_hash == user.auth_hash && now.role.allows(permission)))
}

/// What a refused caller was trying to do, for the `denied` entry.
pub struct Attempt {
    pub action: AuditAction,
    pub runtime: Option<String>,
    pub version: Option<String>,
}

/// Whether `role` grants `permission`, for a page, a server function or the
/// REST API alike. A refused change (`audit_as` given) is audited as
/// `denied`; refused reads are not. `Ok(Err(words))` says why to the caller.
pub async fn authorize(
    db: &Database,
    actor: &Actor,
    role: Role,
    permission: lifecycle::Permission,
    audit_as: Option<Attempt>,
) -> Result<Result<(), &'static str>, Error> {
    if role.allows(permission) {
        return Ok(Ok(()));
    }
    if let Some(attempt) = audit_as {
        let mut entry = NewEntry::new(actor.clone(), attempt.action, Outcome::Denied)
            .details(serde_json::json!({"missing_permission": permission, "role": role}));
        if let Some(runtime) = attempt.runtime {
            entry = entry.target(runtime, attempt.version);
        }
        audit::append(db, &entry).await?;
    }
    tracing::info!(user = %actor.name(), %permission, "refused");
    Ok(Err(permission.refusal()))
}

/// Shared by every request: the users' throttle and the session store.
#[derive(Clone)]
pub struct AuthServices {
    pub throttle: Arc<Throttle>,
    pub sessions: Sessions,
    /// Proxies in front of the console that append to `X-Forwarded-For`
    /// (an ingress controller: 1). 0 trusts no header: the client is the
    /// TCP peer.
    pub trusted_proxy_hops: usize,
}

/// The client a request came from, behind `hops` trusted proxies that each
/// appended the address they saw to `X-Forwarded-For` (`forwarded`, every
/// value joined): the entry the outermost trusted proxy wrote. Entries left
/// of it are whatever the client sent and are ignored. `None` when there are
/// too few entries (the caller falls back to the TCP peer).
pub fn forwarded_client(forwarded: &str, hops: usize) -> Option<IpAddr> {
    if hops == 0 {
        return None;
    }
    let entries: Vec<&str> = forwarded
        .split(',')
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .collect();
    let entry = entries.len().checked_sub(hops).map(|i| entries[i])?;
    // `[2001:db8::1]:443`, `192.0.2.1:80` or a bare address.
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<std::net::SocketAddr>().ok().map(|a| a.ip()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_is_what_the_outermost_trusted_proxy_saw() {
        let ip = |s: &str| s.parse::<IpAddr>().ok();
        // One ingress: it appended the real peer; the rest is the client's.
        assert_eq!(
            forwarded_client("6.6.6.6, 203.0.113.9", 1),
            ip("203.0.113.9")
        );
        assert_eq!(forwarded_client("203.0.113.9", 1), ip("203.0.113.9"));
        // A CDN then an ingress.
        assert_eq!(
            forwarded_client("6.6.6.6, 203.0.113.9, 198.51.100.2", 2),
            ip("203.0.113.9")
        );
        assert_eq!(forwarded_client("[2001:db8::1]:443", 1), ip("2001:db8::1"));
        assert_eq!(forwarded_client("192.0.2.1:8080", 1), ip("192.0.2.1"));
        // Trusting nobody, too few entries, or junk: the TCP peer decides.
        assert_eq!(forwarded_client("203.0.113.9", 0), None);
        assert_eq!(forwarded_client("203.0.113.9", 2), None);
        assert_eq!(forwarded_client("", 1), None);
        assert_eq!(forwarded_client("not-an-address", 1), None);
    }
}
