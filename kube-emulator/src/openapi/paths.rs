//! The operations of every served resource, as the API server documents
//! them: one path per collection and item (and status subresource), each
//! operation with its `x-kubernetes-action`, its
//! `x-kubernetes-group-version-kind` and the write options (`dryRun`,
//! `fieldManager`, `fieldValidation`, `force`). kubectl reads the PATCH
//! operations to learn that the server validates fields itself.

use serde_json::{Map, Value, json};

use super::schemas::{definition_of, list_definition_of};
use crate::resources::ResourceType;

const PATCH: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.Patch";
const STATUS: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.Status";
const DELETE_OPTIONS: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions";

/// The URL prefix of a type's group/version: `/api/v1`, `/apis/apps/v1`.
pub fn prefix(rt: ResourceType) -> String {
    if rt.group.is_empty() {
        format!("/api/{}", rt.version)
    } else {
        format!("/apis/{}/{}", rt.group, rt.version)
    }
}

fn query(name: &str, description: &str, v3: bool) -> Value {
    if v3 {
        json!({"name": name, "in": "query", "description": description, "schema": {"type": "string", "uniqueItems": true}})
    } else {
        json!({"name": name, "in": "query", "description": description, "type": "string", "uniqueItems": true})
    }
}

fn path_param(name: &str, description: &str, v3: bool) -> Value {
    if v3 {
        json!({"name": name, "in": "path", "required": true, "description": description, "schema": {"type": "string", "uniqueItems": true}})
    } else {
        json!({"name": name, "in": "path", "required": true, "description": description, "type": "string", "uniqueItems": true})
    }
}

fn write_options(v3: bool, patch: bool) -> Vec<Value> {
    let mut params = vec![
        query(
            "dryRun",
            "When present, indicates that modifications should not be persisted. Valid values are: - All: all dry run stages will be processed",
            v3,
        ),
        query(
            "fieldManager",
            "fieldManager is a name associated with the actor or entity that is making these changes.",
            v3,
        ),
        query(
            "fieldValidation",
            "fieldValidation instructs the server on how to handle objects in the request containing unknown or duplicate fields. Valid values are: - Ignore - Warn - Strict",
            v3,
        ),
    ];
    if patch {
        let mut force = query(
            "force",
            "Force is going to \"force\" Apply requests. It means user will re-acquire conflicting fields owned by other people.",
            v3,
        );
        if v3 {
            force["schema"] = json!({"type": "boolean", "uniqueItems": true});
        } else {
            force["type"] = json!("boolean");
        }
        params.push(force);
    }
    params
}

fn list_options(v3: bool) -> Vec<Value> {
    [
        ("continue", "The continue option should be set when retrieving more results from the server."),
        ("fieldSelector", "A selector to restrict the list of returned objects by their fields."),
        ("labelSelector", "A selector to restrict the list of returned objects by their labels."),
        ("limit", "limit is a maximum number of responses to return for a list call."),
        ("resourceVersion", "resourceVersion sets a constraint on what resource versions a request may be served from."),
        ("timeoutSeconds", "Timeout for the list/watch call."),
        ("watch", "Watch for changes to the described resources and return them as a stream of add, update, and remove notifications."),
    ]
    .iter()
    .map(|(n, d)| query(n, d, v3))
    .collect()
}

struct Op<'a> {
    rt: ResourceType,
    action: &'static str,
    id: String,
    description: String,
    params: Vec<Value>,
    body: Option<(&'a str, bool)>,
    answers: &'a str,
}

fn reference(definition: &str, v3: bool) -> Value {
    let prefix = if v3 {
        "#/components/schemas/"
    } else {
        "#/definitions/"
    };
    json!({"$ref": format!("{prefix}{definition}")})
}

