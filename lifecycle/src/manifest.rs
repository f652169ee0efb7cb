//! A version's manifest: what an operator registers, and every rule it must
//! meet before the console accepts it. Validation reports every problem at
//! once, each with its path (`processes[2].image: required`), so the
//! registration form can show them all next to the input.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

pub use crate::problems::FieldError;
use crate::{
    names::{MAX_DNS_LABEL, validate_dns_label},
    problems::Errors,
    variables::{Variable, is_env_name, validate_declarations},
    workload::{Probes, Resources, validate_port},
};

/// The name of the entrypoint node, in graphs, inputs and resource names.
pub const ENTRYPOINT: &str = "entrypoint";
pub const MAX_DESCRIPTION_CHARS: usize = 2000;
pub const MAX_PROCESSES: usize = 100;
pub const MAX_REPLICAS: u32 = 50;
pub const MAX_ENV_VALUE_BYTES: usize = 4096;
/// Kubernetes caps a ConfigMap at 1 MiB; leave room for metadata.
pub const MAX_CONFIG_BYTES: usize = 512 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub entrypoint: Entrypoint,
    #[serde(default)]
    pub processes: Vec<Process>,
    #[serde(default)]
    pub config: BTreeMap<String, String>,
    /// What the operator sets before a start (`variables.rs`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variables: Vec<Variable>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entrypoint {
    pub image: String,
    pub port: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readiness: Option<Probe>,
    #[serde(default, skip_serializing_if = "Resources::is_empty")]
    pub resources: Resources,
    #[serde(default, skip_serializing_if = "Probes::is_empty")]
    pub probes: Probes,
    /// A hardware class of the runtime (its node selector and tolerations).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placement: Option<String>,
}

/// The first round's readiness check (HTTP `GET path` on `port`), kept
/// beside `probes.readiness`, which also offers TCP and exec.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Probe {
    pub path: String,
    pub port: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Process {
    pub name: String,
    pub image: String,
    #[serde(default = "one")]
    pub replicas: u32,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Nodes this process consumes from: other processes or `entrypoint`.
    #[serde(default)]
    pub inputs: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub readiness: Option<Probe>,
    #[serde(default, skip_serializing_if = "Resources::is_empty")]
    pub resources: Resources,
    #[serde(default, skip_serializing_if = "Probes::is_empty")]
    pub probes: Probes,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placement: Option<String>,
    /// The port a process serves on (its container port, named `http`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u32>,
    /// The process calls the Kubernetes API: its pods get the service
    /// account token every other pod goes without.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub kubernetes_api: bool,
}

fn one() -> u32 {
    1
}

/// Name of the Kubernetes objects of one node of a version.
pub fn resource_name(version: &str, node: &str) -> String {
    format!("{version}-{node}")
}

impl Manifest {
    /// Every node of the graph: the entrypoint first, then the processes.
    pub fn node_names(&self) -> impl Iterator<Item = &str> {
        std::iter::once(ENTRYPOINT).chain(self.processes.iter().map(|p| p.name.as_str()))
    }

    /// Every node with its desired replicas: the entrypoint (one) first.
    pub fn node_replicas(&self) -> impl Iterator<Item = (&str, u32)> {
        std::iter::once((ENTRYPOINT, 1))
            .chain(self.processes.iter().map(|p| (p.name.as_str(), p.replicas)))
    }

