//! Creating and deleting pods (`POST`/`DELETE` on `pods`), as `kubectl run`, `kubectl
//! delete` and kube-rs send them: `dryRun=All`, `fieldManager`, `fieldValidation`,
//! `gracePeriodSeconds`, `propagationPolicy`, preconditions; answers and errors as a
//! real server's. `hostNetwork` pods (the node-shell pod) run in the node's namespaces;
//! others become sandbox pods of their own. The sandbox's own pods (its first pod, the
//! Cilium agent) cannot be deleted: they go with the sandbox.

pub mod errors;
pub mod lifecycle;
pub mod spec;
pub mod validate;

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::Request;
use hyper::body::Incoming;
use serde_json::{Value, json};

use crate::api::Query;
use crate::ctx::Ctx;
use crate::objects::{self, Source};
use crate::resources;
use crate::status::{ApiError, failure};
use crate::store::{PodKind, PodRecord};

/// A successful answer: code, object, `Warning` headers.
pub struct Answer {
    pub code: u16,
    pub object: Value,
    pub warnings: Vec<String>,
}

async fn read_body(req: Request<Incoming>) -> Result<Bytes, ApiError> {
    let declared = req
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > validate::BODY_LIMIT) {
        return Err(ApiError::too_large(validate::BODY_LIMIT));
    }
    match Limited::new(req.into_body(), validate::BODY_LIMIT)
        .collect()
        .await
    {
        Ok(c) => Ok(c.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            Err(ApiError::too_large(validate::BODY_LIMIT))
        }
        Err(e) => Err(ApiError::bad_request(&format!(
            "reading the request body: {e}"
        ))),
    }
}

fn dry_run(query: &Query) -> Result<bool, ApiError> {
    let all = query.all("dryRun");
    for v in &all {
        if v != "All" {
            return Err(ApiError::bad_request(&format!(
                "invalid dry run option {v:?}: the only supported value is \"All\""
            )));
        }
    }
    Ok(!all.is_empty())
}

fn namespace_exists(ns: &str) -> bool {
    matches!(ns, "default" | objects::CILIUM_NAMESPACE)
}

/// The derived pods (the sandbox's own) of namespace `ns`.
fn own_pod(ctx: &Ctx, ns: &str, name: &str) -> Result<bool, ApiError> {
    let state = ctx.state()?;
    let created = ctx.store.objects();
    let src = Source {
        state: &state,
        identity: &ctx.identity,
        port: ctx.port,
        created: &created,
    };
    Ok(objects::of(&src, &resources::PODS, Some(ns))
        .iter()
        .any(|o| o.name == name && ctx.store.pod(ns, name).is_none()))
}

fn random_suffix() -> String {
    crate::identity::random_alnum(5).to_ascii_lowercase()
}

