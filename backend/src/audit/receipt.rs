//! Signed heads of the audit chain, so that cutting its end off is detected.
//!
//! The hash chain proves every kept entry unaltered and in order, but a
//! chain whose newest entries were deleted (by someone who dropped the
//! database's protection) is still a valid chain. A receipt is the head of
//! the chain at one moment (an entry's id and hash, when) signed with an
//! Ed25519 key held outside the database. Receipts go where the database's
//! administrator cannot rewrite them: every action's answer, the log output
//! (a checkpoint every few minutes), and whoever kept one.
//! [`check`] then tells whether the log still holds what a receipt says.

use std::{path::Path, sync::Arc};

use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};
use serde::{Deserialize, Serialize};

use super::{
    entry::now_timestamp,
    retention,
    verify::{Verification, verify},
};
use crate::{db::Database, error::Result};

/// What is signed: a fixed prefix, so a signature made for anything else
/// never passes as a receipt.
fn message(entry_id: i64, hash: &str, at: &str) -> Vec<u8> {
    format!("runtime-console audit head v1\n{entry_id}\n{hash}\n{at}").into_bytes()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex<const N: usize>(text: &str) -> Option<[u8; N]> {
    let text = text.trim();
    if text.len() != N * 2 || !text.is_ascii() {
        return None;
    }
    let mut out = [0u8; N];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&text[i * 2..i * 2 + 2], 16).ok()?;
    }
    Some(out)
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    #[error("the audit signing key must be 64 hex digits (an Ed25519 seed)")]
    Malformed,
    #[error("cannot read or write the audit signing key {path}: {detail}")]
    Io { path: String, detail: String },
    #[error("no randomness for a new key: {0}")]
    Random(String),
}

/// The console's audit signing key.
#[derive(Clone)]
pub struct AuditKey(Arc<SigningKey>);

impl std::fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AuditKey({})", self.public())
    }
}

impl AuditKey {
    pub fn generate() -> std::result::Result<Self, KeyError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| KeyError::Random(e.to_string()))?;
        Ok(Self(Arc::new(SigningKey::from_bytes(&seed))))
    }

    /// From its text form: the seed as 64 hex digits.
    pub fn from_text(text: &str) -> std::result::Result<Self, KeyError> {
        let seed = unhex::<32>(text).ok_or(KeyError::Malformed)?;
        Ok(Self(Arc::new(SigningKey::from_bytes(&seed))))
    }

    pub fn read(path: &Path) -> std::result::Result<Self, KeyError> {
        let text = std::fs::read_to_string(path).map_err(|e| KeyError::Io {
            path: path.display().to_string(),
            detail: e.to_string(),
        })?;
        Self::from_text(&text)
    }

    /// The key in `path`, made there (readable by its owner only) when the
    /// file does not exist yet: the demo's key. Written whole under another
    /// name and then linked into place, so two servers starting at once (or
    /// one killed mid-write) never leave a half-written key; whoever links
    /// second reads the first one's.
    pub fn read_or_create(path: &Path) -> std::result::Result<Self, KeyError> {
        if path.exists() {
            return Self::read(path);
        }
        let io = |e: std::io::Error| KeyError::Io {
            path: path.display().to_string(),
            detail: e.to_string(),
        };
        let key = Self::generate()?;
        if crate::key_file::create(path, &key.to_text()).map_err(io)? {
            Ok(key)
        } else {
            Self::read(path)
        }
    }

    pub fn to_text(&self) -> String {
        hex(&self.0.to_bytes())
    }

    /// The public key, as receipts name it (64 hex digits).
    pub fn public(&self) -> String {
        hex(self.0.verifying_key().as_bytes())
    }

    /// A receipt for the entry `entry_id` with `hash` as the head, now.
    pub fn sign(&self, entry_id: i64, hash: &str) -> Receipt {
        let at = now_timestamp();
        let signature = self.0.sign(&message(entry_id, hash, &at));
        Receipt {
            entry_id,
            hash: hash.to_owned(),
            at,
            key: self.public(),
            signature: hex(&signature.to_bytes()),
        }
    }
}

/// The chain's head at one moment, signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    pub entry_id: i64,
    pub hash: String,
    pub at: String,
    /// The public key that signed it.
    pub key: String,
    pub signature: String,
}

impl Receipt {
    /// Whether the signature is the one `key` made for these fields. `pinned`
    /// is the public key the verifier trusts; without it the receipt's own
    /// key is taken (which proves the receipt unaltered, not who made it).
    pub fn signed_by(&self, pinned: Option<&str>) -> bool {
        let key = pinned.unwrap_or(&self.key);
        if !key.trim().eq_ignore_ascii_case(self.key.trim()) {
            return false;
        }
        let (Some(key), Some(signature)) = (unhex::<32>(key), unhex::<64>(&self.signature)) else {
            return false;
        };
        let Ok(key) = VerifyingKey::from_bytes(&key) else {
            return false;
        };
        key.verify(
            &message(self.entry_id, &self.hash, &self.at),
            &Signature::from_bytes(&signature),
        )
        .is_ok()
    }
}

/// The newest entry's id and hash, if there is any entry.
pub async fn head(db: &Database) -> Result<Option<(i64, String)>> {
    let sql = "SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1";
    Ok(on_pool!(db, |pool| sqlx::query_as(sql)
        .fetch_optional(pool)
        .await?))
}