    /// Checks every rule; `Ok` only when there is no problem at all.
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = Errors::default();
        self.validate_name(&mut errors);
        if self.description.chars().count() > MAX_DESCRIPTION_CHARS {
            errors.push(
                "description",
                format!("must be at most {MAX_DESCRIPTION_CHARS} characters"),
            );
        }
        validate_image(&self.entrypoint.image, "entrypoint.image", &mut errors);
        validate_port(self.entrypoint.port, "entrypoint.port", &mut errors);
        if let Some(probe) = &self.entrypoint.readiness {
            validate_probe(probe, "entrypoint.readiness", &mut errors);
        }
        validate_workload(
            "entrypoint",
            &self.entrypoint.resources,
            &self.entrypoint.probes,
            self.entrypoint.placement.as_deref(),
            self.entrypoint.readiness.is_some(),
            &mut errors,
        );
        self.validate_processes(&mut errors);
        self.validate_graph(&mut errors);
        self.validate_config(&mut errors);
        validate_declarations(&self.variables, &self.config, &mut errors);
        errors.finish()
    }

    fn validate_name(&self, errors: &mut Errors) {
        if let Err(e) = validate_dns_label(&self.name) {
            errors.push("name", e.to_string());
            return;
        }
        // Every object name combines the version with a node name; the
        // longest must still be a DNS label.
        let longest = self
            .node_names()
            .map(str::len)
            .max()
            .unwrap_or(ENTRYPOINT.len());
        let budget = MAX_DNS_LABEL.saturating_sub(longest + 1);
        if self.name.len() > budget {
            errors.push(
                "name",
                format!(
                    "is too long: combined with its longest node name it must fit {MAX_DNS_LABEL} characters, so at most {budget} here"
                ),
            );
        }
    }

    fn validate_processes(&self, errors: &mut Errors) {
        if self.processes.is_empty() {
            errors.push("processes", "at least one process is required");
        }
        if self.processes.len() > MAX_PROCESSES {
            errors.push(
                "processes",
                format!("at most {MAX_PROCESSES} processes are allowed"),
            );
        }
        let mut seen = HashMap::new();
        for (i, p) in self.processes.iter().enumerate() {
            let at = |field: &str| format!("processes[{i}].{field}");
            match validate_dns_label(&p.name) {
                Err(e) => errors.push(at("name"), e.to_string()),
                Ok(()) if p.name == ENTRYPOINT => errors.push(
                    at("name"),
                    format!("{ENTRYPOINT:?} is reserved for the entrypoint"),
                ),
                Ok(()) => {
                    if let Some(first) = seen.insert(p.name.as_str(), i) {
                        errors.push(at("name"), format!("duplicates processes[{first}].name"));
                    }
                }
            }
            validate_image(&p.image, &at("image"), errors);
            if p.replicas == 0 || p.replicas > MAX_REPLICAS {
                errors.push(
                    at("replicas"),
                    format!("must be between 1 and {MAX_REPLICAS}"),
                );
            }
            for (key, value) in &p.env {
                if !is_env_name(key) {
                    errors.push(
                        format!("processes[{i}].env.{key}"),
                        "must start with a letter or '_' and contain only letters, digits and '_'",
                    );
                }
                if value.len() > MAX_ENV_VALUE_BYTES {
                    errors.push(
                        format!("processes[{i}].env.{key}"),
                        format!("value must be at most {MAX_ENV_VALUE_BYTES} bytes"),
                    );
                }
            }
            if let Some(probe) = &p.readiness {
                validate_probe(probe, &at("readiness"), errors);
            }
            if let Some(port) = p.port {
                validate_port(port, &at("port"), errors);
            }
            validate_workload(
                &format!("processes[{i}]"),
                &p.resources,
                &p.probes,
                p.placement.as_deref(),
                p.readiness.is_some(),
                errors,
            );
        }
    }

    fn validate_graph(&self, errors: &mut Errors) {
        let nodes: BTreeSet<&str> = self.node_names().collect();
        for (i, p) in self.processes.iter().enumerate() {
            let mut inputs = BTreeSet::new();
            for (j, input) in p.inputs.iter().enumerate() {
                let path = format!("processes[{i}].inputs[{j}]");
                if input == &p.name {
                    errors.push(path, "a process cannot consume from itself");
                } else if !nodes.contains(input.as_str()) {
                    errors.push(
                        path,
                        format!("names no node {input:?} (known: {})", join(&nodes)),
                    );
                } else if !inputs.insert(input.as_str()) {
                    errors.push(path, format!("{input:?} is listed twice"));
                }
            }
        }
        if let Some(cycle) = self.find_cycle() {
            errors.push(
                "processes",
                format!("inputs form a cycle: {}", cycle.join(" → ")),
            );
        }
    }

    /// A cycle through the inputs (consumer → producer edges), if any.
    fn find_cycle(&self) -> Option<Vec<String>> {
        let edges: HashMap<&str, Vec<&str>> = self
            .processes
            .iter()
            .map(|p| {
                (
                    p.name.as_str(),
                    p.inputs.iter().map(String::as_str).collect(),
                )
            })
            .collect();
        #[derive(Clone, Copy, PartialEq)]
        enum Mark {
            Visiting,
            Done,
        }
        fn visit<'a>(
            node: &'a str,
            edges: &HashMap<&'a str, Vec<&'a str>>,
            marks: &mut HashMap<&'a str, Mark>,
            path: &mut Vec<&'a str>,
        ) -> Option<Vec<String>> {
            match marks.get(node) {
                Some(Mark::Done) => return None,
                Some(Mark::Visiting) => {
                    let start = path.iter().position(|n| *n == node).unwrap_or(0);
                    let mut cycle: Vec<String> =
                        path[start..].iter().map(|s| s.to_string()).collect();
                    cycle.push(node.to_owned());
                    return Some(cycle);
                }
                None => {}
            }
            marks.insert(node, Mark::Visiting);
            path.push(node);
            for next in edges.get(node).into_iter().flatten() {
                if let Some(cycle) = visit(next, edges, marks, path) {
                    return Some(cycle);
                }
            }
            path.pop();
            marks.insert(node, Mark::Done);
            None
        }
        let mut marks = HashMap::new();
        for p in &self.processes {
            if let Some(cycle) = visit(&p.name, &edges, &mut marks, &mut Vec::new()) {
                return Some(cycle);
            }
        }
        None
    }

    fn validate_config(&self, errors: &mut Errors) {
        let mut total = 0usize;
        for (key, value) in &self.config {
            total += key.len() + value.len();
            let valid = !key.is_empty()
                && key.len() <= 253
                && key
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
            if !valid {
                errors.push(
                    format!("config.{key}"),
                    "keys must be 1–253 characters of letters, digits, '-', '_' and '.'",
                );
            }
        }
        if total > MAX_CONFIG_BYTES {
            errors.push(
                "config",
                format!("must be at most {MAX_CONFIG_BYTES} bytes in all"),
            );
        }
    }
}