/// `POST /api/v1/namespaces/{ns}/pods`.
pub async fn create(
    ctx: &Arc<Ctx>,
    req: Request<Incoming>,
    ns: &str,
    query: &Query,
) -> Result<Answer, ApiError> {
    let dry = dry_run(query)?;
    let validation = query.get("fieldValidation").unwrap_or("");
    if !matches!(validation, "" | "Ignore" | "Warn" | "Strict") {
        return Err(ApiError::bad_request(&format!(
            "fieldValidation parameter unsupported: {validation:?}: use Ignore, Warn or Strict"
        )));
    }
    let agent = req
        .headers()
        .get("user-agent")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split('/').next())
        .unwrap_or("unknown")
        .to_string();
    let manager = query.get("fieldManager").map_or(agent, str::to_string);
    if manager.len() > 128 {
        return Err(ApiError::invalid(
            "",
            &[errors::Cause {
                reason: "FieldValueTooLong",
                field: "fieldManager".into(),
                message: "Too long: may not be more than 128 bytes".into(),
            }],
        ));
    }
    let content_type = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = read_body(req).await?;
    let raw = validate::decode(&body, content_type.as_deref())?;
    if let Some(bns) = raw["metadata"]["namespace"].as_str()
        && !bns.is_empty()
        && bns != ns
    {
        return Err(ApiError::bad_request(
            "the namespace of the provided object does not match the namespace sent on the request",
        ));
    }
    if !namespace_exists(ns) {
        return Err(ApiError::no_namespace(ns));
    }
    let pod = validate::typed(&raw)?;
    let unknown = validate::unknown_fields(&raw, &serde_json::to_value(&pod).unwrap_or_default());
    let mut warnings = Vec::new();
    if !unknown.is_empty() {
        let each: Vec<String> = unknown
            .iter()
            .map(|f| format!("unknown field {f:?}"))
            .collect();
        match validation {
            "Strict" => {
                return Err(ApiError::bad_request(&format!(
                    "strict decoding error: {}",
                    each.join(", ")
                )));
            }
            "Warn" | "" => warnings = each,
            _ => {}
        }
    }
    let name = match pod.metadata.name.as_deref().filter(|n| !n.is_empty()) {
        Some(n) => n.to_string(),
        None => pod
            .metadata
            .generate_name
            .as_deref()
            .filter(|g| !g.is_empty())
            .map(|g| format!("{g}{}", random_suffix()))
            .unwrap_or_default(),
    };
    let causes = validate::validate(&pod, &name);
    if !causes.is_empty() {
        return Err(ApiError::invalid(&name, &causes));
    }
    if ctx.faults.psa_privileged
        && let Some(why) = validate::psa_baseline(&pod)
    {
        return Err(ApiError::pod_forbidden(&name, &why));
    }
    let kind = validate::kind_of(&pod);
    let node = ctx.identity.node_name.clone();
    let causes = validate::sandbox_limits(&pod, &name, &node, kind);
    if !causes.is_empty() {
        return Err(ApiError::invalid(&name, &causes));
    }
    if ctx.store.pod(ns, &name).is_some() || own_pod(ctx, ns, &name)? {
        return Err(ApiError::already_exists(&name));
    }
    // A sandbox pod's name is its netns' (one per sandbox, whatever the namespace).
    {
        let state = ctx.state()?;
        let taken = state.pods.iter().any(|p| p.name == name)
            || ctx
                .store
                .pods()
                .iter()
                .any(|p| p.kind == PodKind::Sandbox && p.name() == name);
        if taken {
            return Err(ApiError::invalid(
                &name,
                &[errors::Cause::invalid(
                    "metadata.name",
                    &json!(name),
                    "the sandbox already has a pod network namespace of this name (in another namespace): sandbox pods need names unique across namespaces",
                )],
            ));
        }
    }
    let object = spec::defaulted(
        pod,
        &spec::Placement {
            namespace: ns,
            name: &name,
            node: &node,
            identity: &ctx.identity,
            field_manager: &manager,
        },
    );
    if dry {
        return Ok(Answer {
            code: 201,
            object,
            warnings,
        });
    }
    let stored = ctx.store.put_pod(PodRecord { kind, object });
    tokio::spawn(lifecycle::start(
        Arc::clone(ctx),
        ns.to_string(),
        name,
        kind,
    ));
    Ok(Answer {
        code: 201,
        object: stored,
        warnings,
    })
}

/// `DeleteOptions` from the query and the body (the body wins, as in the real server).
#[derive(Debug)]
struct DeleteOptions {
    grace: Option<i64>,
    uid: Option<String>,
    resource_version: Option<String>,
}

fn delete_options(query: &Query, body: &[u8]) -> Result<DeleteOptions, ApiError> {
    let opts: Value = if body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        serde_json::from_slice(body).map_err(|e| {
            ApiError::bad_request(&format!("couldn't decode the DeleteOptions: {e}"))
        })?
    };
    let grace = match opts["gracePeriodSeconds"].as_i64() {
        Some(g) => Some(g),
        None => match query.get("gracePeriodSeconds") {
            None | Some("") => None,
            Some(g) => Some(g.parse::<i64>().map_err(|_| {
                ApiError::bad_request(&format!("invalid value for gracePeriodSeconds: {g:?}"))
            })?),
        },
    };
    let policy = opts["propagationPolicy"]
        .as_str()
        .map(str::to_string)
        .or_else(|| query.get("propagationPolicy").map(str::to_string));
    let invalid = |field: &str, detail: String| {
        failure(
            422,
            "Invalid",
            &format!("DeleteOptions.meta.k8s.io \"\" is invalid: {field}: {detail}"),
            Some(json!({ "kind": "DeleteOptions", "group": "meta.k8s.io",
                "causes": [{ "reason": "FieldValueNotSupported", "message": detail, "field": field }] })),
        )
    };
    if let Some(p) = policy.as_deref()
        && !matches!(p, "Orphan" | "Background" | "Foreground" | "")
    {
        return Err(invalid(
            "propagationPolicy",
            format!(
                "Unsupported value: {p:?}: supported values: \"Foreground\", \"Background\", \"Orphan\""
            ),
        ));
    }
    if let Some(g) = grace
        && g < 0
    {
        return Err(invalid(
            "gracePeriodSeconds",
            format!("Invalid value: {g}: must be greater than or equal to 0"),
        ));
    }
    Ok(DeleteOptions {
        grace,
        uid: opts["preconditions"]["uid"].as_str().map(str::to_string),
        resource_version: opts["preconditions"]["resourceVersion"]
            .as_str()
            .map(str::to_string),
    })
}

