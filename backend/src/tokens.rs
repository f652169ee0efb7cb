//! API tokens: made by a user for automation, shown once, kept only as a
//! hash. A call with a token acts as its owner, narrowed to the token's scope
//! and, on every request, to the owner's role now: a demotion narrows every
//! token at once, a disabled owner's tokens stop, and a revocation is seen by
//! the next request on any replica (the database is the only state).

use std::net::IpAddr;

use base64::Engine as _;
use lifecycle::{AuditAction, Outcome, Permission, Role, TokenScope, tokens::TOKEN_PREFIX};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::{
    audit::{Actor, AuditConn, NewEntry, now_timestamp, via::TokenRef},
    db::{Database, TxEnd},
    error::Error,
    throttle::{Keys, Throttle},
};

/// How often a token's last use is written: a busy pipeline's every
/// request need not be a write.
const LAST_USED_EVERY_SECONDS: i64 = 60;
/// Throttling counts failed tokens as failed sign-ins of this account.
const THROTTLE_ACCOUNT: &str = "(api token)";

/// A token as its owner and the admins see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenInfo {
    pub id: i64,
    pub user_id: i64,
    pub owner: String,
    pub name: String,
    pub scope: TokenScope,
    /// The token's first characters, to tell tokens apart.
    pub prefix: String,
    pub created_at: String,
    pub expires_at: String,
    pub last_used_at: Option<String>,
    pub last_address: Option<String>,
    pub revoked_at: Option<String>,
}

impl TokenInfo {
    /// `active`, `expired` or `revoked`, at `now` (an audit timestamp).
    pub fn state(&self, now: &str) -> &'static str {
        if self.revoked_at.is_some() {
            "revoked"
        } else if self.expires_at.as_str() <= now {
            "expired"
        } else {
            "active"
        }
    }
}

/// A token just made: the secret is in `token`, and nowhere else ever.
#[derive(Debug, Clone)]
pub struct Created {
    pub token: String,
    pub info: TokenInfo,
}

/// Who a request with a valid token acts as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bearer {
    pub token: TokenRef,
    pub user_id: i64,
    pub email: String,
    /// The scope capped by the owner's role now.
    pub role: Role,
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("{0}")]
    Invalid(String),
    #[error("A {role} can make tokens of scope {widest} at most.", widest = TokenScope::widest_for(*.role).as_str())]
    TooWide { role: Role },
    #[error("There is no such token.")]
    Unknown,
    #[error("Only the token's owner or an admin can revoke it.")]
    NotYours,
    #[error(transparent)]
    Store(#[from] Error),
}

impl From<sqlx::Error> for TokenError {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(e.into())
    }
}

/// Why a presented token was not accepted. One answer for a token that is
/// malformed, unknown, expired or revoked, or whose owner is disabled: the
/// caller learns nothing about which.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    #[error("The API token is not valid.")]
    Invalid,
    #[error("Too many failed attempts. Try again in {0} seconds.")]
    Throttled(u64),
    #[error(transparent)]
    Store(#[from] Error),
}

/// The SHA-256 (hex) a token is stored as.
fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn new_secret() -> Result<String, Error> {
    random_secret(TOKEN_PREFIX)
}

/// `prefix` and 32 random bytes (base64url): a token's or a webhook's secret.
pub(crate) fn random_secret(prefix: &str) -> Result<String, Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| Error::Corrupt(format!("no randomness: {e}")))?;
    Ok(format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    ))
}

const COLUMNS: &str = "t.id, t.user_id, u.email AS owner, t.name, t.scope, t.prefix, t.created_at, \
     t.expires_at, t.last_used_at, t.last_address, t.revoked_at";

fn info_from_row<R>(row: &R) -> Result<TokenInfo, Error>
where
    R: Row,
    for<'c> &'c str: sqlx::ColumnIndex<R>,
    i64: sqlx::Type<R::Database> + for<'r> sqlx::Decode<'r, R::Database>,
    String: sqlx::Type<R::Database> + for<'r> sqlx::Decode<'r, R::Database>,
{
    let scope: String = row.try_get("scope")?;
    Ok(TokenInfo {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        owner: row.try_get("owner")?,
        name: row.try_get("name")?,
        scope: scope
            .parse()
            .map_err(|_| Error::Corrupt(format!("unknown token scope {scope:?}")))?,
        prefix: row.try_get("prefix")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
        last_used_at: row.try_get("last_used_at")?,
        last_address: row.try_get("last_address")?,
        revoked_at: row.try_get("revoked_at")?,
    })
}

