//! `OpenAPI` v3, as kubectl reads it: `/openapi/v3` lists one document per group-version
//! (`api/v1`, `apis/apps/v1`) by `serverRelativeURL` with a content hash; each document
//! has the paths of the served resources (one operation per served verb, each tagged
//! with `x-kubernetes-action` and `x-kubernetes-group-version-kind`) and the schemas of
//! their kinds, generated from the k8s-openapi types this API serialises (so `kubectl
//! explain` describes exactly the objects it gets).
//!
//! kubectl ≥ 1.27 decides where to validate a manifest (`create`/`apply -f`) from the
//! `fieldValidation` query parameter of the kind's PATCH operation: present, it lets the
//! server validate; absent, it falls back to `/openapi/v2` (protobuf) for client-side
//! validation (which then fails: this API serves no protobuf). So every kind lists PATCH
//! with that parameter: manifests validate server-side on create (`fieldValidation=
//! Strict`), `--dry-run=client` works, and a PATCH request gets what the request handler
//! answers for it (405 `MethodNotAllowed` where patch is not served).

use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{ConfigMap, Event, Namespace, Node, Pod, Service};
use schemars::generate::{SchemaGenerator, SchemaSettings};
use serde_json::{Map, Value, json};

use crate::objects::node::KUBELET_VERSION;
use crate::resources::{self, ResourceDef};

/// The schema name (`io.k8s.api.core.v1.Pod`) of `kind`, adding it (and what it refers
/// to) to the generator's definitions; `None` for a kind without a typed schema.
fn add_schema(generator: &mut SchemaGenerator, kind: &str) -> Option<String> {
    let schema = match kind {
        "Namespace" => generator.subschema_for::<Namespace>(),
        "Node" => generator.subschema_for::<Node>(),
        "Pod" => generator.subschema_for::<Pod>(),
        "Service" => generator.subschema_for::<Service>(),
        "ConfigMap" => generator.subschema_for::<ConfigMap>(),
        "Event" => generator.subschema_for::<Event>(),
        "DaemonSet" => generator.subschema_for::<DaemonSet>(),
        _ => return None,
    };
    schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix("#/components/schemas/"))
        .map(str::to_string)
}

fn gvk(def: &ResourceDef) -> Value {
    json!({ "group": def.group, "version": def.version, "kind": def.kind })
}

fn query_param(name: &str, description: &str) -> Value {
    json!({
        "name": name,
        "in": "query",
        "description": description,
        "schema": { "type": "string", "uniqueItems": true },
    })
}

fn path_param(name: &str) -> Value {
    json!({
        "name": name,
        "in": "path",
        "required": true,
        "schema": { "type": "string", "uniqueItems": true },
    })
}

fn write_params() -> Vec<Value> {
    vec![
        query_param(
            "dryRun",
            "When present, indicates that modifications should not be persisted.",
        ),
        query_param(
            "fieldManager",
            "fieldManager is a name associated with the actor or entity that is making these changes.",
        ),
        query_param(
            "fieldValidation",
            "fieldValidation instructs the server on how to handle objects in the request containing unknown or duplicate fields: Ignore, Warn or Strict.",
        ),
    ]
}

fn operation(
    def: &ResourceDef,
    action: &str,
    id: &str,
    schema: Option<&str>,
    params: &[Value],
) -> Value {
    let content = schema.map_or_else(
        || json!({ "text/plain": { "schema": { "type": "string" } } }),
        |s| json!({ "application/json": { "schema": { "$ref": format!("#/components/schemas/{s}") } } }),
    );
    json!({
        "operationId": id,
        "tags": [if def.group.is_empty() { "core_v1".to_string() } else { format!("{}_{}", def.group, def.version) }],
        "parameters": params,
        "responses": { "200": { "description": "OK", "content": content } },
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": gvk(def),
    })
}

fn base(def: &ResourceDef) -> String {
    let root = if def.group.is_empty() {
        "/api/v1".to_string()
    } else {
        format!("/apis/{}/{}", def.group, def.version)
    };
    if def.namespaced {
        format!("{root}/namespaces/{{namespace}}/{}", def.plural)
    } else {
        format!("{root}/{}", def.plural)
    }
}

/// The paths of `def`, one operation per served verb.
fn paths_of(def: &ResourceDef, schema: Option<&str>, paths: &mut Map<String, Value>) {
    let has = |v: &str| def.verbs.contains(&v);
    let op_id = |verb: &str| format!("{verb}{}", def.kind);
    let scope: Vec<Value> = if def.namespaced {
        vec![path_param("namespace")]
    } else {
        Vec::new()
    };
    let mut collection = Map::new();
    if has("list") {
        collection.insert(
            "get".into(),
            operation(def, "list", &op_id("list"), schema, &[]),
        );
    }
    if has("create") {
        collection.insert(
            "post".into(),
            operation(def, "post", &op_id("create"), schema, &write_params()),
        );
    }
    if !collection.is_empty() {
        collection.insert("parameters".into(), json!(scope));
        paths.insert(base(def), Value::Object(collection));
    }
    let mut item = Map::new();
    if has("get") {
        item.insert(
            "get".into(),
            operation(def, "get", &op_id("read"), schema, &[]),
        );
    }
    if has("delete") {
        item.insert(
            "delete".into(),
            operation(def, "delete", &op_id("delete"), schema, &[]),
        );
    }
    // Listed for every kind: it is what kubectl's validation switch reads (see above).
    {
        item.insert(
            "patch".into(),
            operation(def, "patch", &op_id("patch"), schema, &write_params()),
        );
    }
    if !item.is_empty() {
        let mut params = scope.clone();
        params.insert(0, path_param("name"));
        item.insert("parameters".into(), json!(params));
        paths.insert(format!("{}/{{name}}", base(def)), Value::Object(item));
    }
    for (sub, _, verbs) in def.subresources {
        let mut ops = Map::new();
        let action = if *sub == "log" { "get" } else { "connect" };
        for verb in *verbs {
            let method = if *verb == "create" { "post" } else { "get" };
            ops.insert(
                method.into(),
                operation(
                    def,
                    action,
                    &format!("{method}{}{sub}", def.kind),
                    None,
                    &[],
                ),
            );
        }
        let mut params = scope.clone();
        params.insert(0, path_param("name"));
        ops.insert("parameters".into(), json!(params));
        paths.insert(format!("{}/{{name}}/{sub}", base(def)), Value::Object(ops));
    }
}

