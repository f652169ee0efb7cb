//! The schemas of every served kind, generated from the Kubernetes types
//! (k8s-openapi's `schemars` implementations, named as the API server
//! names them: `io.k8s.api.apps.v1.Deployment`), with the extensions the
//! real documents carry that clients read: `x-kubernetes-group-version-kind`
//! on each kind, and the patch strategy and merge key of the lists that
//! strategic merge patches merge by key.

use schemars::{SchemaGenerator, generate::SchemaSettings};
use serde_json::{Map, Value, json};

use crate::resources::{self, ResourceType};

/// The definition name of each served kind.
pub fn definition_of(rt: ResourceType) -> &'static str {
    match (rt.group, rt.plural) {
        ("", "namespaces") => "io.k8s.api.core.v1.Namespace",
        ("", "nodes") => "io.k8s.api.core.v1.Node",
        ("", "resourcequotas") => "io.k8s.api.core.v1.ResourceQuota",
        ("", "pods") => "io.k8s.api.core.v1.Pod",
        ("", "services") => "io.k8s.api.core.v1.Service",
        ("", "configmaps") => "io.k8s.api.core.v1.ConfigMap",
        ("", "secrets") => "io.k8s.api.core.v1.Secret",
        ("", "events") => "io.k8s.api.core.v1.Event",
        ("events.k8s.io", "events") => "io.k8s.api.events.v1.Event",
        ("apps", "deployments") => "io.k8s.api.apps.v1.Deployment",
        ("apps", "replicasets") => "io.k8s.api.apps.v1.ReplicaSet",
        ("networking.k8s.io", "ingresses") => "io.k8s.api.networking.v1.Ingress",
        _ => "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
    }
}

/// The list kind's definition name.
pub fn list_definition_of(rt: ResourceType) -> String {
    format!("{}List", definition_of(rt))
}

/// `(definition, property) → (patch strategy, merge key)` of the lists
/// `kubectl apply` and strategic merge patches merge by key, from the
/// types' `patchStrategy`/`patchMergeKey` tags.
const MERGE_KEYS: &[(&str, &str, &str, Option<&str>)] = &[
    (
        "io.k8s.api.core.v1.PodSpec",
        "containers",
        "merge",
        Some("name"),
    ),
    (
        "io.k8s.api.core.v1.PodSpec",
        "initContainers",
        "merge",
        Some("name"),
    ),
    (
        "io.k8s.api.core.v1.PodSpec",
        "ephemeralContainers",
        "merge",
        Some("name"),
    ),
    (
        "io.k8s.api.core.v1.PodSpec",
        "volumes",
        "merge,retainKeys",
        Some("name"),
    ),
    (
        "io.k8s.api.core.v1.PodSpec",
        "imagePullSecrets",
        "merge",
        Some("name"),
    ),
    (
        "io.k8s.api.core.v1.PodSpec",
        "hostAliases",
        "merge",
        Some("ip"),
    ),
    (
        "io.k8s.api.core.v1.Container",
        "ports",
        "merge",
        Some("containerPort"),
    ),
    ("io.k8s.api.core.v1.Container", "env", "merge", Some("name")),
    (
        "io.k8s.api.core.v1.Container",
        "volumeMounts",
        "merge",
        Some("mountPath"),
    ),
    (
        "io.k8s.api.core.v1.Container",
        "volumeDevices",
        "merge",
        Some("devicePath"),
    ),
    (
        "io.k8s.api.core.v1.ServiceSpec",
        "ports",
        "merge",
        Some("port"),
    ),
    (
        "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
        "ownerReferences",
        "merge",
        Some("uid"),
    ),
    (
        "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta",
        "finalizers",
        "merge",
        None,
    ),
    (
        "io.k8s.api.core.v1.PodStatus",
        "conditions",
        "merge",
        Some("type"),
    ),
    (
        "io.k8s.api.apps.v1.DeploymentStatus",
        "conditions",
        "merge",
        Some("type"),
    ),
    (
        "io.k8s.api.apps.v1.ReplicaSetStatus",
        "conditions",
        "merge",
        Some("type"),
    ),
    (
        "io.k8s.api.apps.v1.DeploymentSpec",
        "strategy",
        "retainKeys",
        None,
    ),
];