fn operation(op: Op<'_>, v3: bool) -> Value {
    let Op {
        rt,
        action,
        id,
        description,
        mut params,
        body,
        answers,
    } = op;
    let tag = if rt.group.is_empty() {
        format!("core_{}", rt.version)
    } else {
        format!(
            "{}_{}",
            rt.group.split('.').next().unwrap_or(rt.group),
            rt.version
        )
    };
    let answer = reference(answers, v3);
    let mut operation = json!({
        "operationId": id,
        "description": description,
        "tags": [tag],
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": {"group": rt.group, "version": rt.version, "kind": rt.kind},
    });
    let media: Vec<&str> = match body {
        Some((_, true)) => vec![
            "application/apply-patch+yaml",
            "application/json-patch+json",
            "application/merge-patch+json",
            "application/strategic-merge-patch+json",
        ],
        _ => vec!["application/json", "application/yaml"],
    };
    if v3 {
        let content = |schema: &Value| -> Value {
            media
                .iter()
                .map(|m| ((*m).to_owned(), json!({"schema": schema})))
                .collect::<Map<String, Value>>()
                .into()
        };
        if let Some((definition, _)) = body {
            operation["requestBody"] =
                json!({"content": content(&reference(definition, true)), "required": true});
        }
        let ok = json!({"description": "OK", "content": {"application/json": {"schema": answer}, "application/yaml": {"schema": answer}}});
        operation["responses"] = json!({"200": ok, "201": {"description": "Created", "content": {"application/json": {"schema": answer}}}, "401": {"description": "Unauthorized"}});
    } else {
        if let Some((definition, _)) = body {
            params.push(json!({"name": "body", "in": "body", "required": true, "schema": reference(definition, false)}));
        }
        operation["consumes"] = json!(media);
        operation["produces"] = json!(["application/json", "application/yaml"]);
        operation["schemes"] = json!(["https"]);
        operation["responses"] = json!({"200": {"description": "OK", "schema": answer}, "201": {"description": "Created", "schema": answer}, "401": {"description": "Unauthorized"}});
    }
    operation["parameters"] = Value::Array(params);
    operation
}

/// Every path of `rt`, keyed by URL template.
pub fn paths(rt: ResourceType, v3: bool) -> Map<String, Value> {
    let kind = rt.kind;
    let scope = if rt.namespaced { "Namespaced" } else { "" };
    let base = prefix(rt);
    let item_definition = definition_of(rt);
    let list_definition = list_definition_of(rt);
    let collection = if rt.namespaced {
        format!("{base}/namespaces/{{namespace}}/{}", rt.plural)
    } else {
        format!("{base}/{}", rt.plural)
    };
    let item = format!("{collection}/{{name}}");
    let mut common = vec![query(
        "pretty",
        "If 'true', then the output is pretty printed.",
        v3,
    )];
    if rt.namespaced {
        common.push(path_param(
            "namespace",
            "object name and auth scope, such as for teams and projects",
            v3,
        ));
    }
    let mut named = common.clone();
    named.insert(0, path_param("name", &format!("name of the {kind}"), v3));
    let op = |action, id: String, description: String, params, body, answers| {
        operation(
            Op {
                rt,
                action,
                id,
                description,
                params,
                body,
                answers,
            },
            v3,
        )
    };
    let mut out = Map::new();
    let mut collection_ops = json!({
        "parameters": common,
        "get": op("list", format!("list{scope}{kind}"), format!("list or watch objects of kind {kind}"), list_options(v3), None, &list_definition),
        "post": op("post", format!("create{scope}{kind}"), format!("create a {kind}"), write_options(v3, false), Some((item_definition, false)), item_definition),
    });
    if rt.namespaced {
        collection_ops["delete"] = op(
            "deletecollection",
            format!("deletecollection{scope}{kind}"),
            format!("delete collection of {kind}"),
            list_options(v3),
            Some((DELETE_OPTIONS, false)),
            STATUS,
        );
    }
    out.insert(collection.clone(), collection_ops);
    out.insert(
        item.clone(),
        json!({
            "parameters": named,
            "get": op("get", format!("read{scope}{kind}"), format!("read the specified {kind}"), vec![], None, item_definition),
            "put": op("put", format!("replace{scope}{kind}"), format!("replace the specified {kind}"), write_options(v3, false), Some((item_definition, false)), item_definition),
            "patch": op("patch", format!("patch{scope}{kind}"), format!("partially update the specified {kind}"), write_options(v3, true), Some((PATCH, true)), item_definition),
            "delete": op("delete", format!("delete{scope}{kind}"), format!("delete a {kind}"), write_options(v3, false), Some((DELETE_OPTIONS, false)), STATUS),
        }),
    );
    if rt.status {
        out.insert(
            format!("{item}/status"),
            json!({
                "parameters": named,
                "get": op("get", format!("read{scope}{kind}Status"), format!("read status of the specified {kind}"), vec![], None, item_definition),
                "put": op("put", format!("replace{scope}{kind}Status"), format!("replace status of the specified {kind}"), write_options(v3, false), Some((item_definition, false)), item_definition),
                "patch": op("patch", format!("patch{scope}{kind}Status"), format!("partially update status of the specified {kind}"), write_options(v3, true), Some((PATCH, true)), item_definition),
            }),
        );
    }
    if rt.namespaced {
        out.insert(
            format!("{base}/{}", rt.plural),
            json!({
                "parameters": [query("pretty", "If 'true', then the output is pretty printed.", v3)],
                "get": op("list", format!("list{kind}ForAllNamespaces"), format!("list or watch objects of kind {kind}"), list_options(v3), None, &list_definition),
            }),
        );
    }
    out
}
