//! Resource quantities (`100m`, `0.5`, `128Mi`, `1G`, `1e3`) as the API
//! reads them, in thousandths so that CPU millicores stay exact. From
//! "Quantity" in the API reference (`k8s.io/apimachinery/pkg/api/resource`).

use serde_json::Value;

/// The quantity in thousandths of its unit (`"100m"` → 100, `"2"` → 2000,
/// `"1Ki"` → 1_024_000), or `None` when it does not parse.
pub fn milli(value: &Value) -> Option<i128> {
    let text = match value {
        Value::String(s) => s.trim().to_owned(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(split);
    let (mantissa, exponent): (&str, i32) = match suffix.strip_prefix(['e', 'E']) {
        Some(exp) => (number, exp.parse().ok()?),
        None => (number, 0),
    };
    let suffix = if suffix.starts_with(['e', 'E']) {
        ""
    } else {
        suffix
    };
    let multiplier: i128 = match suffix {
        "" => 1000,
        "m" => 1,
        "k" => 1000 * 1000,
        "M" => 1000 * 1_000_000,
        "G" => 1000 * 1_000_000_000,
        "T" => 1000 * 1_000_000_000_000,
        "Ki" => 1000 * (1 << 10),
        "Mi" => 1000 * (1 << 20),
        "Gi" => 1000 * (1 << 30),
        "Ti" => 1000 * (1 << 40),
        _ => return None,
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let negative = whole.starts_with('-');
    let whole = whole.trim_start_matches(['+', '-']);
    if whole.is_empty() && fraction.is_empty() {
        return None;
    }
    let digits = format!("{whole}{fraction}");
    let mut value: i128 = if digits.is_empty() {
        0
    } else {
        digits.parse().ok()?
    };
    let mut scale = exponent - fraction.len() as i32;
    value = value.checked_mul(multiplier)?;
    while scale > 0 {
        value = value.checked_mul(10)?;
        scale -= 1;
    }
    while scale < 0 {
        // Round up, as the API does for quantities finer than a milli-unit.
        value = (value + 9) / 10;
        scale += 1;
    }
    Some(if negative { -value } else { value })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn quantities() {
        for (text, expected) in [
            ("100m", 100),
            ("0.5", 500),
            ("2", 2000),
            ("1Ki", 1_024_000),
            ("128Mi", 128 * 1024 * 1024 * 1000),
            ("1G", 1_000_000_000_000),
            ("1e3", 1_000_000),
        ] {
            assert_eq!(milli(&json!(text)), Some(expected), "{text}");
        }
        assert_eq!(milli(&json!(3)), Some(3000));
        assert_eq!(milli(&json!("lots")), None);
        assert_eq!(milli(&json!("1Qi")), None);
    }
}
