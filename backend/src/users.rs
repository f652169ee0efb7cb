//! Console users: who may sign in, with which role. Every change is made by
//! an actor with a reason and recorded in the audit log in the same
//! transaction; the console always keeps at least one enabled admin.

use lifecycle::{AuditAction, Outcome, Reason, Role};
use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::{
    audit::{Actor, AuditConn, NewEntry, now_timestamp},
    db::{Database, TxEnd},
    error::Error,
    password,
};

pub const MAX_EMAIL_CHARS: usize = 254;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub role: Role,
    pub disabled: bool,
    pub created_at: String,
    pub updated_at: String,
}

/// A user with what sessions are checked against.
#[derive(Debug, Clone)]
pub struct StoredUser {
    pub user: User,
    pub password_hash: String,
    pub session_epoch: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("{0}")]
    Invalid(String),
    #[error("That user does not exist.")]
    NotFound,
    #[error("A user with the email {0} already exists.")]
    EmailTaken(String),
    #[error("The console must keep at least one enabled admin; make another admin first.")]
    LastAdmin,
    #[error(transparent)]
    Store(#[from] Error),
}

impl From<sqlx::Error> for UserError {
    fn from(error: sqlx::Error) -> Self {
        Self::Store(error.into())
    }
}

/// Trimmed and lower-cased; refused when it cannot be an address.
pub fn normalise_email(raw: &str) -> Result<String, UserError> {
    let email = raw.trim().to_lowercase();
    let invalid = |why: &str| Err(UserError::Invalid(format!("Email {why}.")));
    if email.is_empty() {
        return invalid("is required");
    }
    if email.chars().count() > MAX_EMAIL_CHARS {
        return invalid(&format!("must be at most {MAX_EMAIL_CHARS} characters"));
    }
    let Some((local, domain)) = email.split_once('@') else {
        return invalid("must look like name@example.com");
    };
    let allowed = |c: char| {
        c.is_alphanumeric() || (c.is_ascii_punctuation() && !"@<>\"(),;:[]\\`".contains(c))
    };
    if local.is_empty()
        || local.len() > 64
        || domain.is_empty()
        || !domain.contains('.')
        || domain.starts_with('.')
        || domain.ends_with('.')
        || !local.chars().all(allowed)
        || !domain
            .chars()
            .all(|c| c.is_alphanumeric() || c == '.' || c == '-')
    {
        return invalid("must look like name@example.com");
    }
    Ok(email)
}

const USER_COLUMNS: &str =
    "id, email, role, password_hash, disabled, session_epoch, created_at, updated_at";

fn stored_from_row<R>(row: &R) -> Result<StoredUser, Error>
where
    R: Row,
    for<'c> &'c str: sqlx::ColumnIndex<R>,
    i64: sqlx::Type<R::Database> + for<'r> sqlx::Decode<'r, R::Database>,
    bool: sqlx::Type<R::Database> + for<'r> sqlx::Decode<'r, R::Database>,
    String: sqlx::Type<R::Database> + for<'r> sqlx::Decode<'r, R::Database>,
{
    let role: String = row.try_get("role")?;
    Ok(StoredUser {
        user: User {
            id: row.try_get("id")?,
            email: row.try_get("email")?,
            role: role
                .parse()
                .map_err(|_| Error::Corrupt(format!("unknown role {role:?} in users")))?,
            disabled: row.try_get("disabled")?,
            created_at: row.try_get("created_at")?,
            updated_at: row.try_get("updated_at")?,
        },
        password_hash: row.try_get("password_hash")?,
        session_epoch: row.try_get("session_epoch")?,
    })
}

macro_rules! fetch_user {
    ($conn:expr, $column:literal, $value:expr) => {{
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE {} = $1", $column);
        match sqlx::query(&sql).bind($value).fetch_optional($conn).await? {
            Some(row) => Some(stored_from_row(&row)?),
            None => None,
        }
    }};
}

pub async fn find_by_email(db: &Database, email: &str) -> Result<Option<StoredUser>, Error> {
    Ok(match db {
        Database::Sqlite(pool) => fetch_user!(pool, "email", email),
        Database::Postgres(pool) => fetch_user!(pool, "email", email),
    })
}

