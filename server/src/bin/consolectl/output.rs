//! Printing answers: aligned columns for people, the API's JSON for scripts.

use serde_json::Value;

use crate::Output;

/// A field of `row` as text: strings bare, null as `-`.
pub fn field(row: &Value, key: &str) -> String {
    match &row[key] {
        Value::Null => "-".to_owned(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Prints `rows` as a table of `columns` (header, key), or `json` whole.
pub fn print(out: Output, json: &Value, rows: &[Value], columns: &[(&str, &str)]) {
    match out {
        Output::Json => println!(
            "{}",
            serde_json::to_string_pretty(json).unwrap_or_else(|_| json.to_string())
        ),
        Output::Table => {
            let cells: Vec<Vec<String>> = rows
                .iter()
                .map(|row| columns.iter().map(|(_, key)| field(row, key)).collect())
                .collect();
            let widths: Vec<usize> = columns
                .iter()
                .enumerate()
                .map(|(i, (header, _))| {
                    cells
                        .iter()
                        .map(|r| r[i].chars().count())
                        .chain([header.len()])
                        .max()
                        .unwrap_or(0)
                })
                .collect();
            let line = |values: Vec<String>| {
                values
                    .iter()
                    .zip(&widths)
                    .map(|(v, w)| format!("{v:<w$}"))
                    .collect::<Vec<_>>()
                    .join("  ")
                    .trim_end()
                    .to_owned()
            };
            println!(
                "{}",
                line(columns.iter().map(|(h, _)| (*h).to_owned()).collect())
            );
            for row in cells {
                println!("{}", line(row));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_read_as_text() {
        let row = serde_json::json!({"a": "x", "b": null, "c": 3, "d": true});
        assert_eq!(field(&row, "a"), "x");
        assert_eq!(field(&row, "b"), "-");
        assert_eq!(field(&row, "c"), "3");
        assert_eq!(field(&row, "d"), "true");
        assert_eq!(field(&row, "missing"), "-");
    }
}
