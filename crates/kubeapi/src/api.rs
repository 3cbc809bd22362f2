//! One request: authentication (client certificate), authorisation (admins may do
//! anything; other users only discovery), routing, and the answer — discovery, get,
//! list, watch, Table printing, exec — or a `Status` error. Every request is audited.

use std::net::IpAddr;
use std::sync::Arc;

use hyper::body::Incoming;
use hyper::{Method, Request, Response};
use serde_json::{Value, json};

use crate::audit::Record;
use crate::ctx::Ctx;
use crate::objects::{self, Obj, Source};
use crate::resources::{self, ResourceDef};
use crate::respond::{self, Body};
use crate::route::{self, Target};
use crate::select::{FieldSelector, LabelSelector};
use crate::status::ApiError;
use crate::table::{self, Include};
use crate::tls::User;
use crate::watch::{self, WatchParams};
use crate::{discovery, exec};

/// Query parameters, decoded.
pub struct Query(Vec<(String, String)>);

impl Query {
    pub fn parse(raw: Option<&str>) -> Query {
        Query(
            form_urlencoded::parse(raw.unwrap_or("").as_bytes())
                .into_owned()
                .collect(),
        )
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn all(&self, key: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .collect()
    }

    pub fn flag(&self, key: &str) -> bool {
        matches!(self.get(key), Some("true" | "1" | "True"))
    }
}

fn verb_of(method: &Method, target: &Result<Target, ApiError>, watch: bool) -> &'static str {
    let collection = matches!(target, Ok(Target::Collection { .. }));
    match *method {
        Method::GET | Method::HEAD if watch => "watch",
        Method::GET | Method::HEAD if collection => "list",
        Method::GET | Method::HEAD => "get",
        Method::POST => "create",
        Method::PUT => "update",
        Method::PATCH => "patch",
        Method::DELETE if collection => "deletecollection",
        Method::DELETE => "delete",
        _ => "unknown",
    }
}

fn header<'a>(req: &'a Request<Incoming>, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// Admins (system:masters) may do anything; others only discovery (as RBAC's
/// `system:discovery` grants every authenticated user).
fn authorize(user: &User, verb: &str, target: &Target) -> Result<(), ApiError> {
    if user.is_admin() {
        return Ok(());
    }
    let (def, ns, sub) = match target {
        Target::Collection { def, namespace } | Target::Object { def, namespace, .. } => {
            (def, namespace, None)
        }
        Target::Subresource {
            def,
            namespace,
            sub,
            ..
        } => (def, namespace, Some(sub.as_str())),
        _ => return Ok(()),
    };
    Err(ApiError::forbidden(
        &user.name,
        verb,
        def.group,
        def.plural,
        sub,
        ns.as_deref(),
    ))
}

pub fn handle(
    req: Request<Incoming>,
    ctx: &Arc<Ctx>,
    user: Option<&User>,
    peer: IpAddr,
) -> Response<Body> {
    let query = Query::parse(req.uri().query());
    let target = route::parse(req.uri().path());
    let verb = verb_of(req.method(), &target, query.flag("watch"));
    let record = Record {
        audit_id: crate::audit::new_id(),
        verb: verb.to_string(),
        request_uri: req
            .uri()
            .path_and_query()
            .map_or_else(|| "/".to_string(), |p| p.as_str().to_string()),
        user: user.cloned(),
        source_ip: peer.to_string(),
        user_agent: header(&req, "user-agent").map(str::to_string),
        object_ref: target.as_ref().ok().and_then(Target::object_ref),
        received: chrono::Utc::now(),
    };
    let checked = match (user, target) {
        (None, _) => Err(ApiError::unauthorized()),
        (Some(_), Err(e)) => Err(e),
        (Some(u), Ok(t)) => authorize(u, verb, &t).map(|()| t),
    };
    let response = match checked {
        Err(e) => respond::error(&e),
        Ok(Target::Subresource {
            def,
            namespace,
            name,
            sub,
        }) if def == resources::PODS && sub == "exec" => {
            let ns = namespace.unwrap_or_default();
            return exec::handle(req, ctx, &ns, &name, &query, record);
        }
        Ok(Target::Subresource {
            def,
            namespace,
            name,
            sub,
        }) if def == resources::PODS && sub == "log" && verb == "get" => {
            crate::logs::handle(ctx, namespace.as_deref().unwrap_or_default(), &name, &query)
        }
        Ok(t) => answer(&req, ctx, &t, &query, verb),
    };
    let stage = if verb == "watch" && response.status().is_success() {
        "ResponseStarted"
    } else {
        "ResponseComplete"
    };
    ctx.audit.log(&record, stage, response.status().as_u16());
    response
}