/// Makes a token for `owner` (whose role is `owner_role` now), audited as
/// `token.create`. The scope may not exceed what the owner's role grants.
pub async fn create(
    db: &Database,
    owner: &Actor,
    owner_id: i64,
    owner_role: Role,
    name: &str,
    scope: TokenScope,
    days: u32,
) -> Result<Created, TokenError> {
    let name = lifecycle::tokens::token_name(name).map_err(TokenError::Invalid)?;
    if scope.role() > owner_role {
        return Err(TokenError::TooWide { role: owner_role });
    }
    let token = new_secret()?;
    let hash = token_hash(&token);
    let prefix: String = token.chars().take(TOKEN_PREFIX.len() + 6).collect();
    let created_at = now_timestamp();
    let expires_at =
        crate::releases::timestamp(chrono::Utc::now() + chrono::Duration::days(i64::from(days)));
    let insert = "INSERT INTO api_tokens (user_id, name, scope, token_hash, prefix, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id";
    let id = write_tx!(TokenError, db, |conn| {
        let id: i64 = sqlx::query_scalar(insert)
            .bind(owner_id)
            .bind(&name)
            .bind(scope.as_str())
            .bind(&hash)
            .bind(&prefix)
            .bind(&created_at)
            .bind(&expires_at)
            .fetch_one(&mut *conn)
            .await?;
        let entry = NewEntry::new(owner.clone(), AuditAction::TokenCreate, Outcome::Accepted)
            .details(serde_json::json!({
                "token_id": id,
                "name": name,
                "scope": scope,
                "expires_at": expires_at,
            }));
        AuditConn::append_entry(&mut *conn, &entry).await?;
        Ok(TxEnd::Commit(id))
    })?;
    let info = get(db, id).await?.ok_or(TokenError::Unknown)?;
    Ok(Created { token, info })
}

pub async fn get(db: &Database, id: i64) -> Result<Option<TokenInfo>, Error> {
    let sql = format!(
        "SELECT {COLUMNS} FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.id = $1"
    );
    on_pool!(db, |pool| {
        match sqlx::query(&sql).bind(id).fetch_optional(pool).await? {
            Some(row) => Ok(Some(info_from_row(&row)?)),
            None => Ok(None),
        }
    })
}

/// `user`'s tokens (every user's when `None`), newest first.
pub async fn list(db: &Database, user: Option<i64>) -> Result<Vec<TokenInfo>, Error> {
    let filter = if user.is_some() {
        "WHERE t.user_id = $1"
    } else {
        ""
    };
    let sql = format!(
        "SELECT {COLUMNS} FROM api_tokens t JOIN users u ON u.id = t.user_id {filter} ORDER BY t.id DESC"
    );
    on_pool!(db, |pool| {
        let mut query = sqlx::query(&sql);
        if let Some(user) = user {
            query = query.bind(user);
        }
        query
            .fetch_all(pool)
            .await?
            .iter()
            .map(info_from_row)
            .collect()
    })
}

/// Revokes token `id` for `actor` (its owner, or an admin), audited as
/// `token.revoke`. Revoking a revoked token changes nothing and answers
/// `false`.
pub async fn revoke(
    db: &Database,
    actor: &Actor,
    actor_id: i64,
    actor_role: Role,
    id: i64,
) -> Result<bool, TokenError> {
    let Some(token) = get(db, id).await? else {
        return Err(TokenError::Unknown);
    };
    if token.user_id != actor_id && !actor_role.allows(Permission::ManageUsers) {
        return Err(TokenError::NotYours);
    }
    let at = now_timestamp();
    let by = actor.name().to_owned();
    let update = "UPDATE api_tokens SET revoked_at = $1, revoked_by = $2 WHERE id = $3 AND revoked_at IS NULL";
    write_tx!(TokenError, db, |conn| {
        let changed = sqlx::query(update)
            .bind(&at)
            .bind(&by)
            .bind(id)
            .execute(&mut *conn)
            .await?
            .rows_affected();
        if changed == 0 {
            return Ok(TxEnd::Commit(false));
        }
        let entry = NewEntry::new(actor.clone(), AuditAction::TokenRevoke, Outcome::Accepted)
            .details(serde_json::json!({
                "token_id": id,
                "name": token.name,
                "owner": token.owner,
            }));
        AuditConn::append_entry(&mut *conn, &entry).await?;
        Ok(TxEnd::Commit(true))
    })
}

