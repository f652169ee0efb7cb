//! Each type's columns, as its printer defines them.

use serde_json::{Value, json};

use crate::resources::ResourceType;

fn column(name: &str, kind: &str, priority: u8, description: &str) -> Value {
    let mut c = json!({"name": name, "type": kind, "format": "", "description": description, "priority": priority});
    if name == "Name" {
        c["format"] = json!("name");
    }
    c
}

pub(super) fn columns(rt: ResourceType) -> Vec<Value> {
    let name = column(
        "Name",
        "string",
        0,
        "Name must be unique within a namespace.",
    );
    let age = column(
        "Age",
        "string",
        0,
        "CreationTimestamp is a timestamp representing the server time when this object was created.",
    );
    let string = |n: &str, p: u8, d: &str| column(n, "string", p, d);
    let integer = |n: &str, p: u8, d: &str| column(n, "integer", p, d);
    match (rt.group, rt.plural) {
        ("", "pods") => vec![
            name,
            string(
                "Ready",
                0,
                "The aggregate readiness state of this pod for accepting traffic.",
            ),
            string(
                "Status",
                0,
                "The aggregate status of the containers in this pod.",
            ),
            string(
                "Restarts",
                0,
                "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
            ),
            age,
            string("IP", 1, "IP address allocated to the pod."),
            string("Node", 1, "Name of the node this pod is running on."),
            string(
                "Nominated Node",
                1,
                "Name of the node where this pod is nominated to run.",
            ),
            string("Readiness Gates", 1, "The readiness gates of this pod."),
        ],
        ("apps", "deployments") => vec![
            name,
            string("Ready", 0, "Number of the pod with ready state"),
            integer(
                "Up-to-date",
                0,
                "Total number of non-terminated pods targeted by this deployment that have the desired template spec.",
            ),
            integer(
                "Available",
                0,
                "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.",
            ),
            age,
            string("Containers", 1, "Names of each container in the template."),
            string(
                "Images",
                1,
                "Images referenced by each container in the template.",
            ),
            string("Selector", 1, "Label selector for pods."),
        ],
        ("apps", "replicasets") => vec![
            name,
            integer("Desired", 0, "Replicas is the number of desired replicas."),
            integer(
                "Current",
                0,
                "Replicas is the most recently observed number of replicas.",
            ),
            integer(
                "Ready",
                0,
                "The number of ready replicas for this replica set.",
            ),
            age,
            string("Containers", 1, "Names of each container in the template."),
            string(
                "Images",
                1,
                "Images referenced by each container in the template.",
            ),
            string(
                "Selector",
                1,
                "Selector is a label query over pods that should match the replica count.",
            ),
        ],
        ("", "services") => vec![
            name,
            string("Type", 0, "Type determines how the Service is exposed."),
            string(
                "Cluster-IP",
                0,
                "ClusterIP is the IP address of the service.",
            ),
            string(
                "External-IP",
                0,
                "List of IP addresses for which nodes in the cluster will also accept traffic for this service.",
            ),
            string(
                "Port(s)",
                0,
                "The list of ports that are exposed by this service.",
            ),
            age,
            string(
                "Selector",
                1,
                "Route service traffic to pods with label keys and values matching this selector.",
            ),
        ],
        ("", "namespaces") => vec![
            name,
            string("Status", 0, "The status of the namespace"),
            age,
        ],
        ("", "configmaps") => vec![
            name,
            integer("Data", 0, "Data contains the configuration data."),
            age,
        ],
        ("", "nodes") => vec![
            name,
            string("Status", 0, "The status of the node"),
            string("Roles", 0, "The roles of the node"),
            age,
            string("Version", 0, "Kubelet Version reported by the node."),
            string("Internal-IP", 1, "List of addresses reachable to the node."),
            string(
                "OS-Image",
                1,
                "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).",
            ),
        ],
        ("", "resourcequotas") => vec![
            name,
            age,
            string(
                "Request",
                0,
                "Request represents a minimum amount of cpu/memory that a container may consume.",
            ),
            string(
                "Limit",
                0,
                "Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node.",
            ),
        ],
        ("", "secrets") => vec![
            name,
            string("Type", 0, "The type of the secret"),
            integer("Data", 0, "The number of items stored in the secret"),
            age,
        ],
        ("networking.k8s.io", "ingresses") => vec![
            name,
            string(
                "Class",
                0,
                "The name of the IngressClass resource that should be used for this Ingress.",
            ),
            string(
                "Hosts",
                0,
                "Hosts that incoming requests are matched against before the ingress rule",
            ),
            string(
                "Address",
                0,
                "Address is a list containing ingress points for the load-balancer",
            ),
            string("Ports", 0, "Ports of TLS configurations that open"),
            age,
        ],
        (_, "events") => vec![
            string(
                "Last Seen",
                0,
                "The time at which the most recent occurrence of this event was recorded.",
            ),
            string(
                "Type",
                0,
                "Type of this event (Normal, Warning), new types could be added in the future.",
            ),
            string(
                "Reason",
                0,
                "This should be a short, machine understandable string that gives the reason for this event being generated.",
            ),
            string("Object", 0, "The object that this event is about."),
            string("Subobject", 1, "The subobject this event is about."),
            string("Source", 1, "The component reporting this event."),
            string(
                "Message",
                0,
                "A human-readable description of the status of this operation.",
            ),
            string(
                "First Seen",
                1,
                "The time at which the event was first recorded.",
            ),
            integer("Count", 1, "The number of times this event has occurred."),
            string("Name", 1, "The name of the event."),
        ],
        _ => vec![name, age],
    }
}
