//! What a version needs from the environment it runs in: the `variables:`
//! a manifest declares (environment variables and files, some secret), the
//! rules their declarations and their values must meet, and which required
//! ones are still missing. Pure: the server stores and encrypts the values,
//! the version screen shows them, both by these rules.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::problems::Errors;

/// A variable's value, as an environment variable gets it.
pub const MAX_VARIABLE_BYTES: usize = 64 * 1024;
/// A file's content.
pub const MAX_FILE_BYTES: usize = 1024 * 1024;
/// Everything one version's values add to one Kubernetes object (a
/// ConfigMap or a Secret holds at most 1 MiB); room is left for metadata.
pub const MAX_OBJECT_BYTES: usize = 1000 * 1024;
pub const MAX_VARIABLES: usize = 200;
pub const MAX_VARIABLE_DESCRIPTION_CHARS: usize = 500;
/// Where a process finds its declared files, each named after its variable.
pub const FILES_DIR: &str = "/etc/runtime/files";

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VariableKind {
    /// An environment variable of every process.
    #[default]
    Variable,
    /// A file under `FILES_DIR` in every process.
    File,
}

/// One declared variable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Variable {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(rename = "type", default)]
    pub kind: VariableKind,
    #[serde(default)]
    pub secret: bool,
    #[serde(default = "yes")]
    pub required: bool,
    /// Used when no value is set; never on a secret (the manifest is no
    /// place for one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
}

fn yes() -> bool {
    true
}

impl Variable {
    /// Whether a start can go ahead without a value set for it.
    pub fn satisfied_without_value(&self) -> bool {
        !self.required || self.default.is_some()
    }

    fn max_bytes(&self) -> usize {
        match self.kind {
            VariableKind::Variable => MAX_VARIABLE_BYTES,
            VariableKind::File => MAX_FILE_BYTES,
        }
    }

    /// Why `value` cannot be this variable's value, if it cannot.
    pub fn check_value(&self, value: &str) -> Result<(), String> {
        let max = self.max_bytes();
        if value.len() > max {
            return Err(format!(
                "is {} bytes; a {} holds at most {} KiB",
                value.len(),
                self.kind_word(),
                max / 1024
            ));
        }
        // An environment variable is text; a NUL would cut it short.
        let binary = match self.kind {
            VariableKind::Variable => value
                .chars()
                .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r')),
            VariableKind::File => value.contains('\0'),
        };
        if binary {
            return Err(format!(
                "contains binary data (control characters); a {} must be text",
                self.kind_word()
            ));
        }
        Ok(())
    }

    pub fn kind_word(&self) -> &'static str {
        match self.kind {
            VariableKind::Variable => "variable",
            VariableKind::File => "file",
        }
    }
}

/// One declared variable as the Configuration tab shows it: never a
/// secret's value, only whether one is set and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigField {
    pub name: String,
    pub description: String,
    pub kind: VariableKind,
    pub secret: bool,
    pub required: bool,
    pub default: Option<String>,
    /// The value set, for a variable that is not secret.
    pub value: Option<String>,
    pub set: bool,
    pub set_at: Option<String>,
    pub set_by: Option<String>,
    /// `set` (on the tab) or `carried:<version>` (from that version at
    /// registration).
    pub source: Option<String>,
}

impl ConfigField {
    pub fn kind_word(&self) -> &'static str {
        match self.kind {
            VariableKind::Variable => "variable",
            VariableKind::File => "file",
        }
    }

    /// Whether a start waits for this one.
    pub fn missing(&self) -> bool {
        self.required && self.default.is_none() && !self.set
    }
}