/// The token's owner and scope, when `presented` is a token in force whose
/// owner may still sign in. Failures count toward throttling like failed
/// sign-ins, per client address.
pub async fn authenticate(
    db: &Database,
    throttle: &Throttle,
    presented: &str,
    client: Option<IpAddr>,
) -> Result<Bearer, Refused> {
    let keys = Keys::new(THROTTLE_ACCOUNT, client);
    if let Some(wait) = throttle.wait(db, &keys).await? {
        return Err(Refused::Throttled(wait.as_secs().max(1)));
    }
    let found = if presented.starts_with(TOKEN_PREFIX) && presented.len() <= 128 {
        find(db, &token_hash(presented)).await?
    } else {
        None
    };
    let now = now_timestamp();
    let Some(found) = found.filter(|f| f.revoked_at.is_none() && f.expires_at > now && !f.disabled)
    else {
        throttle.fail(db, &keys).await?;
        return Err(Refused::Invalid);
    };
    let address = client.map(|ip| ip.to_string());
    if due_for_touch(found.last_used_at.as_deref()) || found.last_address != address {
        touch(db, found.id, &now, address.as_deref()).await?;
    }
    Ok(Bearer {
        token: TokenRef {
            id: found.id,
            name: found.name,
        },
        user_id: found.user_id,
        email: found.email,
        role: found.scope.effective(found.role),
    })
}

/// Whether a token last used at `last` should have this use written.
fn due_for_touch(last: Option<&str>) -> bool {
    let Some(last) = last.and_then(|l| chrono::DateTime::parse_from_rfc3339(l).ok()) else {
        return true;
    };
    (chrono::Utc::now() - last.with_timezone(&chrono::Utc)).num_seconds() >= LAST_USED_EVERY_SECONDS
}

struct Found {
    id: i64,
    name: String,
    scope: TokenScope,
    expires_at: String,
    revoked_at: Option<String>,
    last_used_at: Option<String>,
    last_address: Option<String>,
    user_id: i64,
    email: String,
    role: Role,
    disabled: bool,
}

async fn find(db: &Database, hash: &str) -> Result<Option<Found>, Error> {
    let sql = "SELECT t.id, t.name, t.scope, t.expires_at, t.revoked_at, t.last_used_at, \
         t.last_address, t.user_id, u.email, u.role, u.disabled \
         FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = $1";
    on_pool!(db, |pool| {
        let Some(row) = sqlx::query(sql).bind(hash).fetch_optional(pool).await? else {
            return Ok(None);
        };
        let scope: String = row.try_get("scope")?;
        let role: String = row.try_get("role")?;
        Ok(Some(Found {
            id: row.try_get("id")?,
            name: row.try_get("name")?,
            scope: scope
                .parse()
                .map_err(|_| Error::Corrupt(format!("unknown token scope {scope:?}")))?,
            expires_at: row.try_get("expires_at")?,
            revoked_at: row.try_get("revoked_at")?,
            last_used_at: row.try_get("last_used_at")?,
            last_address: row.try_get("last_address")?,
            user_id: row.try_get("user_id")?,
            email: row.try_get("email")?,
            role: role
                .parse()
                .map_err(|_| Error::Corrupt(format!("unknown role {role:?} in users")))?,
            disabled: row.try_get("disabled")?,
        }))
    })
}

async fn touch(db: &Database, id: i64, at: &str, address: Option<&str>) -> Result<(), Error> {
    let sql = "UPDATE api_tokens SET last_used_at = $1, last_address = $2 WHERE id = $3";
    on_pool!(db, |pool| {
        sqlx::query(sql)
            .bind(at)
            .bind(address)
            .bind(id)
            .execute(pool)
            .await?;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_token_is_long_random_and_recognisable() {
        let a = new_secret().expect("random");
        let b = new_secret().expect("random");
        assert!(a.starts_with(TOKEN_PREFIX));
        assert_eq!(a.len(), TOKEN_PREFIX.len() + 43);
        assert_ne!(a, b);
        assert_eq!(token_hash(&a).len(), 64);
        assert_ne!(token_hash(&a), token_hash(&b));
    }
}