/// A receipt for the chain's head now; `None` for an empty log.
pub async fn checkpoint(db: &Database, key: &AuditKey) -> Result<Option<Receipt>> {
    Ok(head(db).await?.map(|(id, hash)| key.sign(id, &hash)))
}

/// What the log says to a receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum ReceiptCheck {
    /// The chain is intact and still holds the receipt's entry with its hash.
    Holds { entries_after: i64 },
    /// The receipt's entry was removed by a recorded retention run, whose
    /// anchor carries the receipt's hash, or is older than the run's
    /// cutoff (not checkable, and not a sign of tampering).
    RemovedByRetention { up_to_id: i64 },
    /// The log ends before the receipt's entry: its newest entries are gone.
    Truncated { last_id: Option<i64> },
    /// The entry is there with another hash: history was rewritten.
    Rewritten { found_hash: String },
    /// The chain itself does not verify.
    Broken(Verification),
    /// The signature is not the trusted key's for these fields.
    BadSignature,
}

impl ReceiptCheck {
    pub fn holds(&self) -> bool {
        matches!(self, Self::Holds { .. } | Self::RemovedByRetention { .. })
    }
}

/// Checks the log against a receipt someone kept: the signature (with the
/// `pinned` public key when given), the chain, then that the entry the
/// receipt names is still there with the hash it names.
pub async fn check(db: &Database, receipt: &Receipt, pinned: Option<&str>) -> Result<ReceiptCheck> {
    if !receipt.signed_by(pinned) {
        return Ok(ReceiptCheck::BadSignature);
    }
    let chain = verify(db).await?;
    if !matches!(chain, Verification::Intact { .. }) {
        return Ok(ReceiptCheck::Broken(chain));
    }
    let sql = "SELECT hash FROM audit_log WHERE id = $1";
    let found: Option<(String,)> = on_pool!(db, |pool| sqlx::query_as(sql)
        .bind(receipt.entry_id)
        .fetch_optional(pool)
        .await?);
    if let Some((hash,)) = found {
        if hash != receipt.hash {
            return Ok(ReceiptCheck::Rewritten { found_hash: hash });
        }
        let sql = "SELECT COUNT(*) FROM audit_log WHERE id > $1";
        let (after,): (i64,) = on_pool!(db, |pool| sqlx::query_as(sql)
            .bind(receipt.entry_id)
            .fetch_one(pool)
            .await?);
        return Ok(ReceiptCheck::Holds {
            entries_after: after,
        });
    }
    if let Some(run) = retention::latest_checkpoint(db).await?
        && receipt.entry_id <= run.up_to_id
    {
        if receipt.entry_id == run.up_to_id && run.anchor_hash != receipt.hash {
            return Ok(ReceiptCheck::Rewritten {
                found_hash: run.anchor_hash,
            });
        }
        return Ok(ReceiptCheck::RemovedByRetention {
            up_to_id: run.up_to_id,
        });
    }
    Ok(ReceiptCheck::Truncated {
        last_id: head(db).await?.map(|(id, _)| id),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_receipt_verifies_with_its_key_and_with_no_other() {
        let key = AuditKey::generate().expect("key");
        let receipt = key.sign(42, "abc");
        assert!(receipt.signed_by(None));
        assert!(receipt.signed_by(Some(&key.public())));
        let other = AuditKey::generate().expect("key");
        assert!(!receipt.signed_by(Some(&other.public())));
        for altered in [
            Receipt {
                entry_id: 41,
                ..receipt.clone()
            },
            Receipt {
                hash: "abd".into(),
                ..receipt.clone()
            },
            Receipt {
                at: "2000-01-01T00:00:00.000000Z".into(),
                ..receipt.clone()
            },
            // Re-signed by someone else, naming their own key.
            other.sign(42, "abc"),
        ] {
            assert!(!altered.signed_by(Some(&key.public())), "{altered:?}");
        }
    }

    #[test]
    fn servers_making_the_demo_key_at_once_end_up_with_one_key() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("keys/audit-signing.key");
        let keys: Vec<String> = std::thread::scope(|scope| {
            let made: Vec<_> = (0..8)
                .map(|_| scope.spawn(|| AuditKey::read_or_create(&path).expect("key").public()))
                .collect();
            made.into_iter()
                .map(|t| t.join().expect("thread"))
                .collect()
        });
        assert!(keys.iter().all(|k| k == &keys[0]), "{keys:?}");
        assert_eq!(AuditKey::read(&path).expect("reads").public(), keys[0]);
        let left: Vec<_> = std::fs::read_dir(path.parent().expect("dir"))
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(left.len(), 1, "no staged files left: {left:?}");
    }

    #[test]
    fn a_key_survives_its_text_form_and_refuses_junk() {
        let key = AuditKey::generate().expect("key");
        let again = AuditKey::from_text(&key.to_text()).expect("parses");
        assert_eq!(again.public(), key.public());
        for junk in ["", "zz", &"0".repeat(63), &"g".repeat(64)] {
            assert_eq!(
                AuditKey::from_text(junk).map(|_| ()),
                Err(KeyError::Malformed)
            );
        }
    }
}
