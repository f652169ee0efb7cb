//! The key secrets are sealed with at rest: XChaCha20-Poly1305 (an
//! authenticated cipher, with nonces random enough to never repeat), each
//! value bound to its runtime and name so that a sealed value copied onto
//! another row does not open. A keyring holds the key new values are
//! sealed with and, during a rotation, the one before it; a sealed value
//! names the key that sealed it.

use std::{path::Path, sync::Arc};

use base64::{Engine as _, engine::general_purpose::STANDARD};
use chacha20poly1305::{
    XChaCha20Poly1305, XNonce,
    aead::{Aead, KeyInit, Payload},
};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

const FORMAT: &str = "v1";
const NONCE_BYTES: usize = 24;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    #[error(
        "No secret key is configured: set CONSOLE_SECRET_KEY or --secret-key-file to store secret values."
    )]
    NoKey,
    #[error("the secret key must be 32 bytes, as base64 (44 characters) or 64 hex digits")]
    Malformed,
    #[error("cannot read or write the secret key {path}: {detail}")]
    Io { path: String, detail: String },
    #[error("no randomness for a nonce or key: {0}")]
    Random(String),
    /// Sealed with a key this keyring does not hold, or altered.
    #[error("a stored secret cannot be opened with the configured key ({0})")]
    Unopenable(String),
}

#[derive(Clone)]
struct Key {
    id: String,
    cipher: XChaCha20Poly1305,
    mac: [u8; 32],
    text: String,
}

impl Key {
    fn from_bytes(bytes: [u8; 32]) -> Self {
        let derive = |purpose: &str| -> [u8; 32] {
            let mut hash = Sha256::new();
            hash.update(format!("runtime-console secret key {purpose}\n"));
            hash.update(bytes);
            hash.finalize().into()
        };
        let id: String = derive("id")[..4]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Self {
            id,
            cipher: XChaCha20Poly1305::new(&bytes.into()),
            mac: derive("mac"),
            text: STANDARD.encode(bytes),
        }
    }
}

/// The keys, the one new values are sealed with first. Cheap to clone.
#[derive(Clone, Default)]
pub struct Keyring(Arc<Vec<Key>>);

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.0.iter().map(|k| k.id.as_str()).collect();
        write!(f, "Keyring({ids:?})")
    }
}

fn random<const N: usize>() -> Result<[u8; N], KeyError> {
    let mut out = [0u8; N];
    getrandom::fill(&mut out).map_err(|e| KeyError::Random(e.to_string()))?;
    Ok(out)
}

fn parse_key(text: &str) -> Result<[u8; 32], KeyError> {
    let text = text.trim();
    let bytes = if text.len() == 64 && text.chars().all(|c| c.is_ascii_hexdigit()) {
        (0..32)
            .map(|i| u8::from_str_radix(&text[i * 2..i * 2 + 2], 16))
            .collect::<Result<Vec<u8>, _>>()
            .map_err(|_| KeyError::Malformed)?
    } else {
        STANDARD.decode(text).map_err(|_| KeyError::Malformed)?
    };
    bytes.try_into().map_err(|_| KeyError::Malformed)
}

impl Keyring {
    /// No key: secret values can be neither stored nor opened.
    pub fn none() -> Self {
        Self::default()
    }

    /// A new random key.
    pub fn generate() -> Result<Self, KeyError> {
        Ok(Self(Arc::new(vec![Key::from_bytes(random()?)])))
    }

    /// From the key's text: 32 bytes as base64 or hex.
    pub fn from_text(text: &str) -> Result<Self, KeyError> {
        Ok(Self(Arc::new(vec![Key::from_bytes(parse_key(text)?)])))
    }

    /// The key in `path`; with the key a rotation was writing (`path` with
    /// `.next` appended) first, if one was cut short.
    pub fn read(path: &Path) -> Result<Self, KeyError> {
        let io = |e: std::io::Error| KeyError::Io {
            path: path.display().to_string(),
            detail: e.to_string(),
        };
        let current = std::fs::read_to_string(path).map_err(io)?;
        let mut keys = Vec::new();
        if let Ok(next) = std::fs::read_to_string(next_path(path)) {
            keys.push(Key::from_bytes(parse_key(&next)?));
        }
        keys.push(Key::from_bytes(parse_key(&current)?));
        Ok(Self(Arc::new(keys)))
    }

    /// The key in `path`, made there when missing: the demo's key.
    pub fn read_or_create(path: &Path) -> Result<Self, KeyError> {
        if !path.exists() {
            let io = |e: std::io::Error| KeyError::Io {
                path: path.display().to_string(),
                detail: e.to_string(),
            };
            let made = Self::generate()?;
            crate::key_file::create(path, &made.to_text()?).map_err(io)?;
        }
        Self::read(path)
    }

    /// This keyring with `newer` sealing from now on and every key of this
    /// one still opening what they sealed.
    pub fn rotated_to(&self, newer: &Keyring) -> Result<Self, KeyError> {
        let first = newer.primary()?;
        let mut keys = vec![first.clone()];
        keys.extend(self.0.iter().filter(|k| k.id != first.id).cloned());
        Ok(Self(Arc::new(keys)))
    }

    /// The sealing key's text (for its file).
    pub fn to_text(&self) -> Result<String, KeyError> {
        Ok(self.primary()?.text.clone())
    }

