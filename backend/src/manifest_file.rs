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
    /// The parser's own words: they describe the input (line, column, field),
    /// never the server.
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
        serde_yaml_ng::from_str(text).map_err(|e| ManifestError::Syntax(e.to_string()))?;
    manifest.validate().map_err(ManifestError::Invalid)?;
    Ok(manifest)
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
