//! Password hashing with argon2id, always off the async runtime (each hash
//! takes tens of milliseconds of one core).

use std::sync::OnceLock;

use argon2::{
    Argon2, PasswordHash, PasswordHasher, PasswordVerifier,
    password_hash::{SaltString, rand_core::OsRng},
};

use crate::error::Error;

pub const MIN_NEW_PASSWORD_CHARS: usize = 12;
/// Hashing cost grows with input; nothing legitimate is longer.
pub const MAX_PASSWORD_CHARS: usize = 1024;

/// Rules for a password being set (signing in only checks the upper bound).
pub fn check_new(password: &str) -> Result<(), String> {
    let chars = password.chars().count();
    if chars < MIN_NEW_PASSWORD_CHARS {
        return Err(format!(
            "Password must be at least {MIN_NEW_PASSWORD_CHARS} characters."
        ));
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(format!(
            "Password must be at most {MAX_PASSWORD_CHARS} characters."
        ));
    }
    Ok(())
}

fn hash_blocking(password: &str) -> Result<String, Error> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| Error::Password(e.to_string()))
}

/// An argon2id PHC string for `password`.
pub async fn hash(password: String) -> Result<String, Error> {
    tokio::task::spawn_blocking(move || hash_blocking(&password))
        .await
        .map_err(|e| Error::Password(e.to_string()))?
}

/// Checks `password` against `hash`; with `None` it checks against a dummy
/// hash, so an unknown account costs the same time as a wrong password.
pub async fn verify(password: String, hash: Option<String>) -> Result<bool, Error> {
    tokio::task::spawn_blocking(move || {
        let known = hash.is_some();
        let hash = match hash {
            Some(hash) => hash,
            None => dummy_hash()?.to_owned(),
        };
        let parsed = PasswordHash::new(&hash).map_err(|e| Error::Password(e.to_string()))?;
        let matches = Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        Ok(known && matches)
    })
    .await
    .map_err(|e| Error::Password(e.to_string()))?
}

fn dummy_hash() -> Result<&'static str, Error> {
    static DUMMY: OnceLock<String> = OnceLock::new();
    if let Some(hash) = DUMMY.get() {
        return Ok(hash);
    }
    let hash = hash_blocking("not a password anyone has: timing filler")?;
    Ok(DUMMY.get_or_init(|| hash))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_unknown_accounts_never_match() {
        let hash = super::hash("correct horse battery".into())
            .await
            .expect("hash");
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(
            verify("correct horse battery".into(), Some(hash.clone()))
                .await
                .expect("verify")
        );
        assert!(
            !verify("wrong horse battery".into(), Some(hash))
                .await
                .expect("verify")
        );
        assert!(
            !verify("not a password anyone has: timing filler".into(), None)
                .await
                .expect("verify")
        );
    }

    #[test]
    fn new_passwords_need_twelve_characters() {
        assert!(check_new("short").is_err());
        assert!(check_new("exactly12chr").is_ok());
        assert!(check_new(&"x".repeat(MAX_PASSWORD_CHARS + 1)).is_err());
    }
}
