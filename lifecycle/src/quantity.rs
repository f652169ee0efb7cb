//! Resource quantities as a manifest or a runtime's settings write them
//! (`250m`, `0.5`, `512Mi`, `1G`): checked when they are registered, so a
//! typo is a field error rather than a refusal from the cluster at start.

/// The binary and decimal suffixes Kubernetes accepts, with their factors.
const SUFFIXES: [(&str, f64); 11] = [
    ("Ki", 1024.0),
    ("Mi", 1024.0 * 1024.0),
    ("Gi", 1024.0 * 1024.0 * 1024.0),
    ("Ti", 1024.0 * 1024.0 * 1024.0 * 1024.0),
    ("m", 0.001),
    ("k", 1e3),
    ("M", 1e6),
    ("G", 1e9),
    ("T", 1e12),
    ("P", 1e15),
    ("E", 1e18),
];

/// The quantity's value in its base unit (cores, bytes), or `None` when it
/// is not a non-negative Kubernetes quantity.
pub fn parse(text: &str) -> Option<f64> {
    if text.is_empty() || text.len() > 32 {
        return None;
    }
    let (number, factor) = SUFFIXES
        .iter()
        .find_map(|(suffix, factor)| text.strip_suffix(suffix).map(|n| (n, *factor)))
        .unwrap_or((text, 1.0));
    // Digits with at most one '.', nothing else: no sign, no exponent
    // spelled with a suffix, no spaces.
    let well_formed = !number.is_empty()
        && number.chars().all(|c| c.is_ascii_digit() || c == '.')
        && number.chars().filter(|c| *c == '.').count() <= 1
        && number != ".";
    if !well_formed {
        return None;
    }
    number.parse::<f64>().ok().map(|n| n * factor)
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn reads_the_suffixes_kubernetes_reads() {
        assert_eq!(parse("250m"), Some(0.25));
        assert_eq!(parse("2"), Some(2.0));
        assert_eq!(parse("0.5"), Some(0.5));
        assert_eq!(parse("512Mi"), Some(512.0 * 1024.0 * 1024.0));
        assert_eq!(parse("1G"), Some(1e9));
    }

    #[test]
    fn refuses_what_the_api_server_would_refuse() {
        for bad in ["", "abc", "1.2.3", "-1", "1 Gi", "1gb", ".", "m", "1Mi "] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }
}
