//! The manifest parser against hostile input, for a fixed time budget
//! (`FUZZ_SECONDS`, 5 by default; the sequence is seeded, so a longer budget
//! only goes further down the same road): random bytes, valid manifests
//! with random edits, deep nesting and alias bombs. It must answer every
//! input with a manifest or a typed error: no panic, no stack overflow (which
//! would abort the test binary), nothing unbounded.

use std::{
    panic::{AssertUnwindSafe, catch_unwind},
    time::{Duration, Instant},
};

use backend::manifest_file::{self, MAX_BRACKETS, MAX_MANIFEST_BYTES, ManifestError};
use proptest::{
    prelude::*,
    strategy::ValueTree,
    test_runner::{Config, TestRunner},
};

fn budget() -> Duration {
    let seconds = std::env::var("FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    Duration::from_secs(seconds)
}

/// Runs `check` on inputs drawn from `strategy` until the budget is spent;
/// a panic names the input that caused it.
fn fuzz<S: Strategy>(name: &str, strategy: S, check: impl Fn(&S::Value))
where
    S::Value: std::fmt::Debug,
{
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        proptest::test_runner::TestRng::deterministic_rng(
            proptest::test_runner::RngAlgorithm::ChaCha,
        ),
    );
    let deadline = Instant::now() + budget();
    let mut inputs = 0;
    while Instant::now() < deadline {
        let value = strategy
            .new_tree(&mut runner)
            .expect("strategy draws")
            .current();
        if catch_unwind(AssertUnwindSafe(|| check(&value))).is_err() {
            panic!("{name}: input {inputs} panicked: {value:?}");
        }
        inputs += 1;
    }
    eprintln!("{name}: {inputs} inputs in {:?}", budget());
    assert!(inputs > 0);
}

fn examples() -> Vec<String> {
    ["v1.yaml", "v2.yaml", "broken.json"]
        .iter()
        .map(|name| {
            let path = format!(
                "{}/../examples/manifests/{name}",
                env!("CARGO_MANIFEST_DIR")
            );
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
        })
        .collect()
}

#[test]
fn random_bytes_get_an_answer() {
    fuzz(
        "random bytes",
        proptest::collection::vec(any::<u8>(), 0..2048),
        |bytes| {
            let _ = manifest_file::parse(bytes);
        },
    );
}

/// Characters that mean something to YAML, JSON or the validator.
const SIGNIFICANT: &[&str] = &[
    ":",
    "-",
    "[",
    "]",
    "{",
    "}",
    ",",
    "&a",
    "*a",
    "!!str",
    "!!binary",
    "|",
    ">",
    "#",
    "\"",
    "'",
    "\n",
    "  ",
    "\t",
    "~",
    "null",
    "0x",
    "1e999",
    "---",
    "...",
    "?",
    "%YAML 1.2\n",
    "<script>",
    "\u{0}",
    "\u{202e}",
    "é",
    "processes",
    "inputs",
    "replicas",
    "-1",
    "99999999999999999999",
];

#[test]
fn edited_manifests_get_an_answer() {
    let examples = examples();
    let edit = (
        any::<prop::sample::Index>(),
        any::<prop::sample::Index>(),
        0..4usize,
        prop::sample::select(SIGNIFICANT),
    );
    fuzz(
        "edited manifests",
        (0..examples.len(), proptest::collection::vec(edit, 1..8)),
        |(example, edits)| {
            let mut text = examples[*example].clone().into_bytes();
            for (at, len, kind, token) in edits {
                let at = at.index(text.len() + 1);
                let end = (at + len.index(16)).min(text.len());
                match kind {
                    0 => drop(text.splice(at..at, token.bytes())),
                    1 => drop(text.drain(at..end)),
                    2 => drop(text.splice(at..end, token.bytes())),
                    _ => text.extend_from_slice(token.as_bytes()),
                }
            }
            // Whatever parses also validates: a manifest that comes back
            // is one the rest of the console can use.
            if let Ok(manifest) = manifest_file::parse(&text) {
                assert!(manifest.validate().is_ok());
            }
        },
    );
}

#[test]
fn deep_nesting_and_alias_bombs_are_errors_not_crashes() {
    for depth in [100, 1_000, MAX_BRACKETS, MAX_BRACKETS + 1, 100_000] {
        for (open, close) in [("[", "]"), ("{a: ", "}"), ("- ", "")] {
            let text = format!(
                "name: deep\nconfig: {}1{}\n",
                open.repeat(depth),
                close.repeat(depth)
            );
            let started = Instant::now();
            let answer = manifest_file::parse(text.as_bytes());
            eprintln!(
                "depth {depth} {open:?}: {} bytes answered in {:?}",
                text.len(),
                started.elapsed()
            );
            match answer {
                Err(ManifestError::TooLarge { .. }) => assert!(text.len() > MAX_MANIFEST_BYTES),
                // Too many brackets never reach the scanner.
                Err(ManifestError::TooNested) => assert!(depth > MAX_BRACKETS),
                // serde_yaml_ng's recursion limit (128) answers the rest.
                Err(ManifestError::Syntax(_)) => {
                    assert!(open == "- " || depth <= MAX_BRACKETS, "{depth} {open:?}")
                }
                other => panic!("depth {depth} {open:?}: {other:?}"),
            }
        }
    }
    // A billion laughs: nine levels of nine aliases each.
    let mut bomb = String::from("a0: &a0 [lol]\n");
    for level in 1..10 {
        let refs = vec![format!("*a{}", level - 1); 9].join(", ");
        bomb.push_str(&format!("a{level}: &a{level} [{refs}]\n"));
    }
    bomb.push_str("name: bomb\n");
    assert!(matches!(
        manifest_file::parse(bomb.as_bytes()),
        Err(ManifestError::Syntax(_))
    ));
    // Just over the cap is refused before parsing.
    let big = vec![b'#'; MAX_MANIFEST_BYTES + 1];
    assert!(matches!(
        manifest_file::parse(&big),
        Err(ManifestError::TooLarge { .. })
    ));
}

