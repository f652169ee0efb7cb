//! Lists in pages (`limit` and `continue`), each page from the same
//! snapshot as the first, as "Retrieving large results sets in chunks" in
//! the API concepts reference describes: the token names the
//! resourceVersion of the first page and the last key served; the state at
//! that version is rebuilt from the change history, and once the history
//! no longer reaches back to it the token is `410 Expired`.

use std::collections::BTreeMap;

use base64::Engine;
use serde_json::{Value, json};

use super::{ChangeKind, Inner, Key, Store, of_type};
use crate::{
    errors::{ApiError, ApiResult},
    resources::ResourceType,
    selector::{FieldSelector, LabelSelector},
};

/// What a list asks for beyond its selectors.
#[derive(Debug, Default, Clone)]
pub struct PageRequest {
    /// At most this many items; `None` (or 0) for all.
    pub limit: Option<usize>,
    pub continue_token: Option<String>,
}

pub struct Page {
    pub items: Vec<Value>,
    /// The version the whole list (every page) is consistent at.
    pub rv: u64,
    pub continue_token: Option<String>,
    /// Items after this page; only without selectors, as a real server.
    pub remaining: Option<usize>,
}

const EXPIRED: &str = "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.";

fn encode(rv: u64, last: &Key) -> String {
    let token = json!({"v": "meta.k8s.io/v1", "rv": rv, "start": format!("{}/{}\u{0}", last.namespace, last.name)});
    base64::engine::general_purpose::URL_SAFE.encode(token.to_string())
}

/// The version and the (namespace, name) to continue after.
fn decode(token: &str) -> ApiResult<(u64, String, String)> {
    let invalid = || ApiError::bad_request("continue key is not valid: illegal base64 data");
    let bytes = base64::engine::general_purpose::URL_SAFE
        .decode(token)
        .map_err(|_| invalid())?;
    let value: Value = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    let rv = value["rv"].as_u64().ok_or_else(invalid)?;
    let start = value["start"].as_str().ok_or_else(invalid)?;
    let start = start.strip_suffix('\u{0}').unwrap_or(start);
    let (namespace, name) = start.split_once('/').ok_or_else(invalid)?;
    Ok((rv, namespace.to_owned(), name.to_owned()))
}

impl Inner {
    /// The objects of `rt` as they were at `rv`, from the current ones and
    /// the changes since, undone newest first.
    fn objects_at(&self, rt: ResourceType, rv: u64) -> ApiResult<BTreeMap<Key, Value>> {
        if rv < self.compacted || rv > self.rv {
            return Err(ApiError::expired(EXPIRED));
        }
        let mut objects: BTreeMap<Key, Value> = of_type(&self.objects, rt, None)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for change in self.history.iter().rev().take_while(|c| c.rv > rv) {
            if change.rt != rt {
                continue;
            }
            let key = Key {
                rt,
                namespace: change.namespace.clone(),
                name: super::name_of(&change.object),
            };
            match (change.kind, &change.previous) {
                (ChangeKind::Added, _) => {
                    objects.remove(&key);
                }
                (ChangeKind::Modified, Some(previous)) => {
                    objects.insert(key, previous.clone());
                }
                (ChangeKind::Modified, None) => {}
                (ChangeKind::Deleted, _) => {
                    objects.insert(key, change.object.clone());
                }
            }
        }
        Ok(objects)
    }
}

impl Store {
    /// One page of a list.
    pub fn list_page(
        &self,
        rt: ResourceType,
        namespace: Option<&str>,
        labels: &LabelSelector,
        fields: &FieldSelector,
        request: &PageRequest,
    ) -> ApiResult<Page> {
        let inner = self.lock();
        let namespace = namespace.filter(|_| rt.namespaced);
        let (rv, after) = match &request.continue_token {
            Some(token) if !token.is_empty() => {
                let (rv, ns, name) = decode(token)?;
                (rv, Some((ns, name)))
            }
            _ => (inner.rv, None),
        };
        let at_rv;
        let objects = if rv == inner.rv {
            &inner.objects
        } else {
            at_rv = inner.objects_at(rt, rv)?;
            &at_rv
        };
        let selected = labels.is_empty() && fields.is_empty();
        let mut matching = of_type(objects, rt, namespace)
            .filter(|(k, _)| {
                after
                    .as_ref()
                    .is_none_or(|(ns, name)| (&k.namespace, &k.name) > (ns, name))
            })
            .filter(|(_, v)| labels.matches(v) && fields.matches(v));
        let limit = request.limit.filter(|l| *l > 0).unwrap_or(usize::MAX);
        let page: Vec<(&Key, &Value)> = matching.by_ref().take(limit).collect();
        let rest = matching.count();
        let continue_token = match page.last() {
            Some((last, _)) if rest > 0 => Some(encode(rv, last)),
            _ => None,
        };
        Ok(Page {
            items: page.into_iter().map(|(_, v)| v.clone()).collect(),
            rv,
            remaining: (rest > 0 && selected).then_some(rest),
            continue_token,
        })
    }
}