/// Checks the declarations (`variables[i].…` paths) against each other
/// and against the manifest's fixed `config` keys, which share the
/// ConfigMap's keys.
pub(crate) fn validate_declarations(
    variables: &[Variable],
    config: &BTreeMap<String, String>,
    errors: &mut Errors,
) {
    if variables.len() > MAX_VARIABLES {
        errors.push(
            "variables",
            format!("at most {MAX_VARIABLES} variables are allowed"),
        );
    }
    let mut seen = BTreeMap::new();
    for (i, variable) in variables.iter().enumerate() {
        let at = |field: &str| format!("variables[{i}].{field}");
        if !is_env_name(&variable.name) {
            errors.push(
                at("name"),
                "must start with a letter or '_' and contain only letters, digits and '_'",
            );
        } else if let Some(first) = seen.insert(variable.name.as_str(), i) {
            errors.push(at("name"), format!("duplicates variables[{first}].name"));
        } else if config.contains_key(&variable.name) {
            errors.push(
                at("name"),
                format!("{:?} is a fixed config key too: keep one", variable.name),
            );
        }
        if variable.description.chars().count() > MAX_VARIABLE_DESCRIPTION_CHARS {
            errors.push(
                at("description"),
                format!("must be at most {MAX_VARIABLE_DESCRIPTION_CHARS} characters"),
            );
        }
        if let Some(default) = &variable.default {
            if variable.secret {
                errors.push(
                    at("default"),
                    "a secret has no default: the manifest is readable by every viewer",
                );
            } else if let Err(problem) = variable.check_value(default) {
                errors.push(at("default"), problem);
            }
        }
    }
}

/// The required variables that have neither a value (`set`) nor a
/// default, in declaration order: what keeps a version from starting.
pub fn missing<'a>(variables: &'a [Variable], set: &BTreeSet<&str>) -> Vec<&'a str> {
    variables
        .iter()
        .filter(|v| !v.satisfied_without_value() && !set.contains(v.name.as_str()))
        .map(|v| v.name.as_str())
        .collect()
}

/// Why a value sent for `name` cannot be stored, if it cannot: the
/// declaration it is for, otherwise. `secret` is how the sender meant it,
/// which must be how it is declared; an empty value that is not a secret
/// clears it, and a secret cannot be cleared, only replaced.
pub fn check_change<'a>(
    variables: &'a [Variable],
    name: &str,
    value: &str,
    secret: bool,
) -> Result<&'a Variable, String> {
    let Some(variable) = variables.iter().find(|v| v.name == name) else {
        return Err("is not declared by this version's manifest".into());
    };
    match (variable.secret, secret) {
        (false, true) => {
            return Err(
                "is not a secret: it is stored and shown as plain text, so it was not saved".into(),
            );
        }
        (true, false) => return Err("is a secret: send it as one".into()),
        _ => {}
    }
    if value.is_empty() {
        return if variable.secret {
            Err("a secret cannot be cleared, only replaced with a new value".into())
        } else {
            Ok(variable)
        };
    }
    variable.check_value(value)?;
    Ok(variable)
}

/// The sentence that says why a start is refused (and the Start button
/// disabled), naming each missing variable.
pub fn missing_sentence(missing: &[impl AsRef<str>]) -> String {
    let names: Vec<&str> = missing.iter().map(AsRef::as_ref).collect();
    format!(
        "Its configuration is incomplete: set {} on the Configuration tab first.",
        names.join(", ")
    )
}

