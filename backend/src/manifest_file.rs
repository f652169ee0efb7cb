//! Reading a manifest someone uploaded: YAML or JSON (JSON is YAML), bounded
//! in size and nesting, with errors that point into the input.

use lifecycle::{FieldError, Manifest};

/// Far above any real manifest; refuses abuse before parsing starts.
pub const MAX_MANIFEST_BYTES: usize = 256 * 1024;

/// Most `[` and `{` a manifest may hold. The YAML scanner's time grows with
/// the square of flow nesting (10,000 nested `[` took 3 s in a debug build,
/// 100,000 took 149 s: tests/hostile_manifests.rs), so nesting is bounded
/// before parsing. Counting every bracket, quoted or not, cannot be fooled
/// by quotes or comments, and a real manifest holds a few dozen.
pub const MAX_BRACKETS: usize = 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    #[error("The manifest is {bytes} bytes; at most {MAX_MANIFEST_BYTES} are accepted.")]
    TooLarge { bytes: usize },
    #[error(
        "The manifest holds more than {MAX_BRACKETS} '[' and '{{' characters; write it in block style."
    )]
    TooNested,
    #[error("The manifest is empty.")]
    Empty,
    #[error("The manifest is not UTF-8 text.")]
    NotText,
    /// Where the input does not read as a manifest, in the manifest's own
    /// terms: the field's path, what was expected and found, the line and
    /// column ([`describe`]); never a Rust type.
    #[error("The manifest cannot be read: {0}")]
    Syntax(String),
    #[error("The manifest has {} problem(s).", .0.len())]
    Invalid(Vec<FieldError>),
}

/// Parses and validates a manifest.
pub fn parse(input: &[u8]) -> Result<Manifest, ManifestError> {
    if input.len() > MAX_MANIFEST_BYTES {
        return Err(ManifestError::TooLarge { bytes: input.len() });
    }
    let text = std::str::from_utf8(input).map_err(|_| ManifestError::NotText)?;
    if text.trim().is_empty() {
        return Err(ManifestError::Empty);
    }
    if text.bytes().filter(|b| matches!(b, b'[' | b'{')).count() > MAX_BRACKETS {
        return Err(ManifestError::TooNested);
    }
    // serde_yaml_ng bounds recursion depth and alias expansion, so deeply
    // nested or "billion laughs" input ends in an error, not a crash.
    let manifest: Manifest =
        serde_yaml_ng::from_str(text).map_err(|e| ManifestError::Syntax(describe(&e)))?;
    manifest.validate().map_err(ManifestError::Invalid)?;
    Ok(manifest)
}

/// A parser error in the manifest's terms: `entrypoint.port: expected a
/// whole number from 0 to 65535... found the text "x" (line 2, column 30)`.
/// The parser speaks of the Rust types it fills (`struct Entrypoint`,
/// `u32`, `a sequence`); the person uploading wrote YAML.
pub(crate) fn describe(error: &serde_yaml_ng::Error) -> String {
    let text = error.to_string();
    // The location is appended as " at line L column C"; it is said again
    // below from the error's own location.
    let text = match text.rfind(" at line ") {
        Some(at) if error.location().is_some() => &text[..at],
        _ => text.as_str(),
    };
    // "entrypoint.port: invalid type: ..." — the path, when there is one,
    // comes first and holds no spaces.
    let (path, message) = match text.split_once(": ") {
        Some((path, rest))
            if !path.is_empty()
                && !path.contains(' ')
                && !matches!(path, "invalid type" | "invalid value" | "invalid length") =>
        {
            (path, rest)
        }
        _ => ("the manifest", text),
    };
    let said = if let Some(rest) = message
        .strip_prefix("invalid type: ")
        .or_else(|| message.strip_prefix("invalid value: "))
    {
        match rest.split_once(", expected ") {
            Some((found, expected)) => {
                format!(
                    "expected {}, found {}",
                    expected_words(expected),
                    found_words(found)
                )
            }
            None => rest.to_owned(),
        }
    } else if let Some(field) = message.strip_prefix("missing field ") {
        format!("the field {field} is required")
    } else if let Some(field) = message.strip_prefix("duplicate field ") {
        format!("the field {field} is given more than once")
    } else if let Some(rest) = message.strip_prefix("unknown field ") {
        let rest = rest.replacen(", expected ", " is not a field here; expected ", 1);
        rest.replacen(
            " is not a field here; expected one of ",
            " is not a field here; expected one of: ",
            1,
        )
    } else {
        message.to_owned()
    };
    let said = scrub_type_names(&said);
    match error.location() {
        Some(at) => format!(
            "{path}: {said} (line {}, column {})",
            at.line(),
            at.column()
        ),
        None => format!("{path}: {said}"),
    }
}

