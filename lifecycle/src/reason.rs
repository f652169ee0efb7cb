//! The reason every lifecycle action must carry into the audit log.

use std::fmt;

use serde::{Deserialize, Serialize};

pub const MAX_REASON_CHARS: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum ReasonError {
    #[error("A reason is required.")]
    Empty,
    #[error("The reason is {chars} characters long; at most {MAX_REASON_CHARS} are allowed.")]
    TooLong { chars: usize },
    #[error("The reason contains a control character; use plain text (line breaks are fine).")]
    ControlCharacter,
}

/// A validated reason: trimmed, 1–1000 characters, printable text (line
/// breaks and tabs allowed, other control characters refused).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Reason(String);

impl Reason {
    pub fn parse(raw: &str) -> Result<Self, ReasonError> {
        let normalised = raw.replace("\r\n", "\n");
        let trimmed = normalised.trim();
        if trimmed.is_empty() {
            return Err(ReasonError::Empty);
        }
        let chars = trimmed.chars().count();
        if chars > MAX_REASON_CHARS {
            return Err(ReasonError::TooLong { chars });
        }
        if trimmed
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t')
        {
            return Err(ReasonError::ControlCharacter);
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Reason {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Reason::parse(&raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn trims_and_keeps_the_text() {
        let reason = Reason::parse("  roll out fix for INC-42\n").expect("valid");
        assert_eq!(reason.as_str(), "roll out fix for INC-42");
        assert_eq!(
            Reason::parse("line one\r\nline two")
                .expect("valid")
                .as_str(),
            "line one\nline two"
        );
    }

    #[test]
    fn refuses_empty_and_whitespace_only() {
        assert_eq!(Reason::parse(""), Err(ReasonError::Empty));
        assert_eq!(Reason::parse(" \n\t  "), Err(ReasonError::Empty));
    }

    #[test]
    fn length_is_counted_in_characters_after_trimming() {
        assert!(Reason::parse(&"é".repeat(1000)).is_ok());
        assert_eq!(
            Reason::parse(&"é".repeat(1001)),
            Err(ReasonError::TooLong { chars: 1001 })
        );
        assert!(Reason::parse(&format!("  {}  ", "a".repeat(1000))).is_ok());
    }

    #[test]
    fn refuses_control_characters_but_not_line_breaks_or_tabs() {
        assert_eq!(
            Reason::parse("bad\u{0}byte"),
            Err(ReasonError::ControlCharacter)
        );
        assert_eq!(
            Reason::parse("ansi \u{1b}[31m"),
            Err(ReasonError::ControlCharacter)
        );
        assert!(Reason::parse("a\tb\nc").is_ok());
    }

    #[test]
    fn markup_is_kept_verbatim_for_the_ui_to_escape() {
        let raw = "<script>alert(1)</script>";
        assert_eq!(Reason::parse(raw).expect("valid").as_str(), raw);
    }

    #[test]
    fn deserialising_validates() {
        assert!(serde_json::from_str::<Reason>("\"  ok \"").is_ok());
        assert!(serde_json::from_str::<Reason>("\"   \"").is_err());
    }

    proptest! {
        #[test]
        fn accepted_reasons_are_trimmed_bounded_and_printable(raw in "\\PC{0,1200}") {
            if let Ok(reason) = Reason::parse(&raw) {
                let text = reason.as_str();
                prop_assert_eq!(text.trim(), text);
                prop_assert!(!text.is_empty());
                prop_assert!(text.chars().count() <= MAX_REASON_CHARS);
                prop_assert!(text.chars().all(|c| !c.is_control() || c == '\n' || c == '\t'));
            }
        }
    }
}
