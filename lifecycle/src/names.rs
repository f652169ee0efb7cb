//! Kubernetes naming limits, checked where names are registered rather than
//! where a cluster call would fail.

use serde::{Deserialize, Serialize};

/// The longest DNS-1123 label (namespace, service and most object names).
pub const MAX_DNS_LABEL: usize = 63;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum NameError {
    #[error("required")]
    Empty,
    #[error("must be at most {max} characters (is {len})")]
    TooLong { len: usize, max: usize },
    #[error(
        "must consist of lowercase letters, digits and '-', and start and end with a letter or digit"
    )]
    Invalid,
}

/// A DNS-1123 label: lowercase alphanumerics and '-', alphanumeric at both
/// ends, at most 63 characters.
pub fn validate_dns_label(name: &str) -> Result<(), NameError> {
    validate_dns_label_max(name, MAX_DNS_LABEL)
}

/// As [`validate_dns_label`], with a tighter length budget (a version name
/// must leave room for the process names combined with it).
pub fn validate_dns_label_max(name: &str, max: usize) -> Result<(), NameError> {
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    let len = name.chars().count();
    if len > max {
        return Err(NameError::TooLong { len, max });
    }
    let bytes = name.as_bytes();
    let allowed = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-';
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if !bytes.iter().all(|b| allowed(*b))
        || !bytes.first().is_some_and(|b| alnum(*b))
        || !bytes.last().is_some_and(|b| alnum(*b))
    {
        return Err(NameError::Invalid);
    }
    Ok(())
}

/// A DNS-1123 subdomain (Secret, IngressClass and host names): dot-separated
/// labels, at most 253 characters.
pub fn is_dns_subdomain(name: &str) -> bool {
    name.len() <= 253
        && name
            .split('.')
            .all(|label| validate_dns_label(label).is_ok())
}

/// A label or annotation key: an optional DNS-subdomain prefix and `/`, then
/// a name of at most 63 letters, digits, '-', '_' and '.', alphanumeric at
/// both ends.
pub fn is_qualified_name(key: &str) -> bool {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    prefix.is_none_or(is_dns_subdomain) && !name.is_empty() && is_label_value(name)
}

/// A label value: empty, or at most 63 letters, digits, '-', '_' and '.',
/// alphanumeric at both ends.
pub fn is_label_value(value: &str) -> bool {
    let bytes = value.as_bytes();
    let alnum = |b: &u8| b.is_ascii_alphanumeric();
    value.is_empty()
        || (bytes.len() <= MAX_DNS_LABEL
            && bytes
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
            && bytes.first().is_some_and(alnum)
            && bytes.last().is_some_and(alnum))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_dns_labels() {
        for name in ["a", "v1", "demo", "my-runtime-2", &"a".repeat(63)] {
            assert_eq!(validate_dns_label(name), Ok(()), "{name}");
        }
    }

    #[test]
    fn refuses_what_kubernetes_refuses() {
        assert_eq!(validate_dns_label(""), Err(NameError::Empty));
        assert_eq!(
            validate_dns_label(&"a".repeat(64)),
            Err(NameError::TooLong { len: 64, max: 63 })
        );
        for name in ["V1", "-a", "a-", "a_b", "a.b", "ünï", "a b"] {
            assert_eq!(validate_dns_label(name), Err(NameError::Invalid), "{name}");
        }
    }

    #[test]
    fn qualified_names_subdomains_and_label_values() {
        for ok in [
            "app",
            "cert-manager.io/cluster-issuer",
            "nvidia.com/gpu",
            "a.b_c-d",
        ] {
            assert!(is_qualified_name(ok), "{ok}");
        }
        for bad in ["", "/x", "Bad Prefix/x", "x/", "-x", "a/b/c!"] {
            assert!(!is_qualified_name(bad), "{bad}");
        }
        assert!(is_dns_subdomain("demo.apps.example.com"));
        assert!(!is_dns_subdomain("demo..example.com"));
        assert!(!is_dns_subdomain("Demo.example.com"));
        assert!(is_label_value("") && is_label_value("A100_x"));
        assert!(!is_label_value("-a") && !is_label_value(&"a".repeat(64)));
    }
}
