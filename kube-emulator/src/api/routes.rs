//! Where a request points (discovery, a collection, an object and its
//! subresource), and the RBAC access it needs.

use axum::http::Method;
use serde_json::{Value, json};

use super::request::{Query, flag};
use crate::{
    errors::{ApiError, ApiResult},
    resources::{self, ResourceType},
};

/// Where a request points.
pub(super) enum Target {
    Discovery(Value),
    Collection {
        rt: ResourceType,
        namespace: Option<String>,
    },
    Item {
        rt: ResourceType,
        namespace: String,
        name: String,
        sub: Option<String>,
    },
}

pub(super) fn route(path: &str) -> ApiResult<Target> {
    let segments: Vec<&str> = path
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let (group, version, rest): (&str, &str, &[&str]) = match segments.as_slice() {
        ["version"] => {
            return Ok(Target::Discovery(json!({
                "major": "1", "minor": "34", "gitVersion": "v1.34.0-emulator",
                "gitCommit": "emulator", "gitTreeState": "clean", "buildDate": "2026-01-01T00:00:00Z",
                "goVersion": "n/a", "compiler": "rustc", "platform": "linux/amd64"
            })));
        }
        ["api"] => {
            return Ok(Target::Discovery(json!({
                "kind": "APIVersions", "versions": ["v1"],
                "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]
            })));
        }
        ["apis"] => return Ok(Target::Discovery(group_list())),
        ["api", "v1", rest @ ..] => ("", "v1", rest),
        ["apis", group, version, rest @ ..] => (*group, *version, rest),
        ["apis", group] => {
            return group_list()["groups"]
                .as_array()
                .and_then(|groups| groups.iter().find(|g| g["name"] == *group).cloned())
                .map(|mut g| {
                    g["kind"] = json!("APIGroup");
                    g["apiVersion"] = json!("v1");
                    Target::Discovery(g)
                })
                .ok_or_else(|| ApiError::no_route(path));
        }
        _ => return Err(ApiError::no_route(path)),
    };
    let find = |plural: &str| {
        resources::find(group, version, plural).ok_or_else(|| ApiError::no_route(path))
    };
    match rest {
        [] if resources::group_versions().contains(&(group, version))
            || (group.is_empty() && version == "v1") =>
        {
            Ok(Target::Discovery(resource_list(group, version)))
        }
        [plural] => Ok(Target::Collection {
            rt: find(plural)?,
            namespace: None,
        }),
        ["namespaces", namespace, plural] => {
            let rt = find(plural)?;
            if !rt.namespaced {
                return Err(ApiError::no_route(path));
            }
            Ok(Target::Collection {
                rt,
                namespace: Some((*namespace).to_owned()),
            })
        }
        ["namespaces", namespace, plural, name] => Ok(Target::Item {
            rt: find(plural)?,
            namespace: (*namespace).to_owned(),
            name: (*name).to_owned(),
            sub: None,
        }),
        ["namespaces", namespace, plural, name, sub] => Ok(Target::Item {
            rt: find(plural)?,
            namespace: (*namespace).to_owned(),
            name: (*name).to_owned(),
            sub: Some((*sub).to_owned()),
        }),
        [plural, name] => {
            let rt = find(plural)?;
            if rt.namespaced {
                return Err(ApiError::no_route(path));
            }
            Ok(Target::Item {
                rt,
                namespace: String::new(),
                name: (*name).to_owned(),
                sub: None,
            })
        }
        [plural, name, sub] => {
            let rt = find(plural)?;
            if rt.namespaced {
                return Err(ApiError::no_route(path));
            }
            Ok(Target::Item {
                rt,
                namespace: String::new(),
                name: (*name).to_owned(),
                sub: Some((*sub).to_owned()),
            })
        }
        _ => Err(ApiError::no_route(path)),
    }
}

/// The authorization request Kubernetes would check for this call: the verb
/// and resource an RBAC rule has to grant. Discovery needs no rule.
pub(super) fn access_of(target: &Target, method: &Method, query: &Query) -> Option<Access> {
    let (rt, namespace, sub, item) = match target {
        Target::Discovery(_) => return None,
        Target::Collection { rt, namespace } => (rt, namespace.clone(), None, false),
        Target::Item {
            rt, namespace, sub, ..
        } => (
            rt,
            (!namespace.is_empty()).then(|| namespace.clone()),
            sub.clone(),
            true,
        ),
    };
    let verb = match (method.as_str(), item) {
        ("GET", false) if flag(query, "watch") => "watch",
        ("GET", false) => "list",
        ("GET", true) => "get",
        ("POST", _) => "create",
        ("PUT", _) => "update",
        ("PATCH", _) => "patch",
        ("DELETE", false) => "deletecollection",
        ("DELETE", true) => "delete",
        _ => return None,
    };
    let resource = match sub {
        Some(sub) => format!("{}/{sub}", rt.plural),
        None => rt.plural.to_owned(),
    };
    Some(Access {
        verb: verb.to_owned(),
        group: rt.group.to_owned(),
        resource,
        namespaced: namespace.is_some(),
    })
}

/// One kind of request a client made: what an RBAC rule must allow for it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct Access {
    pub verb: String,
    /// The API group, empty for the core group.
    pub group: String,
    /// The plural resource, with its subresource: `pods/log`.
    pub resource: String,
    /// Made inside a namespace (a Role can grant it), or cluster-wide.
    pub namespaced: bool,
}

pub(super) fn group_list() -> Value {
    let groups: Vec<Value> = resources::group_versions()
        .into_iter()
        .filter(|(g, _)| !g.is_empty())
        .map(|(g, v)| {
            let gv = json!({"groupVersion": format!("{g}/{v}"), "version": v});
            json!({"name": g, "versions": [gv.clone()], "preferredVersion": gv})
        })
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

pub(super) fn resource_list(group: &str, version: &str) -> Value {
    let mut list = Vec::new();
    for rt in resources::ALL
        .into_iter()
        .filter(|t| t.group == group && t.version == version)
    {
        let mut verbs = vec![
            "create", "delete", "get", "list", "patch", "update", "watch",
        ];
        if rt.namespaced {
            verbs.push("deletecollection");
        }
        list.push(json!({
            "name": rt.plural, "singularName": rt.singular, "namespaced": rt.namespaced,
            "kind": rt.kind, "verbs": verbs, "shortNames": rt.short_names,
        }));
        if rt.status {
            list.push(json!({"name": format!("{}/status", rt.plural), "singularName": "", "namespaced": rt.namespaced, "kind": rt.kind, "verbs": ["get", "patch", "update"]}));
        }
        if rt.scale {
            list.push(json!({"name": format!("{}/scale", rt.plural), "singularName": "", "namespaced": rt.namespaced, "group": "autoscaling", "version": "v1", "kind": "Scale", "verbs": ["get", "patch", "update"]}));
        }
        if rt.log {
            list.push(json!({"name": format!("{}/log", rt.plural), "singularName": "", "namespaced": rt.namespaced, "kind": rt.kind, "verbs": ["get"]}));
        }
    }
    let gv = if group.is_empty() {
        version.to_owned()
    } else {
        format!("{group}/{version}")
    };
    json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": list})
}
