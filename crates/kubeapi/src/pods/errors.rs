//! The `Status` errors of creating and deleting pods, in the real server's words.

use serde_json::{Value, json};

use crate::status::{ApiError, failure};

/// One field error of an `Invalid` answer (`details.causes[]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cause {
    /// `FieldValueRequired`, `FieldValueInvalid`, `FieldValueNotSupported`, …
    pub reason: &'static str,
    pub field: String,
    /// As printed after the field: `Required value`, `Invalid value: "x": why`.
    pub message: String,
}

impl Cause {
    pub fn required(field: impl Into<String>, detail: &str) -> Cause {
        let message = if detail.is_empty() {
            "Required value".to_string()
        } else {
            format!("Required value: {detail}")
        };
        Cause {
            reason: "FieldValueRequired",
            field: field.into(),
            message,
        }
    }

    pub fn invalid(field: impl Into<String>, value: &Value, detail: &str) -> Cause {
        let shown = match value {
            Value::String(s) => format!("{s:?}"),
            other => other.to_string(),
        };
        Cause {
            reason: "FieldValueInvalid",
            field: field.into(),
            message: format!("Invalid value: {shown}: {detail}"),
        }
    }

    pub fn not_supported(field: impl Into<String>, value: &str, supported: &[&str]) -> Cause {
        let list: Vec<String> = supported.iter().map(|s| format!("{s:?}")).collect();
        Cause {
            reason: "FieldValueNotSupported",
            field: field.into(),
            message: format!(
                "Unsupported value: {value:?}: supported values: {}",
                list.join(", ")
            ),
        }
    }

    pub fn forbidden(field: impl Into<String>, detail: &str) -> Cause {
        Cause {
            reason: "FieldValueForbidden",
            field: field.into(),
            message: format!("Forbidden: {detail}"),
        }
    }
}

impl ApiError {
    /// `Pod "x" is invalid: spec.containers[0].image: Required value` (422).
    pub fn invalid(name: &str, causes: &[Cause]) -> ApiError {
        let each: Vec<String> = causes
            .iter()
            .map(|c| format!("{}: {}", c.field, c.message))
            .collect();
        let list = if each.len() == 1 {
            each[0].clone()
        } else {
            format!("[{}]", each.join(", "))
        };
        let causes: Vec<Value> = causes
            .iter()
            .map(|c| json!({ "reason": c.reason, "message": c.message, "field": c.field }))
            .collect();
        failure(
            422,
            "Invalid",
            &format!("Pod \"{name}\" is invalid: {list}"),
            Some(json!({ "name": name, "kind": "Pod", "causes": causes })),
        )
    }

    /// `pods "x" already exists` (409).
    pub fn already_exists(name: &str) -> ApiError {
        failure(
            409,
            "AlreadyExists",
            &format!("pods \"{name}\" already exists"),
            Some(json!({ "name": name, "kind": "pods" })),
        )
    }

    /// `pods "x" is forbidden: <why>` (403): admission, or what the sandbox refuses.
    pub fn pod_forbidden(name: &str, why: &str) -> ApiError {
        failure(
            403,
            "Forbidden",
            &format!("pods \"{name}\" is forbidden: {why}"),
            Some(json!({ "name": name, "kind": "pods" })),
        )
    }

    /// RBAC's denial of a pod subresource, naming the pod as the real server does.
    pub fn subresource_forbidden(user: &str, name: &str, sub: &str, namespace: &str) -> ApiError {
        failure(
            403,
            "Forbidden",
            &format!(
                "pods \"{name}\" is forbidden: User \"{user}\" cannot create resource \"pods/{sub}\" in API group \"\" in the namespace \"{namespace}\""
            ),
            Some(json!({ "name": name, "kind": "pods" })),
        )
    }

    pub fn conflict(name: &str, why: &str) -> ApiError {
        failure(
            409,
            "Conflict",
            &format!("Operation cannot be fulfilled on pods \"{name}\": {why}"),
            Some(json!({ "name": name, "kind": "pods" })),
        )
    }

    pub fn too_large(limit: usize) -> ApiError {
        failure(
            413,
            "RequestEntityTooLarge",
            &format!("Request entity too large: limit is {limit}"),
            None,
        )
    }

    pub fn unsupported_media(content_type: &str) -> ApiError {
        failure(
            415,
            "UnsupportedMediaType",
            &format!(
                "the body of the request was in an unknown format ({content_type}) - accepted media types include: application/json, application/yaml"
            ),
            None,
        )
    }

    /// A watch from a version the history no longer holds (sent as an `ERROR` event).
    pub fn expired(requested: u64, oldest: u64) -> ApiError {
        failure(
            410,
            "Expired",
            &format!("too old resource version: {requested} ({oldest})"),
            None,
        )
    }

    /// `namespaces "x" not found`.
    pub fn no_namespace(ns: &str) -> ApiError {
        ApiError::not_found("", "namespaces", ns)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_lists_its_causes() {
        let one = ApiError::invalid("p", &[Cause::required("spec.containers", "")]);
        assert_eq!(one.code, 422);
        assert_eq!(
            one.body["message"],
            "Pod \"p\" is invalid: spec.containers: Required value"
        );
        let two = ApiError::invalid(
            "p",
            &[
                Cause::required("spec.containers[0].image", ""),
                Cause::invalid("spec.nodeName", &json!("n2"), "no such node"),
            ],
        );
        assert_eq!(
            two.body["message"],
            "Pod \"p\" is invalid: [spec.containers[0].image: Required value, spec.nodeName: Invalid value: \"n2\": no such node]"
        );
        assert_eq!(two.body["details"]["causes"][1]["field"], "spec.nodeName");
        assert_eq!(
            ApiError::subresource_forbidden("u", "x", "exec", "default").body["message"],
            "pods \"x\" is forbidden: User \"u\" cannot create resource \"pods/exec\" in API group \"\" in the namespace \"default\""
        );
    }
}
