//! The resource types the emulator serves, as discovery reports them.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ResourceType {
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    pub plural: &'static str,
    pub singular: &'static str,
    pub namespaced: bool,
    /// Has a `/status` subresource: writes to the main resource keep the
    /// stored status, writes to `/status` change nothing else.
    pub status: bool,
    pub scale: bool,
    pub log: bool,
    pub short_names: &'static [&'static str],
}

impl ResourceType {
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_owned()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    pub fn group_version(&self) -> (&'static str, &'static str) {
        (self.group, self.version)
    }

    /// Names of DNS-1123 labels (63) for these, subdomains (253) otherwise.
    pub fn label_names(&self) -> bool {
        matches!(self.plural, "namespaces" | "services")
    }
}

const fn rt(
    group: &'static str,
    kind: &'static str,
    plural: &'static str,
    singular: &'static str,
    namespaced: bool,
    status: bool,
    short_names: &'static [&'static str],
) -> ResourceType {
    ResourceType {
        group,
        version: "v1",
        kind,
        plural,
        singular,
        namespaced,
        status,
        scale: false,
        log: false,
        short_names,
    }
}

pub const NAMESPACES: ResourceType = rt(
    "",
    "Namespace",
    "namespaces",
    "namespace",
    false,
    true,
    &["ns"],
);
pub const NODES: ResourceType = rt("", "Node", "nodes", "node", false, true, &["no"]);
pub const RESOURCEQUOTAS: ResourceType = rt(
    "",
    "ResourceQuota",
    "resourcequotas",
    "resourcequota",
    true,
    true,
    &["quota"],
);
pub const PODS: ResourceType = ResourceType {
    log: true,
    ..rt("", "Pod", "pods", "pod", true, true, &["po"])
};
pub const SERVICES: ResourceType = rt("", "Service", "services", "service", true, true, &["svc"]);
pub const CONFIGMAPS: ResourceType = rt(
    "",
    "ConfigMap",
    "configmaps",
    "configmap",
    true,
    false,
    &["cm"],
);
pub const SECRETS: ResourceType = rt("", "Secret", "secrets", "secret", true, false, &[]);
pub const EVENTS: ResourceType = rt("", "Event", "events", "event", true, false, &["ev"]);
/// The same events through the newer group (kube-runtime's `Recorder`
/// writes here): one storage with the core ones, converted by
/// [`crate::events_v1`].
pub const EVENTS_V1: ResourceType = rt(
    "events.k8s.io",
    "Event",
    "events",
    "event",
    true,
    false,
    &[],
);
pub const DEPLOYMENTS: ResourceType = ResourceType {
    scale: true,
    ..rt(
        "apps",
        "Deployment",
        "deployments",
        "deployment",
        true,
        true,
        &["deploy"],
    )
};
pub const REPLICASETS: ResourceType = ResourceType {
    scale: true,
    ..rt(
        "apps",
        "ReplicaSet",
        "replicasets",
        "replicaset",
        true,
        true,
        &["rs"],
    )
};
pub const INGRESSES: ResourceType = rt(
    "networking.k8s.io",
    "Ingress",
    "ingresses",
    "ingress",
    true,
    true,
    &["ing"],
);

pub const ALL: [ResourceType; 12] = [
    NAMESPACES,
    NODES,
    RESOURCEQUOTAS,
    PODS,
    SERVICES,
    CONFIGMAPS,
    SECRETS,
    EVENTS,
    EVENTS_V1,
    DEPLOYMENTS,
    REPLICASETS,
    INGRESSES,
];

pub fn find(group: &str, version: &str, plural: &str) -> Option<ResourceType> {
    ALL.into_iter()
        .find(|t| t.group == group && t.version == version && t.plural == plural)
}

pub fn by_kind(api_version: &str, kind: &str) -> Option<ResourceType> {
    ALL.into_iter()
        .find(|t| t.api_version() == api_version && t.kind == kind)
}

/// Group/versions served, in discovery order.
pub fn group_versions() -> Vec<(&'static str, &'static str)> {
    let mut out: Vec<(&'static str, &'static str)> = Vec::new();
    for t in ALL {
        if !out.contains(&t.group_version()) {
            out.push(t.group_version());
        }
    }
    out
}