pub async fn find_by_id(db: &Database, id: i64) -> Result<Option<StoredUser>, Error> {
    Ok(match db {
        Database::Sqlite(pool) => fetch_user!(pool, "id", id),
        Database::Postgres(pool) => fetch_user!(pool, "id", id),
    })
}

/// The person `id` (or, for rows without an id, `email`) as they may act
/// now, for work done later in their name (an approved request, a
/// scheduled action): `Err` with why when they no longer may, because
/// their account is gone, disabled, or no longer allowed to operate.
pub async fn acting_as(
    db: &Database,
    id: Option<i64>,
    email: &str,
) -> Result<Result<crate::audit::Actor, String>, Error> {
    let found = match id {
        Some(id) => find_by_id(db, id).await?,
        None => find_by_email(db, email).await?,
    };
    Ok(match found.map(|stored| stored.user) {
        None => Err(format!("{email} no longer has an account.")),
        Some(user) if user.disabled => Err(format!("{email}'s account is disabled.")),
        Some(user) if !user.role.allows(lifecycle::Permission::Operate) => Err(format!(
            "{email} is now a {}, who cannot operate versions.",
            user.role
        )),
        Some(user) => Ok(crate::audit::Actor::User {
            id: Some(user.id),
            email: user.email,
            role: user.role.as_str().to_owned(),
        }),
    })
}

pub async fn list(db: &Database) -> Result<Vec<User>, Error> {
    let sql = format!("SELECT {USER_COLUMNS} FROM users ORDER BY email");
    let rows: Vec<StoredUser> = match db {
        Database::Sqlite(pool) => sqlx::query(&sql)
            .fetch_all(pool)
            .await?
            .iter()
            .map(stored_from_row)
            .collect::<Result<_, _>>()?,
        Database::Postgres(pool) => sqlx::query(&sql)
            .fetch_all(pool)
            .await?
            .iter()
            .map(stored_from_row)
            .collect::<Result<_, _>>()?,
    };
    Ok(rows.into_iter().map(|s| s.user).collect())
}

fn user_entry(actor: &Actor, action: AuditAction, outcome: Outcome, reason: &Reason) -> NewEntry {
    NewEntry::new(actor.clone(), action, outcome).reason(reason.as_str())
}

/// Creates a user (the password is hashed off the async runtime first).
pub async fn create(
    db: &Database,
    actor: &Actor,
    email: &str,
    role: Role,
    new_password: &str,
    reason: &Reason,
) -> Result<User, UserError> {
    let email = normalise_email(email)?;
    password::check_new(new_password).map_err(UserError::Invalid)?;
    let hash = password::hash(new_password.to_owned()).await?;
    let now = now_timestamp();
    write_tx!(UserError, db, |conn| {
        let taken: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
            .bind(&email)
            .fetch_optional(&mut *conn)
            .await?;
        if taken.is_some() {
            Ok(TxEnd::Refuse(UserError::EmailTaken(email.clone())))
        } else {
            let row = sqlx::query(&format!(
                "INSERT INTO users (email, role, password_hash, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $4) RETURNING {USER_COLUMNS}"
            ))
            .bind(&email)
            .bind(role.as_str())
            .bind(&hash)
            .bind(&now)
            .fetch_one(&mut *conn)
            .await?;
            let user = stored_from_row(&row)?.user;
            AuditConn::append_entry(
                &mut *conn,
                &user_entry(actor, AuditAction::UserCreate, Outcome::Accepted, reason).details(
                    serde_json::json!({"user": user.email, "user_id": user.id, "role": role}),
                ),
            )
            .await?;
            Ok(TxEnd::Commit(user))
        }
    })
}

/// A change to one user, decided inside the transaction from its current row.
enum Change {
    Role(Role),
    Disabled(bool),
    RevokeSessions,
    Password(String),
}

impl Change {
    fn action(&self) -> AuditAction {
        match self {
            Change::Role(_) => AuditAction::UserRoleChange,
            Change::Disabled(true) => AuditAction::UserDisable,
            Change::Disabled(false) => AuditAction::UserEnable,
            Change::RevokeSessions => AuditAction::UserRevokeSessions,
            Change::Password(_) => AuditAction::UserPasswordReset,
        }
    }

