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