fn generate(generator: &mut SchemaGenerator) {
    use k8s_openapi::api::{apps, core, events, networking};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;
    generator.subschema_for::<core::v1::Namespace>();
    generator.subschema_for::<core::v1::Node>();
    generator.subschema_for::<core::v1::ResourceQuota>();
    generator.subschema_for::<core::v1::Pod>();
    generator.subschema_for::<core::v1::Service>();
    generator.subschema_for::<core::v1::ConfigMap>();
    generator.subschema_for::<core::v1::Secret>();
    generator.subschema_for::<core::v1::Event>();
    generator.subschema_for::<events::v1::Event>();
    generator.subschema_for::<apps::v1::Deployment>();
    generator.subschema_for::<apps::v1::ReplicaSet>();
    generator.subschema_for::<networking::v1::Ingress>();
    generator.subschema_for::<k8s_openapi::api::autoscaling::v1::Scale>();
    generator.subschema_for::<meta::Status>();
    generator.subschema_for::<meta::DeleteOptions>();
    generator.subschema_for::<meta::Patch>();
    generator.subschema_for::<meta::WatchEvent<core::v1::Pod>>();
    generator.subschema_for::<meta::ListMeta>();
}

/// Every definition, for a document whose references start with `prefix`
/// (`#/definitions/` for v2, `#/components/schemas/` for v3).
pub fn definitions(v3: bool) -> Map<String, Value> {
    let settings = if v3 {
        SchemaSettings::openapi3().with(|s| s.meta_schema = None)
    } else {
        SchemaSettings::draft07().with(|s| {
            s.meta_schema = None;
            s.definitions_path = "/definitions".into();
        })
    };
    let mut generator = settings.into_generator();
    generate(&mut generator);
    let mut definitions = generator.take_definitions(true);
    let prefix = if v3 {
        "#/components/schemas/"
    } else {
        "#/definitions/"
    };
    for rt in resources::ALL {
        // k8s-openapi has one generic List; the API server documents one
        // list kind per type.
        definitions.insert(
            list_definition_of(rt),
            json!({
                "description": format!("{}List is a list of {}.", rt.kind, rt.kind),
                "type": "object",
                "required": ["items"],
                "properties": {
                    "apiVersion": {"type": "string", "description": "APIVersion defines the versioned schema of this representation of an object."},
                    "items": {"type": "array", "description": format!("List of {}.", rt.plural), "items": {"$ref": format!("{prefix}{}", definition_of(rt))}},
                    "kind": {"type": "string", "description": "Kind is a string value representing the REST resource this object represents."},
                    "metadata": {"$ref": format!("{prefix}io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta")},
                },
            }),
        );
    }
    for rt in resources::ALL {
        let gvk = json!([{"group": rt.group, "version": rt.version, "kind": rt.kind}]);
        let list =
            json!([{"group": rt.group, "version": rt.version, "kind": format!("{}List", rt.kind)}]);
        if let Some(schema) = definitions.get_mut(definition_of(rt)) {
            schema["x-kubernetes-group-version-kind"] = gvk;
        }
        if let Some(schema) = definitions.get_mut(&list_definition_of(rt)) {
            schema["x-kubernetes-group-version-kind"] = list;
        }
    }
    if let Some(scale) = definitions.get_mut("io.k8s.api.autoscaling.v1.Scale") {
        scale["x-kubernetes-group-version-kind"] =
            json!([{"group": "autoscaling", "version": "v1", "kind": "Scale"}]);
    }
    for (definition, property, strategy, key) in MERGE_KEYS {
        if let Some(field) = definitions
            .get_mut(*definition)
            .and_then(|d| d.get_mut("properties"))
            .and_then(|p| p.get_mut(*property))
        {
            field["x-kubernetes-patch-strategy"] = json!(strategy);
            if let Some(key) = key {
                field["x-kubernetes-patch-merge-key"] = json!(key);
                field["x-kubernetes-list-type"] = json!("map");
                field["x-kubernetes-list-map-keys"] = json!([key]);
            }
        }
    }
    definitions
}