    /// Whether the change takes an enabled admin away.
    fn removes_admin(&self, user: &User) -> bool {
        let enabled_admin = user.role == Role::Admin && !user.disabled;
        enabled_admin
            && match self {
                Change::Role(role) => *role != Role::Admin,
                Change::Disabled(disabled) => *disabled,
                Change::RevokeSessions | Change::Password(_) => false,
            }
    }
}

macro_rules! apply_change {
    ($conn:expr, $actor:expr, $id:expr, $change:expr, $reason:expr) => {'change: {
        let conn = $conn;
        let change: &Change = $change;
        let Some(current) = fetch_user!(&mut *conn, "id", $id) else {
            return Err(UserError::NotFound);
        };
        let user = current.user;
        let mut details = serde_json::json!({"user": user.email, "user_id": user.id});
        if change.removes_admin(&user) {
            let admins: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled = $1",
            )
            .bind(false)
            .fetch_one(&mut *conn)
            .await?;
            if admins <= 1 {
                details["refused"] = "last enabled admin".into();
                AuditConn::append_entry(
                    &mut *conn,
                    &user_entry($actor, change.action(), Outcome::Denied, $reason).details(details),
                )
                .await?;
                break 'change Ok(TxEnd::Refuse(UserError::LastAdmin));
            }
        }
        let now = now_timestamp();
        // Every change but a role change also ends the user's sessions (the
        // epoch is in each session's auth hash); a role change applies from
        // the user's next request.
        let update = match change {
            Change::Role(role) => {
                details["from"] = user.role.as_str().into();
                details["to"] = role.as_str().into();
                sqlx::query("UPDATE users SET role = $1, updated_at = $2 WHERE id = $3")
                    .bind(role.as_str())
            }
            Change::Disabled(disabled) => sqlx::query(
                "UPDATE users SET disabled = $1, session_epoch = session_epoch + 1, \
                 updated_at = $2 WHERE id = $3",
            )
            .bind(*disabled),
            Change::RevokeSessions => sqlx::query(
                "UPDATE users SET session_epoch = session_epoch + $1, updated_at = $2 WHERE id = $3",
            )
            .bind(1i64),
            Change::Password(hash) => sqlx::query(
                "UPDATE users SET password_hash = $1, session_epoch = session_epoch + 1, \
                 updated_at = $2 WHERE id = $3",
            )
            .bind(hash.as_str()),
        };
        update.bind(&now).bind($id).execute(&mut *conn).await?;
        AuditConn::append_entry(
            &mut *conn,
            &user_entry($actor, change.action(), Outcome::Accepted, $reason).details(details),
        )
        .await?;
        let Some(updated) = fetch_user!(&mut *conn, "id", $id) else {
            return Err(UserError::NotFound);
        };
        Ok(TxEnd::Commit(updated.user))
    }};
}

async fn change(
    db: &Database,
    actor: &Actor,
    id: i64,
    change: Change,
    reason: &Reason,
) -> Result<User, UserError> {
    write_tx!(UserError, db, |conn| apply_change!(
        conn, actor, id, &change, reason
    ))
}

pub async fn change_role(
    db: &Database,
    actor: &Actor,
    id: i64,
    role: Role,
    reason: &Reason,
) -> Result<User, UserError> {
    change(db, actor, id, Change::Role(role), reason).await
}

/// Disabling also ends every session of the user.
pub async fn set_disabled(
    db: &Database,
    actor: &Actor,
    id: i64,
    disabled: bool,
    reason: &Reason,
) -> Result<User, UserError> {
    change(db, actor, id, Change::Disabled(disabled), reason).await
}

pub async fn revoke_sessions(
    db: &Database,
    actor: &Actor,
    id: i64,
    reason: &Reason,
) -> Result<User, UserError> {
    change(db, actor, id, Change::RevokeSessions, reason).await
}

/// Sets a new password and ends the user's sessions.
pub async fn reset_password(
    db: &Database,
    actor: &Actor,
    id: i64,
    new_password: &str,
    reason: &Reason,
) -> Result<User, UserError> {
    password::check_new(new_password).map_err(UserError::Invalid)?;
    let hash = password::hash(new_password.to_owned()).await?;
    change(db, actor, id, Change::Password(hash), reason).await
}