fn join(nodes: &BTreeSet<&str>) -> String {
    nodes.iter().copied().collect::<Vec<_>>().join(", ")
}

fn validate_image(image: &str, path: &str, errors: &mut Errors) {
    if image.trim().is_empty() {
        errors.push(path, "required");
    } else if image.len() > 512 || image.chars().any(|c| c.is_whitespace() || c.is_control()) {
        errors.push(
            path,
            "must be an image reference without spaces, at most 512 characters",
        );
    }
}

/// A node's resources, probes and placement.
fn validate_workload(
    path: &str,
    resources: &Resources,
    probes: &Probes,
    placement: Option<&str>,
    legacy_readiness: bool,
    errors: &mut Errors,
) {
    resources.validate(&format!("{path}.resources"), errors);
    probes.validate(&format!("{path}.probes"), errors);
    if legacy_readiness && probes.readiness.is_some() {
        errors.push(
            format!("{path}.probes.readiness"),
            format!("{path}.readiness is set too: keep one of them"),
        );
    }
    if let Some(placement) = placement
        && let Err(e) = validate_dns_label(placement)
    {
        errors.push(format!("{path}.placement"), e.to_string());
    }
}

fn validate_probe(probe: &Probe, path: &str, errors: &mut Errors) {
    if !probe.path.starts_with('/') {
        errors.push(format!("{path}.path"), "must start with '/'");
    }
    validate_port(probe.port, &format!("{path}.port"), errors);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn process(name: &str, inputs: &[&str]) -> Process {
        Process {
            name: name.into(),
            image: format!("registry.example.com/{name}:1.0"),
            replicas: 1,
            env: BTreeMap::new(),
            inputs: inputs.iter().map(|s| s.to_string()).collect(),
            readiness: None,
            resources: Resources::default(),
            probes: Probes::default(),
            placement: None,
            port: None,
            kubernetes_api: false,
        }
    }

    fn valid() -> Manifest {
        Manifest {
            name: "v1".into(),
            description: "first".into(),
            entrypoint: Entrypoint {
                image: "registry.example.com/entry:1.0".into(),
                port: 8080,
                readiness: Some(Probe {
                    path: "/healthz".into(),
                    port: 8080,
                }),
                resources: Resources::default(),
                probes: Probes::default(),
                placement: None,
            },
            processes: vec![
                process("ingest", &["entrypoint"]),
                process("score", &["ingest"]),
            ],
            config: BTreeMap::from([("threshold".into(), "0.7".into())]),
            variables: Vec::new(),
        }
    }

    fn paths(m: &Manifest) -> Vec<String> {
        m.validate()
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|e| e.to_string())
            .collect()
    }

    #[test]
    fn a_well_formed_manifest_is_accepted() {
        assert_eq!(valid().validate(), Ok(()));
        let nodes: Vec<_> = valid().node_names().map(str::to_owned).collect();
        assert_eq!(nodes, ["entrypoint", "ingest", "score"]);
    }

    #[test]
    fn every_problem_is_reported_at_once_with_its_path() {
        let mut m = valid();
        m.name = "V_1".into();
        m.entrypoint.port = 0;
        m.processes[1].image = " ".into();
        m.processes[1].replicas = 0;
        m.processes[0].env.insert("1BAD".into(), "x".into());
        let errors = paths(&m);
        assert!(errors.iter().any(|e| e.starts_with("name: ")), "{errors:?}");
        assert!(
            errors.contains(&"entrypoint.port: must be between 1 and 65535".to_owned()),
            "{errors:?}"
        );
        assert!(
            errors.contains(&"processes[1].image: required".to_owned()),
            "{errors:?}"
        );
        assert!(
            errors
                .iter()
                .any(|e| e.starts_with("processes[1].replicas")),
            "{errors:?}"
        );
        assert!(
            errors
                .iter()
                .any(|e| e.starts_with("processes[0].env.1BAD")),
            "{errors:?}"
        );
        assert_eq!(errors.len(), 5, "{errors:?}");
    }

    #[test]
    fn names_that_cannot_fit_kubernetes_limits_are_refused_at_registration() {
        let mut m = valid();
        m.processes[0].name = "a".repeat(40);
        m.processes[1].inputs = vec!["a".repeat(40)];
        m.name = "b".repeat(23); // 23 + 1 + 40 = 64 > 63
        assert!(
            paths(&m).iter().any(|e| e.starts_with("name: is too long")),
            "{:?}",
            paths(&m)
        );
        m.name = "b".repeat(22);
        assert_eq!(m.validate(), Ok(()));
        assert_eq!(resource_name(&m.name, &m.processes[0].name).len(), 63);
    }

    #[test]
    fn duplicates_reserved_names_dangling_inputs_and_self_loops_are_refused() {
        let mut m = valid();
        m.processes.push(process("ingest", &[]));
        m.processes.push(process("entrypoint", &[]));
        m.processes[1].inputs = vec!["ghost".into(), "score".into()];
        let errors = paths(&m);
        assert!(
            errors.contains(&"processes[2].name: duplicates processes[0].name".to_owned()),
            "{errors:?}"
        );
        assert!(
            errors
                .iter()
                .any(|e| e.starts_with("processes[3].name: \"entrypoint\" is reserved")),
            "{errors:?}"
        );
        assert!(
            errors
                .iter()
                .any(|e| e.starts_with("processes[1].inputs[0]: names no node \"ghost\"")),
            "{errors:?}"
        );
        assert!(
            errors.contains(
                &"processes[1].inputs[1]: a process cannot consume from itself".to_owned()
            ),
            "{errors:?}"
        );
    }

    #[test]
    fn cycles_are_found_and_named() {
        let mut m = valid();
        m.processes = vec![
            process("a", &["c"]),
            process("b", &["a"]),
            process("c", &["b"]),
        ];
        let errors = paths(&m);
        assert!(
            errors
                .iter()
                .any(|e| e.starts_with("processes: inputs form a cycle: ")
                    && e.contains('a')
                    && e.contains('c')),
            "{errors:?}"
        );
    }

    #[test]
    fn no_processes_and_bad_config_keys_are_refused() {
        let mut m = valid();
        m.processes.clear();
        m.config.insert("has space".into(), "x".into());
        let errors = paths(&m);
        assert!(
            errors.contains(&"processes: at least one process is required".to_owned()),
            "{errors:?}"
        );
        assert!(
            errors.iter().any(|e| e.starts_with("config.has space")),
            "{errors:?}"
        );
    }

    #[test]
    fn unknown_fields_are_refused_when_decoding() {
        let json =
            r#"{"name":"v1","entrypoint":{"image":"e","port":80},"processes":[],"replica":3}"#;
        assert!(serde_json::from_str::<Manifest>(json).is_err());
    }

    #[test]
    fn resources_probes_placement_and_ports_are_validated_with_paths() {
        use crate::workload::{Check, ExecCheck, Quantities};
        let mut m = valid();
        m.processes[0].resources.requests = Quantities {
            cpu: Some("2".into()),
            memory: Some("lots".into()),
        };
        m.processes[0].resources.limits.cpu = Some("1".into());
        m.processes[0].probes.liveness = Some(Check {
            exec: Some(ExecCheck { command: vec![] }),
            ..Check::default()
        });
        m.processes[0].port = Some(70000);
        m.processes[1].placement = Some("GPU!".into());
        m.entrypoint.probes.readiness = Some(Check::http("ready", 8080));
        let errors: Vec<String> = m
            .validate()
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|e| e.path)
            .collect();
        assert_eq!(
            errors,
            [
                "entrypoint.probes.readiness.http.path",
                "entrypoint.probes.readiness",
                "processes[0].port",
                "processes[0].resources.requests.memory",
                "processes[0].resources.requests.cpu",
                "processes[0].probes.liveness.exec.command",
                "processes[1].placement",
            ]
        );
    }

    #[test]
    fn manifests_without_the_new_fields_read_and_write_as_before() {
        let json = serde_json::to_value(valid()).expect("serializes");
        let process = &json["processes"][0];
        for absent in ["resources", "probes", "placement", "port", "kubernetes_api"] {
            assert!(process.get(absent).is_none(), "{absent} is omitted");
        }
        assert!(json.get("variables").is_none(), "variables are omitted");
    }
}