fn answer(
    req: &Request<Incoming>,
    ctx: &Ctx,
    target: &Target,
    query: &Query,
    verb: &str,
) -> Response<Body> {
    let accept = header(req, "accept").unwrap_or("application/json");
    let reads = matches!(*req.method(), Method::GET | Method::HEAD);
    match target {
        Target::Health => respond::text(200, "ok"),
        Target::Version => respond::json(200, &discovery::version()),
        Target::Core | Target::Groups if reads => {
            let core = *target == Target::Core;
            match discovery::wants_aggregated(accept) {
                Some(v) => {
                    let ct = if v == "v2" {
                        discovery::AGGREGATED_V2
                    } else {
                        discovery::AGGREGATED_V2BETA1
                    };
                    respond::json_with(200, &discovery::aggregated(core, v), ct)
                }
                None if core => respond::json(
                    200,
                    &discovery::core_versions(&format!("127.0.0.1:{}", ctx.port)),
                ),
                None => respond::json(200, &discovery::group_list()),
            }
        }
        Target::Group(g) if reads => discovery::group(g).map_or_else(
            || respond::error(&ApiError::no_route()),
            |v| respond::json(200, &v),
        ),
        Target::GroupVersion(g, v) if reads => discovery::resource_list(g, v).map_or_else(
            || respond::error(&ApiError::no_route()),
            |v| respond::json(200, &v),
        ),
        Target::Collection { def, namespace } if reads => {
            match read_collection(
                ctx,
                def,
                namespace.as_deref(),
                query,
                accept,
                verb == "watch",
            ) {
                Ok(r) => r,
                Err(e) => respond::error(&e),
            }
        }
        Target::Object {
            def,
            namespace,
            name,
        } if reads => match read_object(ctx, def, namespace.as_deref(), name, query, accept) {
            Ok(r) => r,
            Err(e) => respond::error(&e),
        },
        Target::OpenApiV3(gv) if reads => crate::openapi::answer(gv),
        Target::Subresource { .. } if reads => respond::error(&ApiError::no_route()),
        _ => respond::error(&ApiError::method_not_allowed()),
    }
}

fn include(query: &Query) -> Result<Include, ApiError> {
    Include::parse(query.get("includeObject")).map_err(|e| ApiError::bad_request(&e))
}

fn protobuf_only(accept: &str) -> bool {
    !accept.split(',').any(|p| {
        let p = p.trim();
        p.starts_with("application/json")
            || p.starts_with("*/*")
            || p.starts_with("application/*")
            || p.is_empty()
    })
}

fn read_object(
    ctx: &Ctx,
    def: &ResourceDef,
    namespace: Option<&str>,
    name: &str,
    query: &Query,
    accept: &str,
) -> Result<Response<Body>, ApiError> {
    if protobuf_only(accept) {
        return Err(ApiError::not_acceptable(
            "only the following media types are accepted: application/json, application/yaml",
        ));
    }
    let state = ctx.state()?;
    let src = Source {
        state: &state,
        identity: &ctx.identity,
        port: ctx.port,
    };
    let found = objects::of(&src, def, namespace)
        .into_iter()
        .find(|o| o.name == name)
        .ok_or_else(|| ApiError::not_found(def.group, def.plural, name))?;
    if table::wants_table(accept) {
        let rv = objects::resource_version(&state);
        return Ok(respond::json(
            200,
            &table::table(def.plural, &[found], include(query)?, &rv),
        ));
    }
    Ok(respond::json(200, &found.value))
}

fn read_collection(
    ctx: &Ctx,
    def: &ResourceDef,
    namespace: Option<&str>,
    query: &Query,
    accept: &str,
    watching: bool,
) -> Result<Response<Body>, ApiError> {
    if protobuf_only(accept) {
        return Err(ApiError::not_acceptable(
            "only the following media types are accepted: application/json, application/yaml",
        ));
    }
    let labels = LabelSelector::parse(query.get("labelSelector").unwrap_or(""))
        .map_err(|e| ApiError::bad_request(&e))?;
    let fields = FieldSelector::parse(query.get("fieldSelector").unwrap_or(""), def)
        .map_err(|e| ApiError::bad_request(&e))?;
    let include = include(query)?;
    let state = ctx.state()?;
    let src = Source {
        state: &state,
        identity: &ctx.identity,
        port: ctx.port,
    };
    let rv = objects::resource_version(&state);
    let items: Vec<Obj> = objects::of(&src, def, namespace)
        .into_iter()
        .filter(|o| labels.matches(&o.value) && fields.matches(&o.value))
        .collect();
    let as_table = table::wants_table(accept);
    if watching {
        let params = watch_params(query)?;
        let initial: Vec<Value> = items
            .iter()
            .map(|o| {
                if as_table {
                    table::table(def.plural, std::slice::from_ref(o), include, &rv)
                } else {
                    o.value.clone()
                }
            })
            .collect();
        let bookmark = json!({
            "kind": def.kind,
            "apiVersion": def.group_version(),
            "metadata": { "resourceVersion": rv },
        });
        let body = watch::body(initial, bookmark, &params);
        return Ok(Response::builder()
            .status(200)
            .header("Content-Type", "application/json")
            .body(body)
            .unwrap_or_else(|_| Response::new(respond::full(""))));
    }
    if as_table {
        return Ok(respond::json(
            200,
            &table::table(def.plural, &items, include, &rv),
        ));
    }
    let list = json!({
        "kind": def.list_kind(),
        "apiVersion": def.group_version(),
        "metadata": { "resourceVersion": rv },
        "items": items.into_iter().map(|o| o.value).collect::<Vec<_>>(),
    });
    Ok(respond::json(200, &list))
}

fn watch_params(query: &Query) -> Result<WatchParams, ApiError> {
    let timeout = match query.get("timeoutSeconds") {
        None | Some("") => None,
        Some(t) => Some(std::time::Duration::from_secs(t.parse::<u64>().map_err(
            |_| ApiError::bad_request(&format!("invalid value for timeoutSeconds: {t:?}")),
        )?)),
    };
    Ok(WatchParams {
        resource_version: query.get("resourceVersion").map(str::to_string),
        timeout,
        bookmarks: query.flag("allowWatchBookmarks"),
        send_initial: query.flag("sendInitialEvents"),
    })
}