/// Words of the parser's Rust side that must never reach the person who
/// uploaded a manifest.
const RUST_WORDS: &[&str] = &[
    "struct ",
    "enum ",
    "u8",
    "u16",
    "u32",
    "u64",
    "usize",
    "i32",
    "i64",
    "f64",
    "Vec",
    "Option",
    "BTreeMap",
    "String",
    "unit value",
    "sequence",
    "::",
];

/// Every place in a YAML tree, as the steps to it.
fn places(
    value: &serde_yaml_ng::Value,
    at: Vec<serde_yaml_ng::Value>,
    out: &mut Vec<Vec<serde_yaml_ng::Value>>,
) {
    out.push(at.clone());
    match value {
        serde_yaml_ng::Value::Mapping(map) => {
            for (key, child) in map {
                let mut next = at.clone();
                next.push(key.clone());
                places(child, next, out);
            }
        }
        serde_yaml_ng::Value::Sequence(items) => {
            for (i, child) in items.iter().enumerate() {
                let mut next = at.clone();
                next.push(serde_yaml_ng::Value::Number(i.into()));
                places(child, next, out);
            }
        }
        _ => {}
    }
}

fn at_place<'a>(
    value: &'a mut serde_yaml_ng::Value,
    path: &[serde_yaml_ng::Value],
) -> &'a mut serde_yaml_ng::Value {
    path.iter().fold(value, |node, step| match (node, step) {
        (serde_yaml_ng::Value::Mapping(map), key) => map.get_mut(key).expect("key"),
        (serde_yaml_ng::Value::Sequence(items), serde_yaml_ng::Value::Number(i)) => {
            &mut items[i.as_u64().expect("index") as usize]
        }
        _ => panic!("no such place"),
    })
}

// Every example manifest with every value in turn replaced by a value of
// each other kind, every field dropped, an unknown field added to every
// mapping and a field given twice: every refusal reads in the manifest's
// terms (the path, what was expected, the line and column), never Rust's.
#[test]
fn every_parser_error_for_mutated_examples_speaks_the_manifests_terms() {
    let replacements = [
        "5",
        "-1",
        "99999999999",
        "1.5",
        "\"x\"",
        "true",
        "~",
        "[1]",
        "{a: 1}",
        "[]",
        "{}",
    ];
    let (mut refusals, mut syntax) = (0, 0);
    for text in examples() {
        let tree: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).expect("example parses");
        let mut all = Vec::new();
        places(&tree, Vec::new(), &mut all);
        let mut mutants = Vec::new();
        for path in &all {
            for replacement in replacements {
                let mut mutant = tree.clone();
                *at_place(&mut mutant, path) = serde_yaml_ng::from_str(replacement).expect("value");
                mutants.push(serde_yaml_ng::to_string(&mutant).expect("yaml"));
            }
            if let Some((last, parent)) = path.split_last() {
                let mut mutant = tree.clone();
                match at_place(&mut mutant, parent) {
                    serde_yaml_ng::Value::Mapping(map) => {
                        map.remove(last);
                    }
                    serde_yaml_ng::Value::Sequence(items) => {
                        items.remove(last.as_u64().expect("index") as usize);
                    }
                    _ => {}
                }
                mutants.push(serde_yaml_ng::to_string(&mutant).expect("yaml"));
            }
            let mut mutant = tree.clone();
            if let serde_yaml_ng::Value::Mapping(map) = at_place(&mut mutant, path) {
                map.insert("replica".into(), 3.into());
                mutants.push(serde_yaml_ng::to_string(&mutant).expect("yaml"));
            }
        }
        // A field twice cannot be built as a tree; written out instead.
        mutants.push(format!("name: again\n{text}"));
        for mutant in mutants {
            let message = match manifest_file::parse(mutant.as_bytes()) {
                Ok(_) => continue,
                Err(ManifestError::Syntax(message)) => {
                    syntax += 1;
                    message
                }
                Err(error) => error.to_string(),
            };
            refusals += 1;
            for word in RUST_WORDS {
                assert!(
                    !message.contains(word),
                    "{word:?} in {message:?} for\n{mutant}"
                );
            }
        }
    }
    eprintln!("{refusals} refusals, {syntax} of them by the parser");
    assert!(syntax > 100, "the mutations reached the parser: {syntax}");
}

#[test]
fn a_parser_refusal_names_the_field_what_was_expected_and_where() {
    let refused = |text: &str| match manifest_file::parse(text.as_bytes()) {
        Err(ManifestError::Syntax(message)) => message,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        refused("name: v1\nentrypoint: 5\n"),
        "entrypoint: expected a mapping with image and port (the entrypoint), found the number 5 (line 2, column 13)"
    );
    assert_eq!(
        refused("name: v1\nentrypoint: {image: e, port: x}\n"),
        "entrypoint.port: expected a whole number from 0 to 4294967295, found the text \"x\" (line 2, column 30)"
    );
    assert_eq!(
        refused(
            "name: v1\nentrypoint: {image: e, port: 1}\nprocesses:\n  - {name: a, image: b, env: [1]}\n"
        ),
        "processes[0].env: expected a mapping, found a list (line 4, column 30)"
    );
    assert_eq!(
        refused("name: v1\nentrypoint: {image: e}\n"),
        "entrypoint: the field `port` is required (line 2, column 13)"
    );
}