pub(crate) fn is_env_name(key: &str) -> bool {
    let mut chars = key.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn variable(name: &str) -> Variable {
        Variable {
            name: name.into(),
            description: String::new(),
            kind: VariableKind::Variable,
            secret: false,
            required: true,
            default: None,
        }
    }

    fn problems(variables: &[Variable], config: &[(&str, &str)]) -> Vec<String> {
        let config = config
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let mut errors = Errors::default();
        validate_declarations(variables, &config, &mut errors);
        errors
            .finish()
            .err()
            .unwrap_or_default()
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn declarations_are_checked_with_their_paths() {
        let mut secret = variable("API_KEY");
        secret.secret = true;
        secret.default = Some("hunter2".into());
        let mut long = variable("LIMIT");
        long.default = Some("x".repeat(MAX_VARIABLE_BYTES + 1));
        let got = problems(
            &[
                variable("1BAD"),
                variable("DB_URL"),
                variable("DB_URL"),
                variable("threshold"),
                secret,
                long,
            ],
            &[("threshold", "0.7")],
        );
        assert_eq!(got.len(), 5, "{got:?}");
        assert!(
            got[0].starts_with("variables[0].name: must start"),
            "{got:?}"
        );
        assert_eq!(got[1], "variables[2].name: duplicates variables[1].name");
        assert!(got[2].starts_with("variables[3].name: \"threshold\" is a fixed config key"));
        assert!(got[3].starts_with("variables[4].default: a secret has no default"));
        assert!(got[4].starts_with("variables[5].default: is 65537 bytes"));
        assert!(problems(&[variable("OK"), variable("_ALSO_OK")], &[]).is_empty());
    }

    #[test]
    fn values_are_text_within_their_kind_s_bounds() {
        let text = variable("X");
        assert!(
            text.check_value("postgres://db:5432/app\nsecond line")
                .is_ok()
        );
        assert!(text.check_value("a\0b").is_err());
        assert!(text.check_value("bell\u{7}").is_err());
        assert!(text.check_value(&"x".repeat(MAX_VARIABLE_BYTES)).is_ok());
        assert!(
            text.check_value(&"x".repeat(MAX_VARIABLE_BYTES + 1))
                .is_err()
        );
        let file = Variable {
            kind: VariableKind::File,
            ..variable("RULES")
        };
        assert!(
            file.check_value(&"x".repeat(MAX_VARIABLE_BYTES + 1))
                .is_ok()
        );
        assert!(file.check_value(&"x".repeat(MAX_FILE_BYTES + 1)).is_err());
        assert!(file.check_value("\u{1b}[1m escape codes are text").is_ok());
        assert!(file.check_value("nul\0").is_err());
    }

    #[test]
    fn missing_names_every_required_variable_without_value_or_default() {
        let optional = Variable {
            required: false,
            ..variable("OPTIONAL")
        };
        let defaulted = Variable {
            default: Some("10".into()),
            ..variable("WORKERS")
        };
        let all = [variable("DB_URL"), optional, defaulted, variable("API_KEY")];
        assert_eq!(missing(&all, &BTreeSet::new()), ["DB_URL", "API_KEY"]);
        assert_eq!(missing(&all, &BTreeSet::from(["API_KEY"])), ["DB_URL"]);
        assert!(missing(&all, &BTreeSet::from(["API_KEY", "DB_URL"])).is_empty());
        assert!(
            missing_sentence(&["DB_URL", "API_KEY"])
                .contains("configuration is incomplete: set DB_URL, API_KEY")
        );
    }

    #[test]
    fn changes_must_name_a_declared_variable_the_way_it_is_declared() {
        let secret = Variable {
            secret: true,
            ..variable("API_KEY")
        };
        let all = [variable("DB_URL"), secret];
        assert!(check_change(&all, "DB_URL", "postgres://db", false).is_ok());
        assert!(check_change(&all, "DB_URL", "", false).is_ok(), "clears it");
        assert!(check_change(&all, "API_KEY", "k", true).is_ok());
        let refused = |name, value, secret| {
            check_change(&all, name, value, secret)
                .err()
                .unwrap_or_default()
        };
        assert!(refused("GHOST", "x", false).contains("not declared"));
        assert!(refused("DB_URL", "x", true).contains("not a secret"));
        assert!(refused("API_KEY", "x", false).contains("is a secret"));
        assert!(refused("API_KEY", "", true).contains("cannot be cleared"));
        assert!(refused("DB_URL", "a\0b", false).contains("binary"));
    }

    #[test]
    fn a_declaration_reads_with_its_defaults() {
        let declared: Variable =
            serde_json::from_value(serde_json::json!({"name": "RULES", "type": "file"}))
                .expect("reads");
        assert_eq!(declared.kind, VariableKind::File);
        assert!(declared.required && !declared.secret && declared.default.is_none());
        let unknown =
            serde_json::from_value::<Variable>(serde_json::json!({"name": "X", "secrets": true}));
        assert!(unknown.is_err(), "unknown fields are refused");
    }
}
