//! Discovery: `/version`, the legacy documents (`/api`, `/api/v1`, `/apis`,
//! `/apis/<g>/<v>`) and the aggregated form (`apidiscovery.k8s.io/v2`) kubectl ≥ 1.30
//! asks for with `Accept: application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList`.

use serde_json::{Value, json};

use crate::objects::node::KUBELET_VERSION;
use crate::resources::{self, ResourceDef};

/// Content type of an aggregated discovery answer.
pub const AGGREGATED_V2: &str =
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";
pub const AGGREGATED_V2BETA1: &str =
    "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList";

/// Which aggregated version the Accept header asks for, if any (in the client's order).
pub fn wants_aggregated(accept: &str) -> Option<&'static str> {
    for part in accept.split(',') {
        let params: Vec<String> = part.split(';').map(|p| p.trim().replace(' ', "")).collect();
        let has = |p: &str| params.iter().any(|x| x == p);
        if has("as=APIGroupDiscoveryList") && has("g=apidiscovery.k8s.io") {
            if has("v=v2") {
                return Some("v2");
            }
            if has("v=v2beta1") {
                return Some("v2beta1");
            }
        }
    }
    None
}

pub fn version() -> Value {
    let minor = KUBELET_VERSION
        .trim_start_matches('v')
        .split('.')
        .nth(1)
        .unwrap_or("33");
    json!({
        "major": "1",
        "minor": minor,
        "emulationMajor": "1",
        "emulationMinor": minor,
        "minCompatibilityMajor": "1",
        "minCompatibilityMinor": minor,
        "gitVersion": format!("{KUBELET_VERSION}+tplab"),
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2025-05-15T00:00:00Z",
        "goVersion": "go1.24.2",
        "compiler": "gc",
        "platform": format!("linux/{}", if cfg!(target_arch = "aarch64") { "arm64" } else { "amd64" }),
    })
}

fn in_group(group: &str) -> impl Iterator<Item = &'static ResourceDef> + '_ {
    resources::ALL.iter().filter(move |r| r.group == group)
}

fn resource_list_entry(r: &ResourceDef) -> Vec<Value> {
    let mut out = vec![json!({
        "name": r.plural,
        "singularName": r.singular,
        "namespaced": r.namespaced,
        "kind": r.kind,
        "verbs": r.verbs,
        "shortNames": r.short_names,
        "categories": r.categories,
    })];
    for (sub, kind, verbs) in r.subresources {
        out.push(json!({
            "name": format!("{}/{sub}", r.plural),
            "singularName": "",
            "namespaced": r.namespaced,
            "kind": kind,
            "verbs": verbs,
        }));
    }
    out
}

/// `/api/v1` or `/apis/<group>/v1`: an `APIResourceList`.
pub fn resource_list(group: &str, version: &str) -> Option<Value> {
    let defs: Vec<&ResourceDef> = in_group(group).filter(|r| r.version == version).collect();
    if defs.is_empty() {
        return None;
    }
    let gv = defs[0].group_version();
    Some(json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": gv,
        "resources": defs.iter().flat_map(|r| resource_list_entry(r)).collect::<Vec<_>>(),
    }))
}

/// `/api`: `APIVersions`.
pub fn core_versions(server_address: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{ "clientCIDR": "0.0.0.0/0", "serverAddress": server_address }],
    })
}

fn group_entry(group: &str) -> Value {
    let gv = json!({ "groupVersion": format!("{group}/v1"), "version": "v1" });
    json!({ "name": group, "versions": [gv.clone()], "preferredVersion": gv })
}

/// `/apis`: `APIGroupList`.
pub fn group_list() -> Value {
    json!({
        "kind": "APIGroupList",
        "apiVersion": "v1",
        "groups": resources::groups().into_iter().map(group_entry).collect::<Vec<_>>(),
    })
}

/// `/apis/<group>`: `APIGroup`.
pub fn group(group: &str) -> Option<Value> {
    resources::groups().contains(&group).then(|| {
        let mut g = group_entry(group);
        g["kind"] = json!("APIGroup");
        g["apiVersion"] = json!("v1");
        g
    })
}

fn aggregated_resource(r: &ResourceDef) -> Value {
    let subresources: Vec<Value> = r
        .subresources
        .iter()
        .map(|(sub, kind, verbs)| {
            json!({
                "subresource": sub,
                "responseKind": { "group": "", "version": "", "kind": kind },
                "verbs": verbs,
            })
        })
        .collect();
    let mut v = json!({
        "resource": r.plural,
        "responseKind": { "group": r.group, "version": r.version, "kind": r.kind },
        "scope": if r.namespaced { "Namespaced" } else { "Cluster" },
        "singularResource": r.singular,
        "verbs": r.verbs,
    });
    if !r.short_names.is_empty() {
        v["shortNames"] = json!(r.short_names);
    }
    if !r.categories.is_empty() {
        v["categories"] = json!(r.categories);
    }
    if !subresources.is_empty() {
        v["subresources"] = json!(subresources);
    }
    v
}

fn aggregated_group(group: &str) -> Value {
    let resources: Vec<Value> = in_group(group).map(aggregated_resource).collect();
    let mut metadata = json!({ "creationTimestamp": null });
    if !group.is_empty() {
        metadata["name"] = json!(group);
    }
    json!({
        "metadata": metadata,
        "versions": [{ "version": "v1", "resources": resources, "freshness": "Current" }],
    })
}

/// `/api` (`core`) or `/apis` as an `APIGroupDiscoveryList` of `version` (v2 or v2beta1).
pub fn aggregated(core: bool, version: &str) -> Value {
    let items: Vec<Value> = if core {
        vec![aggregated_group("")]
    } else {
        resources::groups()
            .into_iter()
            .map(aggregated_group)
            .collect()
    };
    json!({
        "kind": "APIGroupDiscoveryList",
        "apiVersion": format!("apidiscovery.k8s.io/{version}"),
        "metadata": {},
        "items": items,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_headers_choose_the_form() {
        let kubectl = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";
        assert_eq!(wants_aggregated(kubectl), Some("v2"));
        assert_eq!(
            wants_aggregated(
                "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"
            ),
            Some("v2beta1")
        );
        assert_eq!(wants_aggregated("application/json, */*"), None);
    }

    #[test]
    fn documents_list_what_is_served() {
        let core = aggregated(true, "v2");
        let res = &core["items"][0]["versions"][0]["resources"];
        assert!(
            res.as_array()
                .unwrap()
                .iter()
                .any(|r| r["resource"] == "pods" && r["subresources"][0]["subresource"] == "exec")
        );
        let apps = aggregated(false, "v2");
        assert_eq!(apps["items"][0]["metadata"]["name"], "apps");
        assert_eq!(
            resource_list("apps", "v1").unwrap()["groupVersion"],
            "apps/v1"
        );
        assert!(resource_list("batch", "v1").is_none());
        assert_eq!(group_list()["groups"][0]["name"], "apps");
    }
}
