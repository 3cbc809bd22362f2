//! Request paths of the Kubernetes API, parsed into what they name.

use crate::resources::{self, ResourceDef};
use crate::status::ApiError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Version,
    Health,
    /// `/api`
    Core,
    /// `/apis`
    Groups,
    /// `/apis/<group>`
    Group(String),
    /// `/api/v1`, `/apis/<group>/<version>`
    GroupVersion(String, String),
    /// `/openapi/v3` (`""`) or `/openapi/v3/<group-version path>` (`api/v1`).
    OpenApiV3(String),
    Collection {
        def: ResourceDef,
        namespace: Option<String>,
    },
    Object {
        def: ResourceDef,
        namespace: Option<String>,
        name: String,
    },
    Subresource {
        def: ResourceDef,
        namespace: Option<String>,
        name: String,
        sub: String,
    },
}

impl Target {
    /// The audit `objectRef` of a resource request.
    pub fn object_ref(&self) -> Option<serde_json::Value> {
        let (def, ns, name, sub) = match self {
            Target::Collection { def, namespace } => (def, namespace, None, None),
            Target::Object {
                def,
                namespace,
                name,
            } => (def, namespace, Some(name), None),
            Target::Subresource {
                def,
                namespace,
                name,
                sub,
            } => (def, namespace, Some(name), Some(sub)),
            _ => return None,
        };
        let mut r = serde_json::json!({ "resource": def.plural, "apiVersion": def.version });
        if !def.group.is_empty() {
            r["apiGroup"] = serde_json::json!(def.group);
        }
        if let Some(ns) = ns {
            r["namespace"] = serde_json::json!(ns);
        }
        if let Some(n) = name {
            r["name"] = serde_json::json!(n);
        }
        if let Some(s) = sub {
            r["subresource"] = serde_json::json!(s);
        }
        Some(r)
    }
}

fn resource(group: &str, version: &str, rest: &[&str]) -> Result<Target, ApiError> {
    let def = |plural: &str| resources::find(group, version, plural).ok_or_else(ApiError::no_route);
    match rest {
        ["namespaces", ns, plural, tail @ ..] => {
            let d = def(plural)?;
            if !d.namespaced {
                return Err(ApiError::no_route());
            }
            let namespace = Some((*ns).to_string());
            match tail {
                [] => Ok(Target::Collection { def: d, namespace }),
                [name] => Ok(Target::Object {
                    def: d,
                    namespace,
                    name: (*name).to_string(),
                }),
                [name, sub] => Ok(Target::Subresource {
                    def: d,
                    namespace,
                    name: (*name).to_string(),
                    sub: (*sub).to_string(),
                }),
                _ => Err(ApiError::no_route()),
            }
        }
        [plural] => Ok(Target::Collection {
            def: def(plural)?,
            namespace: None,
        }),
        [plural, name] => {
            let d = def(plural)?;
            if d.namespaced {
                return Err(ApiError::no_route());
            }
            Ok(Target::Object {
                def: d,
                namespace: None,
                name: (*name).to_string(),
            })
        }
        _ => Err(ApiError::no_route()),
    }
}

/// Parses a request path (already percent-decoded segments are not needed: names are
/// DNS labels, anything else simply matches nothing).
pub fn parse(path: &str) -> Result<Target, ApiError> {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match segs.as_slice() {
        ["version"] => Ok(Target::Version),
        ["healthz" | "livez" | "readyz", ..] => Ok(Target::Health),
        ["api"] => Ok(Target::Core),
        ["api", "v1"] => Ok(Target::GroupVersion(String::new(), "v1".into())),
        ["api", "v1", rest @ ..] => resource("", "v1", rest),
        ["openapi", "v3", rest @ ..] => Ok(Target::OpenApiV3(rest.join("/"))),
        ["apis"] => Ok(Target::Groups),
        ["apis", g] => Ok(Target::Group((*g).to_string())),
        ["apis", g, v] => Ok(Target::GroupVersion((*g).to_string(), (*v).to_string())),
        ["apis", g, v, rest @ ..] => resource(g, v, rest),
        _ => Err(ApiError::no_route()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(parse("/version").unwrap(), Target::Version);
        assert_eq!(
            parse("/openapi/v3/apis/apps/v1").unwrap(),
            Target::OpenApiV3("apis/apps/v1".into())
        );
        assert!(matches!(
            parse("/api/v1/namespaces/kube-system/pods").unwrap(),
            Target::Collection { namespace: Some(ns), .. } if ns == "kube-system"
        ));
        assert!(matches!(
            parse("/api/v1/nodes/node-abcde").unwrap(),
            Target::Object { name, namespace: None, .. } if name == "node-abcde"
        ));
        assert!(matches!(
            parse("/api/v1/namespaces/default").unwrap(),
            Target::Object { name, .. } if name == "default"
        ));
        assert!(matches!(
            parse("/api/v1/namespaces/default/pods/p/exec").unwrap(),
            Target::Subresource { sub, .. } if sub == "exec"
        ));
        assert!(matches!(
            parse("/apis/apps/v1/namespaces/kube-system/daemonsets/cilium").unwrap(),
            Target::Object { .. }
        ));
        for bad in [
            "/",
            "/api/v2/pods",
            "/api/v1/widgets",
            "/api/v1/pods/x",
            "/x/y",
            "/api/v1/namespaces/a/nodes",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