/// `DELETE /api/v1/namespaces/{ns}/pods/{name}`.
pub async fn delete(
    ctx: &Arc<Ctx>,
    req: Request<Incoming>,
    ns: &str,
    name: &str,
    query: &Query,
) -> Result<Answer, ApiError> {
    let dry = dry_run(query)?;
    let body = read_body(req).await?;
    let opts = delete_options(query, &body)?;
    let Some(record) = ctx.store.pod(ns, name) else {
        if own_pod(ctx, ns, name)? {
            let what = if ns == objects::CILIUM_NAMESPACE {
                "it is the sandbox's Cilium agent (the node's datapath and `cilium` commands)"
            } else {
                "it is one of the sandbox's own pods (its network namespace, lxc veth and eBPF \
                 programs are the lab's topology)"
            };
            return Err(ApiError::pod_forbidden(
                name,
                &format!(
                    "{what}: it goes only with the sandbox, `tplab sandbox down {id}`; pods \
                     created through this API can be deleted",
                    id = ctx.id
                ),
            ));
        }
        return Err(ApiError::not_found("", "pods", name));
    };
    let meta = &record.object["metadata"];
    if let Some(uid) = &opts.uid
        && meta["uid"].as_str() != Some(uid)
    {
        return Err(ApiError::conflict(
            name,
            &format!(
                "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                meta["uid"].as_str().unwrap_or_default()
            ),
        ));
    }
    if let Some(rv) = &opts.resource_version
        && meta["resourceVersion"].as_str() != Some(rv)
    {
        return Err(ApiError::conflict(
            name,
            "the object has been modified; please apply your changes to the latest version and try again",
        ));
    }
    let grace = opts.grace.unwrap_or_else(|| {
        record.object["spec"]["terminationGracePeriodSeconds"]
            .as_i64()
            .unwrap_or(30)
    });
    if dry {
        let mut object = record.object.clone();
        object["metadata"]["deletionTimestamp"] = json!(spec::now_text());
        object["metadata"]["deletionGracePeriodSeconds"] = json!(grace);
        return Ok(Answer {
            code: 200,
            object,
            warnings: Vec::new(),
        });
    }
    let already = !meta["deletionTimestamp"].is_null();
    let object = lifecycle::mark_terminating(ctx, ns, name, grace)
        .ok_or_else(|| ApiError::not_found("", "pods", name))?;
    // The containers stop at SIGTERM (nothing here ignores it): the grace period is the
    // longest the removal may take, and it takes well under a second.
    if !already {
        tokio::spawn(lifecycle::finish_delete(
            Arc::clone(ctx),
            ns.to_string(),
            name.to_string(),
            record.kind,
        ));
    }
    Ok(Answer {
        code: 200,
        object,
        warnings: Vec::new(),
    })
}

/// Where exec and attach into a created pod run, its containers and phase.
pub fn target(ctx: &Ctx, ns: &str, name: &str) -> Option<(objects::ExecTarget, Value)> {
    let record = ctx.store.pod(ns, name)?;
    let role = match record.kind {
        PodKind::Host => tplab_sandbox::Role::Node,
        PodKind::Sandbox => tplab_sandbox::Role::NamedPod(name.to_string()),
    };
    Some((
        objects::ExecTarget {
            role,
            containers: spec::container_names(&record.object),
        },
        record.object,
    ))
}

/// The main process of an attached container ended.
pub fn main_exited(ctx: &Ctx, ns: &str, name: &str, container: &str, code: i32) {
    ctx.store
        .update_pod(ns, name, |p| spec::terminated(p, container, code));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delete_options_are_checked() {
        let q = Query::parse(Some("gracePeriodSeconds=0&propagationPolicy=Background"));
        let o = delete_options(&q, b"").unwrap();
        assert_eq!(o.grace, Some(0));
        let o = delete_options(
            &q,
            br#"{"kind":"DeleteOptions","apiVersion":"v1","gracePeriodSeconds":5,"preconditions":{"uid":"u"}}"#,
        )
        .unwrap();
        assert_eq!((o.grace, o.uid.as_deref()), (Some(5), Some("u")));
        let bad =
            delete_options(&Query::parse(Some("propagationPolicy=Sideways")), b"").unwrap_err();
        assert_eq!(bad.code, 422);
        assert_eq!(
            delete_options(&Query::parse(None), b"{").unwrap_err().code,
            400
        );
        assert_eq!(
            delete_options(&Query::parse(Some("gracePeriodSeconds=-2")), b"")
                .unwrap_err()
                .code,
            422
        );
        assert!(dry_run(&Query::parse(Some("dryRun=All"))).unwrap());
        assert!(dry_run(&Query::parse(Some("dryRun=Some"))).is_err());
    }
}
