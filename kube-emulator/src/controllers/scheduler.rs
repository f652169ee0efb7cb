//! The scheduler's fit check for the one emulated node: its labels against
//! a pod's `nodeSelector`, and what the pods bound to it already request
//! against its allocatable CPU, memory and pod count. A pod that does not
//! fit stays Pending with the scheduler's message, which makes scheduling
//! failures reproducible on purpose (README, "The Kubernetes emulator").

use serde_json::Value;

use crate::{NodeConfig, quantity};

pub struct Node<'a> {
    config: &'a NodeConfig,
    cpu: i128,
    memory: i128,
    pods: usize,
}

/// What a pod's containers request, in thousandths (CPU millicores).
fn requests(pod: &Value) -> (i128, i128) {
    let mut cpu = 0;
    let mut memory = 0;
    for container in pod["spec"]["containers"].as_array().into_iter().flatten() {
        let requests = &container["resources"]["requests"];
        cpu += quantity::milli(&requests["cpu"]).unwrap_or(0);
        memory += quantity::milli(&requests["memory"]).unwrap_or(0);
    }
    (cpu, memory)
}

fn finished(pod: &Value) -> bool {
    matches!(
        pod["status"]["phase"].as_str(),
        Some("Succeeded" | "Failed")
    )
}

impl<'a> Node<'a> {
    /// The node with the pods already bound to it.
    pub fn new(config: &'a NodeConfig, pods: &[Value]) -> Self {
        let mut node = Self {
            config,
            cpu: 0,
            memory: 0,
            pods: 0,
        };
        for pod in pods
            .iter()
            .filter(|p| p["spec"]["nodeName"].is_string() && !finished(p))
        {
            node.bind(pod);
        }
        node
    }

    pub fn bind(&mut self, pod: &Value) {
        let (cpu, memory) = requests(pod);
        self.cpu += cpu;
        self.memory += memory;
        self.pods += 1;
    }

    /// `Ok` when the pod fits, else the message `kube-scheduler` gives.
    pub fn fit(&self, pod: &Value) -> Result<(), String> {
        let selector = pod["spec"]["nodeSelector"].as_object();
        let selected = selector.into_iter().flatten().all(|(k, v)| {
            self.config
                .labels
                .iter()
                .any(|(lk, lv)| lk == k && v.as_str() == Some(lv.as_str()))
        });
        if !selected {
            return Err("0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.".into());
        }
        let (cpu, memory) = requests(pod);
        let mut short = Vec::new();
        if self.cpu + cpu > self.config.cpu_milli {
            short.push("1 Insufficient cpu");
        }
        if self.memory + memory > self.config.memory_milli {
            short.push("1 Insufficient memory");
        }
        if self.pods >= self.config.pods {
            short.push("1 Too many pods");
        }
        if short.is_empty() {
            return Ok(());
        }
        Err(format!(
            "0/1 nodes are available: {}. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.",
            short.join(", ")
        ))
    }
}
