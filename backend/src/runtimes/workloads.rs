//! A runtime's workload defaults as text: what an admin reads and writes
//! on the settings page, turned into settings and back.

use std::collections::BTreeMap;

use lifecycle::{
    FieldError, RuntimeSettings,
    workload::{Placement, Quantities, Resources},
};
use serde::{Deserialize, Serialize};

/// Most bytes of the workload defaults an admin may submit as YAML.
pub const MAX_WORKLOADS_BYTES: usize = 64 * 1024;

/// The settings that shape a version's pods at its next start, as an admin
/// edits them in one YAML block (nested lists and maps do not fit form
/// fields): default resources, the maxima a manifest may ask for, and the
/// hardware classes by name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WorkloadDefaults {
    #[serde(skip_serializing_if = "Resources::is_empty")]
    pub default_resources: Resources,
    #[serde(skip_serializing_if = "Quantities::is_empty")]
    pub max_resources: Quantities,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub placements: BTreeMap<String, Placement>,
}

/// Reads a YAML field of the settings form (`None` when empty), bounded
/// like a manifest; a problem is located at `path` with the parser's line
/// and column.
pub fn parse_yaml<T: serde::de::DeserializeOwned>(
    text: &str,
    path: &str,
) -> Result<Option<T>, FieldError> {
    let problem = |message: String| FieldError {
        path: path.to_owned(),
        message,
    };
    if text.len() > MAX_WORKLOADS_BYTES {
        return Err(problem(format!(
            "must be at most {MAX_WORKLOADS_BYTES} bytes"
        )));
    }
    if text.trim().is_empty() {
        return Ok(None);
    }
    if text.bytes().filter(|b| matches!(b, b'[' | b'{')).count()
        > crate::manifest_file::MAX_BRACKETS
    {
        return Err(problem(
            "is nested too deeply; write it in block style".into(),
        ));
    }
    serde_yaml_ng::from_str(text)
        .map(Some)
        .map_err(|e| problem(crate::manifest_file::describe(&e)))
}

/// The runtime's change windows as the settings page shows them; empty
/// when there are none.
pub fn windows_yaml(settings: &RuntimeSettings) -> String {
    settings
        .change_windows
        .as_ref()
        .and_then(|w| serde_yaml_ng::to_string(w).ok())
        .unwrap_or_default()
}

impl WorkloadDefaults {
    pub fn of(settings: &RuntimeSettings) -> Self {
        Self {
            default_resources: settings.default_resources.clone(),
            max_resources: settings.max_resources.clone(),
            placements: settings.placements.clone(),
        }
    }

    /// As the settings page shows them; empty when nothing is set.
    pub fn to_yaml(&self) -> String {
        if *self == Self::default() {
            return String::new();
        }
        serde_yaml_ng::to_string(self).unwrap_or_default()
    }

    /// Reads what an admin typed; an empty text sets nothing. A problem is
    /// located at `path` with the parser's line and column.
    pub fn parse(text: &str, path: &str) -> Result<Self, FieldError> {
        Ok(parse_yaml(text, path)?.unwrap_or_default())
    }

    pub fn apply(self, settings: &mut RuntimeSettings) {
        settings.default_resources = self.default_resources;
        settings.max_resources = self.max_resources;
        settings.placements = self.placements;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_shown_reads_back_as_the_same_settings() {
        let text = "default_resources:\n  requests: {cpu: 100m}\nmax_resources: {memory: 2Gi}\n\
                    placements:\n  gpu:\n    node_selector: {accelerator: nvidia}\n    \
                    tolerations: [{key: gpu, effect: NoSchedule}]\n";
        let parsed = WorkloadDefaults::parse(text, "workloads").expect("parses");
        let mut settings = RuntimeSettings::default();
        parsed.clone().apply(&mut settings);
        assert_eq!(
            settings.default_resources.requests.cpu.as_deref(),
            Some("100m")
        );
        assert_eq!(settings.placements["gpu"].tolerations[0].key, "gpu");
        let shown = WorkloadDefaults::of(&settings).to_yaml();
        assert_eq!(WorkloadDefaults::parse(&shown, "workloads"), Ok(parsed));
        assert_eq!(WorkloadDefaults::default().to_yaml(), "");
        assert_eq!(
            WorkloadDefaults::parse(" \n", "workloads"),
            Ok(WorkloadDefaults::default())
        );
    }

    #[test]
    fn what_does_not_read_is_located_without_rust_words() {
        for (text, says) in [
            ("default_resource: {}", "default_resource"),
            ("placements: [1, 2]", "line 1"),
            ("max_resources: {cpu: [}", ""),
        ] {
            let error = WorkloadDefaults::parse(text, "workloads").expect_err(text);
            assert_eq!(error.path, "workloads");
            assert!(error.message.contains(says), "{text}: {}", error.message);
            assert!(!error.message.contains("struct"), "{}", error.message);
        }
        let huge = "#".repeat(MAX_WORKLOADS_BYTES + 1);
        assert!(WorkloadDefaults::parse(&huge, "w").is_err());
        let nested = "[".repeat(2000);
        let error = WorkloadDefaults::parse(&nested, "w").expect_err("nested");
        assert!(error.message.contains("block style"), "{}", error.message);
    }
}