/// The group-versions served, as `/openapi/v3` names them (`api/v1`, `apis/apps/v1`).
fn group_versions() -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for r in &resources::ALL {
        let gv = if r.group.is_empty() {
            format!("api/{}", r.version)
        } else {
            format!("apis/{}/{}", r.group, r.version)
        };
        if !out.contains(&gv) {
            out.push(gv);
        }
    }
    out
}

/// The `OpenAPI` v3 document of group-version `gv` (`api/v1`), if served.
pub fn document(gv: &str) -> Option<Value> {
    let defs: Vec<&ResourceDef> = resources::ALL
        .iter()
        .filter(|r| {
            let name = if r.group.is_empty() {
                format!("api/{}", r.version)
            } else {
                format!("apis/{}/{}", r.group, r.version)
            };
            name == gv
        })
        .collect();
    if defs.is_empty() {
        return None;
    }
    let mut generator = SchemaSettings::openapi3().into_generator();
    let mut paths = Map::new();
    let mut kinds = Vec::new();
    for def in &defs {
        let schema = add_schema(&mut generator, def.kind);
        paths_of(def, schema.as_deref(), &mut paths);
        if let Some(s) = schema {
            kinds.push((s, gvk(def)));
        }
    }
    let mut schemas = generator.take_definitions(true);
    // What kubectl explain looks kinds up by.
    for (name, gvk) in kinds {
        if let Some(Value::Object(s)) = schemas.get_mut(&name) {
            s.insert("x-kubernetes-group-version-kind".into(), json!([gvk]));
        }
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": { "title": "Kubernetes", "version": KUBELET_VERSION },
        "paths": paths,
        "components": { "schemas": schemas },
    }))
}

/// FNV-1a over the document: the hash `/openapi/v3` names it by (clients cache on it).
fn hash(v: &Value) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in v.to_string().bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016X}")
}

/// `/openapi/v3`: the discovery document of the per-group-version documents.
pub fn root() -> Value {
    let paths: Map<String, Value> = group_versions()
        .into_iter()
        .filter_map(|gv| {
            let doc = document(&gv)?;
            let url = format!("/openapi/v3/{gv}?hash={}", hash(&doc));
            Some((gv, json!({ "serverRelativeURL": url })))
        })
        .collect();
    json!({ "paths": paths })
}

/// The documents by group-version (`""` is the root), built once: they depend only on
/// the served resource types.
fn cached(gv: &str) -> Option<&'static Value> {
    static DOCS: std::sync::OnceLock<std::collections::BTreeMap<String, Value>> =
        std::sync::OnceLock::new();
    DOCS.get_or_init(|| {
        let mut all: std::collections::BTreeMap<String, Value> = group_versions()
            .into_iter()
            .filter_map(|gv| document(&gv).map(|d| (gv, d)))
            .collect();
        all.insert(String::new(), root());
        all
    })
    .get(gv)
}

/// Answers `GET /openapi/v3[/<gv>]`.
pub fn answer(gv: &str) -> hyper::Response<crate::respond::Body> {
    cached(gv).map_or_else(
        || crate::respond::error(&crate::status::ApiError::no_route()),
        |d| crate::respond::json(200, d),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_describe_what_is_served() {
        let root = root();
        let url = root["paths"]["api/v1"]["serverRelativeURL"]
            .as_str()
            .unwrap();
        assert!(url.starts_with("/openapi/v3/api/v1?hash="), "{url}");
        assert!(root["paths"]["apis/apps/v1"].is_object());
        let core = document("api/v1").unwrap();
        let pod = &core["components"]["schemas"]["io.k8s.api.core.v1.Pod"];
        assert_eq!(pod["x-kubernetes-group-version-kind"][0]["kind"], "Pod");
        assert!(pod["properties"]["spec"].is_object());
        // Referenced schemas are there too.
        assert!(core["components"]["schemas"]["io.k8s.api.core.v1.PodSpec"].is_object());
        let item = &core["paths"]["/api/v1/namespaces/{namespace}/pods/{name}"];
        assert_eq!(item["get"]["x-kubernetes-action"], "get");
        let node = &core["paths"]["/api/v1/nodes/{name}"];
        assert!(node["get"].is_object() && node["delete"].is_null());
        // kubectl's field-validation switch.
        assert!(
            node["patch"]["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["name"] == "fieldValidation" && p["in"] == "query")
        );
        assert!(core["paths"]["/api/v1/namespaces/{namespace}/pods/{name}/log"]["get"].is_object());
        assert!(document("apis/batch/v1").is_none());
        // Every $ref points at a schema of the document.
        let text = core.to_string();
        for r in text.split("\"$ref\":\"#/components/schemas/").skip(1) {
            let name = &r[..r.find('"').unwrap()];
            assert!(core["components"]["schemas"][name].is_object(), "{name}");
        }
    }
}