    pub fn is_configured(&self) -> bool {
        !self.0.is_empty()
    }

    /// The id of the key new values are sealed with.
    pub fn key_id(&self) -> Option<&str> {
        self.0.first().map(|k| k.id.as_str())
    }

    fn primary(&self) -> Result<&Key, KeyError> {
        self.0.first().ok_or(KeyError::NoKey)
    }

    /// `value` sealed for `runtime`'s variable `name`.
    pub fn seal(&self, runtime: &str, name: &str, value: &str) -> Result<String, KeyError> {
        let key = self.primary()?;
        let nonce: [u8; NONCE_BYTES] = random()?;
        let aad = binding(runtime, name);
        let sealed = key
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: value.as_bytes(),
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| KeyError::Unopenable("sealing failed".into()))?;
        let mut out = nonce.to_vec();
        out.extend(sealed);
        Ok(format!("{FORMAT}:{}:{}", key.id, STANDARD.encode(out)))
    }

    /// The value `seal` sealed, by whichever key of the ring sealed it.
    pub fn open(&self, runtime: &str, name: &str, sealed: &str) -> Result<String, KeyError> {
        let unopenable = |why: &str| KeyError::Unopenable(format!("{runtime}/{name}: {why}"));
        let mut parts = sealed.splitn(3, ':');
        let (Some(FORMAT), Some(id), Some(body)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(unopenable("unknown format"));
        };
        let key =
            self.0.iter().find(|k| k.id == id).ok_or_else(|| {
                unopenable(&format!("sealed by key {id}, which is not configured"))
            })?;
        let bytes = STANDARD
            .decode(body)
            .map_err(|_| unopenable("not base64"))?;
        if bytes.len() < NONCE_BYTES {
            return Err(unopenable("too short"));
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_BYTES);
        let aad = binding(runtime, name);
        let plain = key
            .cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| unopenable("altered, or bound to another variable"))?;
        String::from_utf8(plain).map_err(|_| unopenable("not text"))
    }

    /// A keyed hash of a value, for the audit log: equal values give equal
    /// hashes under one key, and nobody without the key can test guesses.
    pub fn keyed_hash(&self, value: &str) -> Result<String, KeyError> {
        let key = self.primary()?;
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&key.mac).map_err(|_| KeyError::Malformed)?;
        mac.update(value.as_bytes());
        let digest = mac.finalize().into_bytes();
        let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        Ok(format!("hmac-sha256:{}:{hex}", key.id))
    }
}

/// The name a webhook's signing secret is sealed under (with its runtime):
/// sealed and opened by webhooks, re-sealed by a rotation.
pub(crate) const WEBHOOK_SECRET_BINDING: &str = "(webhook signing secret)";

/// Where a rotation keeps the new key until the database is re-sealed.
pub fn next_path(path: &Path) -> std::path::PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".next");
    name.into()
}

fn binding(runtime: &str, name: &str) -> String {
    format!("runtime-console version value\n{runtime}\n{name}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_with_their_key_and_binding() {
        let ring = Keyring::generate().expect("key");
        let sealed = ring.seal("demo", "API_KEY", "s3cret").expect("seals");
        assert!(!sealed.contains("s3cret"));
        assert_ne!(
            sealed,
            ring.seal("demo", "API_KEY", "s3cret").expect("seals"),
            "fresh nonce"
        );
        assert_eq!(
            ring.open("demo", "API_KEY", &sealed).as_deref(),
            Ok("s3cret")
        );
        assert!(
            ring.open("demo", "OTHER", &sealed).is_err(),
            "bound to its name"
        );
        assert!(
            ring.open("other", "API_KEY", &sealed).is_err(),
            "bound to its runtime"
        );
        let other = Keyring::generate().expect("key");
        assert!(other.open("demo", "API_KEY", &sealed).is_err());
        let mut altered = sealed.clone();
        altered.pop();
        altered.push(if sealed.ends_with('A') { 'B' } else { 'A' });
        assert!(ring.open("demo", "API_KEY", &altered).is_err());
        let both = ring.rotated_to(&other).expect("rotates");
        assert_eq!(both.key_id(), other.key_id());
        assert_eq!(
            both.open("demo", "API_KEY", &sealed).as_deref(),
            Ok("s3cret")
        );
        assert_eq!(Keyring::none().seal("demo", "X", "v"), Err(KeyError::NoKey));
    }

    #[test]
    fn keys_read_as_base64_or_hex_and_keyed_hashes_depend_on_the_key() {
        let hex = "00".repeat(32);
        let b64 = STANDARD.encode([0u8; 32]);
        let (a, b) = (
            Keyring::from_text(&hex).expect("hex"),
            Keyring::from_text(&b64).expect("b64"),
        );
        assert_eq!(a.key_id(), b.key_id());
        assert_eq!(a.keyed_hash("v"), b.keyed_hash("v"));
        let c = Keyring::generate().expect("key");
        assert_ne!(a.keyed_hash("v"), c.keyed_hash("v"));
        assert_eq!(Keyring::from_text("short").err(), Some(KeyError::Malformed));
        assert!(
            !format!("{a:?}").contains(&b64),
            "Debug never shows the key"
        );
    }
}
