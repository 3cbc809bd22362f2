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

pub async fn handle(
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
        }) if def == resources::PODS && (sub == "exec" || sub == "attach") => {
            let ns = namespace.unwrap_or_default();
            return exec::handle(req, ctx, &ns, &name, &sub, &query, record);
        }
        Ok(Target::Subresource {
            def,
            namespace,
            name,
            sub,
        }) if def == resources::PODS && sub == "log" && verb == "get" => {
            crate::logs::handle(ctx, namespace.as_deref().unwrap_or_default(), &name, &query)
        }
        Ok(t) if pod_write(req.method(), &t) => pod_write_answer(req, ctx, &t, &query).await,
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

/// `POST` on pods, `DELETE` on a pod (see `pods/`).
fn pod_write(method: &Method, target: &Target) -> bool {
    match target {
        Target::Collection { def, namespace } => {
            *method == Method::POST && *def == resources::PODS && namespace.is_some()
        }
        Target::Object { def, .. } => *method == Method::DELETE && *def == resources::PODS,
        _ => false,
    }
}

async fn pod_write_answer(
    req: Request<Incoming>,
    ctx: &Arc<Ctx>,
    target: &Target,
    query: &Query,
) -> Response<Body> {
    let result = match target {
        Target::Collection { namespace, .. } => {
            crate::pods::create(ctx, req, namespace.as_deref().unwrap_or_default(), query).await
        }
        Target::Object {
            namespace, name, ..
        } => {
            crate::pods::delete(
                ctx,
                req,
                namespace.as_deref().unwrap_or_default(),
                name,
                query,
            )
            .await
        }
        _ => Err(ApiError::method_not_allowed()),
    };
    match result {
        Err(e) => respond::error(&e),
        Ok(a) => {
            let mut r = respond::json(a.code, &a.object);
            for w in a.warnings {
                let text = format!("299 - {}", serde_json::Value::String(w));
                if let Ok(v) = hyper::header::HeaderValue::from_str(&text) {
                    r.headers_mut().append("Warning", v);
                }
            }
            r
        }
    }
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
    let created = ctx.store.objects();
    let src = Source {
        state: &state,
        identity: &ctx.identity,
        port: ctx.port,
        created: &created,
    };
    let found = objects::of(&src, def, namespace)
        .into_iter()
        .find(|o| o.name == name)
        .ok_or_else(|| ApiError::not_found(def.group, def.plural, name))?;
    if table::wants_table(accept) {
        let rv = ctx.store.version().to_string();
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
    let params = if watching {
        Some(watch_params(query)?)
    } else {
        None
    };
    // Subscribed before the objects are read: no change falls between the two.
    let live = params.as_ref().map(|p| subscribe(ctx, p)).transpose()?;
    let state = ctx.state()?;
    let version = ctx.store.version();
    let created = ctx.store.objects();
    let src = Source {
        state: &state,
        identity: &ctx.identity,
        port: ctx.port,
        created: &created,
    };
    let rv = version.to_string();
    let items: Vec<Obj> = objects::of(&src, def, namespace)
        .into_iter()
        .filter(|o| labels.matches(&o.value) && fields.matches(&o.value))
        .collect();
    let as_table = table::wants_table(accept);
    if let (Some(params), Some((backlog, rx, expired))) = (params, live) {
        let after = if watch::replays(&params) { version } else { 0 };
        let (d, ns) = (*def, namespace.map(str::to_string));
        let shape = Box::new(move |c: &crate::store::Change| {
            let o = &c.obj;
            let keep = o.def == d
                && (ns.is_none() || o.namespace == ns)
                && labels.matches(&o.value)
                && fields.matches(&o.value);
            keep.then(|| {
                if as_table {
                    table::table(
                        d.plural,
                        std::slice::from_ref(o),
                        include,
                        &c.rv.to_string(),
                    )
                } else {
                    o.value.clone()
                }
            })
        });
        let live = watch::Live {
            backlog,
            rx,
            after,
            shape,
            expired,
        };
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
        let body = watch::body(initial, bookmark, &params, Some(live));
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

type Subscription = (
    Vec<crate::store::Change>,
    tokio::sync::broadcast::Receiver<crate::store::Change>,
    Option<serde_json::Value>,
);

/// The store's changes a watch gets: after its version (none from `0`/unset, which
/// replays the objects instead); a version older than the history is expired.
fn subscribe(ctx: &Ctx, params: &WatchParams) -> Result<Subscription, ApiError> {
    let from = match params.resource_version.as_deref() {
        None | Some("" | "0") => None,
        Some(v) => Some(
            v.parse::<u64>()
                .map_err(|_| ApiError::bad_request(&format!("invalid resource version {v:?}")))?,
        ),
    };
    let now = ctx.store.version();
    // Versions of the sandbox's own objects (below the store's) are still current:
    // those objects change only with the sandbox.
    let from = from.map(|f| {
        if f < crate::store::BASE_VERSION {
            now
        } else {
            f
        }
    });
    let start = if params.send_initial { None } else { from };
    match ctx.store.watch_from(start.unwrap_or(now)) {
        Ok((backlog, rx)) => Ok((backlog, rx, None)),
        Err(gone) => {
            let e = ApiError::expired(gone.requested, gone.oldest);
            let (_, rx) = ctx
                .store
                .watch_from(now)
                .map_err(|_| ApiError::internal("subscribing to changes"))?;
            Ok((Vec::new(), rx, Some(e.body)))
        }
    }
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
