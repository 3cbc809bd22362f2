//! Errors as the API server returns them: `Status` objects with a code and a reason that
//! kubectl prints as `Error from server (<Reason>): <message>`.

use serde_json::{Value, json};

/// A failed request: HTTP code + its `Status` body.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub code: u16,
    pub body: Value,
}

pub(crate) fn failure(code: u16, reason: &str, message: &str, details: Option<Value>) -> ApiError {
    let mut body = json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    });
    if let Some(d) = details {
        body["details"] = d;
    }
    ApiError { code, body }
}

fn details(name: &str, group: &str, kind: &str) -> Value {
    let mut d = json!({ "name": name, "kind": kind });
    if !group.is_empty() {
        d["group"] = json!(group);
    }
    d
}

impl ApiError {
    /// `pods "x" not found` (kubectl: `Error from server (NotFound): pods "x" not found`).
    pub fn not_found(group: &str, plural: &str, name: &str) -> ApiError {
        let what = if group.is_empty() {
            plural.to_string()
        } else {
            format!("{plural}.{group}")
        };
        failure(
            404,
            "NotFound",
            &format!("{what} \"{name}\" not found"),
            Some(details(name, group, plural)),
        )
    }

    /// A path that names no resource (the real server's bare 404).
    pub fn no_route() -> ApiError {
        failure(
            404,
            "NotFound",
            "the server could not find the requested resource",
            Some(json!({})),
        )
    }

    pub fn method_not_allowed() -> ApiError {
        failure(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
            Some(json!({})),
        )
    }

    pub fn bad_request(message: &str) -> ApiError {
        failure(400, "BadRequest", message, None)
    }

    pub fn unauthorized() -> ApiError {
        failure(401, "Unauthorized", "Unauthorized", None)
    }

    /// RBAC's denial: `pods is forbidden: User "u" cannot list resource "pods" in API
    /// group "" in the namespace "default"`.
    pub fn forbidden(
        user: &str,
        verb: &str,
        group: &str,
        resource: &str,
        subresource: Option<&str>,
        namespace: Option<&str>,
    ) -> ApiError {
        let full = subresource.map_or_else(|| resource.to_string(), |s| format!("{resource}/{s}"));
        let scope = namespace.map_or_else(
            || "at the cluster scope".to_string(),
            |ns| format!("in the namespace \"{ns}\""),
        );
        let shown = if group.is_empty() {
            full.clone()
        } else {
            format!("{full}.{group}")
        };
        failure(
            403,
            "Forbidden",
            &format!(
                "{shown} is forbidden: User \"{user}\" cannot {verb} resource \"{full}\" in API group \"{group}\" {scope}"
            ),
            Some(details("", group, resource)),
        )
    }

    pub fn not_acceptable(message: &str) -> ApiError {
        failure(406, "NotAcceptable", message, None)
    }

    pub fn internal(message: &str) -> ApiError {
        failure(
            500,
            "InternalError",
            &format!("Internal error occurred: {message}"),
            Some(json!({ "causes": [{ "message": message }] })),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_have_the_real_shape() {
        let e = ApiError::not_found("", "pods", "nope");
        assert_eq!(e.code, 404);
        assert_eq!(e.body["message"], "pods \"nope\" not found");
        assert_eq!(e.body["details"]["kind"], "pods");
        let e = ApiError::not_found("apps", "daemonsets", "x");
        assert_eq!(e.body["message"], "daemonsets.apps \"x\" not found");
        let e = ApiError::forbidden("alice", "create", "", "pods", Some("exec"), Some("default"));
        assert_eq!(
            e.body["message"],
            "pods/exec is forbidden: User \"alice\" cannot create resource \"pods/exec\" in API group \"\" in the namespace \"default\""
        );
        assert_eq!(ApiError::method_not_allowed().code, 405);
    }
}
