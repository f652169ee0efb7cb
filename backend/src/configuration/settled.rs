//! A version's configuration as its objects in the cluster carry it: the
//! values (defaults where nothing is set), split by where each goes, and a
//! checksum that the pod templates carry so that a change rolls the pods.

use std::collections::BTreeMap;

use lifecycle::{Manifest, VariableKind, manifest::resource_name};
use sha2::{Digest, Sha256};

/// The version's Secret: every secret value.
pub fn secret_name(version: &str) -> String {
    resource_name(version, "secrets")
}

/// The ConfigMap of the files that are not secret, mounted rather than
/// exported (the version's main ConfigMap is exported as environment).
pub fn files_name(version: &str) -> String {
    resource_name(version, "files")
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settled {
    /// Not secret: in the version's ConfigMap, exported as environment.
    pub variables: BTreeMap<String, String>,
    /// Not secret: in the files ConfigMap, mounted.
    pub files: BTreeMap<String, String>,
    /// In the Secret: exported one by one, or mounted for files.
    pub secret_variables: BTreeMap<String, String>,
    pub secret_files: BTreeMap<String, String>,
    /// Changes whenever any value does; secrets enter it keyed, so it
    /// tells nothing about them.
    pub checksum: String,
}

impl Settled {
    /// From the values set (`name → (value, keyed hash)`; the hash stands
    /// for it in the checksum), defaults filling in.
    pub fn build(manifest: &Manifest, set: &BTreeMap<String, (String, String)>) -> Self {
        let mut out = Self::default();
        let mut sum = Sha256::new();
        for variable in &manifest.variables {
            let (value, stands_for) = match set.get(&variable.name) {
                Some((value, hash)) => (value.clone(), hash.clone()),
                None => match &variable.default {
                    Some(default) => (default.clone(), format!("default:{default}")),
                    None => continue,
                },
            };
            sum.update(format!("{}\n{}\n", variable.name, stands_for));
            let into = match (variable.secret, variable.kind) {
                (false, VariableKind::Variable) => &mut out.variables,
                (false, VariableKind::File) => &mut out.files,
                (true, VariableKind::Variable) => &mut out.secret_variables,
                (true, VariableKind::File) => &mut out.secret_files,
            };
            into.insert(variable.name.clone(), value);
        }
        out.checksum = sum
            .finalize()
            .iter()
            .take(16)
            .map(|b| format!("{b:02x}"))
            .collect();
        out
    }

    /// What a dry run and a diff show: every declared variable, a
    /// placeholder for its value, so nothing set (least of all a secret)
    /// leaves the database.
    pub fn placeholders(manifest: &Manifest) -> Self {
        let set = manifest
            .variables
            .iter()
            .map(|v| {
                let shown = format!("(set on the Configuration tab: {})", v.name);
                (v.name.clone(), (shown, String::new()))
            })
            .collect();
        Self::build(manifest, &set)
    }

    pub fn has_secrets(&self) -> bool {
        !self.secret_variables.is_empty() || !self.secret_files.is_empty()
    }
}