/// What the parser expected, in YAML's words.
fn expected_words(expected: &str) -> String {
    match expected {
        "struct Manifest" => "a mapping with name and entrypoint (the manifest)".into(),
        "struct Entrypoint" => "a mapping with image and port (the entrypoint)".into(),
        "struct Process" => "a mapping with name and image (a process)".into(),
        "struct Probe" => "a mapping with path and port (a readiness probe)".into(),
        "u32" => "a whole number from 0 to 4294967295".into(),
        "a sequence" => "a list".into(),
        "a map" => "a mapping".into(),
        "a string" => "text".into(),
        other => other.to_owned(),
    }
}

/// What the parser found, in YAML's words.
fn found_words(found: &str) -> String {
    let quoted = |prefix: &str| {
        found
            .strip_prefix(prefix)
            .map(|v| v.trim_matches('`').to_owned())
    };
    if let Some(number) = quoted("integer ").or_else(|| quoted("floating point ")) {
        format!("the number {number}")
    } else if let Some(value) = quoted("boolean ") {
        value
    } else if let Some(text) = found.strip_prefix("string ") {
        format!("the text {text}")
    } else {
        match found {
            "unit value" => "nothing (null)".into(),
            "sequence" => "a list".into(),
            "map" => "a mapping".into(),
            other => other.to_owned(),
        }
    }
}

/// Whatever Rust type name a message still holds, said generically.
fn scrub_type_names(message: &str) -> String {
    let mut out = Vec::new();
    let mut words = message.split(' ').peekable();
    while let Some(word) = words.next() {
        match word {
            "struct" | "enum" => {
                words.next();
                out.push("a mapping");
            }
            "u8" | "u16" | "u32" | "u64" | "usize" | "i8" | "i16" | "i32" | "i64" | "isize" => {
                out.push("a whole number")
            }
            "f32" | "f64" => out.push("a number"),
            "sequence" => out.push("list"),
            other => out.push(other),
        }
    }
    out.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example(name: &str) -> Vec<u8> {
        let path = format!(
            "{}/../examples/manifests/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    #[test]
    fn the_shipped_examples_parse_and_validate() {
        let v1 = parse(&example("v1.yaml")).expect("v1");
        assert_eq!(v1.name, "v1");
        assert_eq!(v1.processes.len(), 2);
        let v2 = parse(&example("v2.yaml")).expect("v2");
        assert_eq!(v2.processes[2].inputs, ["enrich", "rules"]);
        let v4 = parse(&example("v4.yaml")).expect("v4");
        assert_eq!(v4.variables.len(), 5);
        let broken = parse(&example("broken.json")).expect("broken");
        assert!(broken.processes[0].image.contains("fail-pull"));
    }

    #[test]
    fn syntax_errors_point_into_the_input() {
        let error = parse(b"name: v1\nentrypoint: [unclosed\n").expect_err("refused");
        let ManifestError::Syntax(message) = error else {
            panic!("{error:?}")
        };
        assert!(message.contains("line"), "{message}");

        let error =
            parse(b"name: v1\nentrypoint:\n  port: 80\nprocesses: []\n").expect_err("refused");
        assert!(
            matches!(&error, ManifestError::Syntax(m) if m.contains("image")),
            "{error:?}"
        );
    }

    #[test]
    fn unknown_fields_are_refused_not_ignored() {
        let error = parse(b"name: v1\nentrypoint: {image: e, port: 80}\nreplica: 3\n")
            .expect_err("refused");
        assert!(
            matches!(&error, ManifestError::Syntax(m) if m.contains("replica")),
            "{error:?}"
        );
    }

    #[test]
    fn oversized_empty_binary_and_deeply_nested_input_is_refused_cleanly() {
        let big = vec![b'#'; MAX_MANIFEST_BYTES + 1];
        assert_eq!(
            parse(&big),
            Err(ManifestError::TooLarge {
                bytes: MAX_MANIFEST_BYTES + 1
            })
        );
        assert_eq!(parse(b"  \n"), Err(ManifestError::Empty));
        assert_eq!(parse(&[0xff, 0xfe, 0x00]), Err(ManifestError::NotText));
        let nested = format!("name: {}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert_eq!(parse(nested.as_bytes()), Err(ManifestError::TooNested));
        let nested = format!("name: {}{}", "[".repeat(500), "]".repeat(500));
        assert!(matches!(
            parse(nested.as_bytes()),
            Err(ManifestError::Syntax(_))
        ));
        let laughs = "a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]\n";
        assert!(matches!(
            parse(laughs.as_bytes()),
            Err(ManifestError::Syntax(_))
        ));
    }

    #[test]
    fn validation_problems_come_back_with_paths() {
        let error = parse(
            b"name: v1\nentrypoint: {image: e, port: 0}\nprocesses: [{name: w, image: ''}]\n",
        )
        .expect_err("refused");
        let ManifestError::Invalid(problems) = error else {
            panic!("{error:?}")
        };
        let text: Vec<_> = problems.iter().map(ToString::to_string).collect();
        assert!(
            text.contains(&"entrypoint.port: must be between 1 and 65535".to_owned()),
            "{text:?}"
        );
        assert!(
            text.contains(&"processes[0].image: required".to_owned()),
            "{text:?}"
        );
    }
}
