//! A pod to create, checked as the real server does — decoding (400/413/415), strict
//! field validation, the API's validation (422 `Invalid` with field causes), Pod
//! Security Admission (`baseline`, when that fault is on) — then against what the
//! sandbox can honour (422 naming the field, never a pod Pending forever).

use k8s_openapi::api::core::v1::{Container, Pod};
use serde_json::{Value, json};

use super::errors::Cause;
use crate::status::ApiError;
use crate::store::PodKind;

/// The real server's limit on a request body (3 MiB).
pub const BODY_LIMIT: usize = 3 * 1024 * 1024;

/// The body as JSON (or YAML), a `v1` `Pod`.
pub fn decode(body: &[u8], content_type: Option<&str>) -> Result<Value, ApiError> {
    let media = content_type
        .and_then(|c| c.split(';').next())
        .map_or("application/json", str::trim);
    let value: Value = match media {
        "application/json" | "" | "*/*" => serde_json::from_slice(body).map_err(|e| {
            ApiError::bad_request(&format!("couldn't get version/kind; json parse error: {e}"))
        })?,
        "application/yaml" | "application/x-yaml" | "text/yaml" => serde_yaml::from_slice(body)
            .map_err(|e| {
                ApiError::bad_request(&format!("couldn't get version/kind; yaml parse error: {e}"))
            })?,
        other => return Err(ApiError::unsupported_media(other)),
    };
    if !value.is_object() {
        return Err(ApiError::bad_request(
            "couldn't get version/kind; json parse error: the body is not a JSON object",
        ));
    }
    match value["kind"].as_str() {
        None | Some("") => {
            let mut shown = value.to_string();
            shown.truncate(200);
            return Err(ApiError::bad_request(&format!(
                "Object 'Kind' is missing in '{shown}'"
            )));
        }
        Some("Pod") => {}
        Some(other) => {
            return Err(ApiError::bad_request(&format!(
                "Pod in version \"v1\" cannot be handled as a Pod: the body is a {other:?}, not a Pod"
            )));
        }
    }
    match value["apiVersion"].as_str() {
        Some("v1") => Ok(value),
        other => Err(ApiError::bad_request(&format!(
            "the API version in the data ({}) does not match the expected API version (v1)",
            other.unwrap_or("")
        ))),
    }
}

/// Fields of `raw` the schema does not know (what `fieldValidation=Strict` rejects),
/// found as those the typed pod dropped.
pub fn unknown_fields(raw: &Value, typed: &Value) -> Vec<String> {
    let mut out = Vec::new();
    walk(raw, typed, "", &mut out);
    out
}

fn walk(raw: &Value, typed: &Value, at: &str, out: &mut Vec<String>) {
    match (raw, typed) {
        (Value::Object(r), Value::Object(t)) => {
            for (k, v) in r {
                if v.is_null() {
                    continue;
                }
                let path = if at.is_empty() {
                    k.clone()
                } else {
                    format!("{at}.{k}")
                };
                match t.get(k) {
                    None => out.push(path),
                    Some(tv) => walk(v, tv, &path, out),
                }
            }
        }
        (Value::Array(r), Value::Array(t)) => {
            for (i, (rv, tv)) in r.iter().zip(t).enumerate() {
                walk(rv, tv, &format!("{at}[{i}]"), out);
            }
        }
        _ => {}
    }
}

/// The typed pod, or the decoding error the real server gives for a mistyped field.
pub fn typed(raw: &Value) -> Result<Pod, ApiError> {
    serde_json::from_value(raw.clone()).map_err(|e| {
        ApiError::bad_request(&format!(
            "Pod in version \"v1\" cannot be handled as a Pod: {e}"
        ))
    })
}

fn dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

fn dns_subdomain(s: &str) -> bool {
    s.len() <= 253 && s.split('.').all(dns_label)
}

const SUBDOMAIN: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";

fn containers(list: &[Container], field: &str, out: &mut Vec<Cause>) {
    let mut names = std::collections::BTreeSet::new();
    for (i, c) in list.iter().enumerate() {
        let at = format!("{field}[{i}]");
        if c.name.is_empty() {
            out.push(Cause::required(format!("{at}.name"), ""));
        } else if !dns_label(&c.name) {
            out.push(Cause::invalid(format!("{at}.name"), &json!(c.name), LABEL));
        } else if !names.insert(c.name.clone()) {
            out.push(Cause {
                reason: "FieldValueDuplicate",
                field: format!("{at}.name"),
                message: format!("Duplicate value: {:?}", c.name),
            });
        }
        if c.image.as_deref().is_none_or(str::is_empty) {
            out.push(Cause::required(format!("{at}.image"), ""));
        }
        if let Some(p) = c.image_pull_policy.as_deref()
            && !matches!(p, "Always" | "IfNotPresent" | "Never")
        {
            out.push(Cause::not_supported(
                format!("{at}.imagePullPolicy"),
                p,
                &["Always", "IfNotPresent", "Never"],
            ));
        }
    }
}

/// The API's own validation (what any cluster rejects).
pub fn validate(pod: &Pod, name: &str) -> Vec<Cause> {
    let mut out = Vec::new();
    if name.is_empty() {
        out.push(Cause::required(
            "metadata.name",
            "name or generateName is required",
        ));
    } else if !dns_subdomain(name) {
        out.push(Cause::invalid("metadata.name", &json!(name), SUBDOMAIN));
    }
    let Some(spec) = &pod.spec else {
        out.push(Cause::required("spec.containers", ""));
        return out;
    };
    if spec.containers.is_empty() {
        out.push(Cause::required("spec.containers", ""));
    }
    containers(&spec.containers, "spec.containers", &mut out);
    if let Some(init) = &spec.init_containers {
        containers(init, "spec.initContainers", &mut out);
    }
    if let Some(p) = spec.restart_policy.as_deref()
        && !matches!(p, "Always" | "OnFailure" | "Never")
    {
        out.push(Cause::not_supported(
            "spec.restartPolicy",
            p,
            &["Always", "OnFailure", "Never"],
        ));
    }
    if let Some(p) = spec.dns_policy.as_deref()
        && !matches!(
            p,
            "ClusterFirst" | "ClusterFirstWithHostNet" | "Default" | "None"
        )
    {
        out.push(Cause::not_supported(
            "spec.dnsPolicy",
            p,
            &["ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"],
        ));
    }
    out
}

/// Pod Security Admission at level `baseline` (the `psa-privileged` fault): the message
/// of a real apiserver, checks in its order.
pub fn psa_baseline(pod: &Pod) -> Option<String> {
    let spec = pod.spec.as_ref()?;
    let mut found = Vec::new();
    let host: Vec<&str> = [
        (spec.host_network, "hostNetwork=true"),
        (spec.host_pid, "hostPID=true"),
        (spec.host_ipc, "hostIPC=true"),
    ]
    .iter()
    .filter(|(on, _)| *on == Some(true))
    .map(|(_, s)| *s)
    .collect();
    if !host.is_empty() {
        found.push(format!("host namespaces ({})", host.join(", ")));
    }
    let quoted = |names: &[String]| {
        names
            .iter()
            .map(|n| format!("{n:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let host_paths: Vec<String> = spec
        .volumes
        .iter()
        .flatten()
        .filter(|v| v.host_path.is_some())
        .map(|v| v.name.clone())
        .collect();
    if !host_paths.is_empty() {
        let word = if host_paths.len() == 1 {
            "volume"
        } else {
            "volumes"
        };
        found.push(format!("hostPath volumes ({word} {})", quoted(&host_paths)));
    }
    let all = spec
        .init_containers
        .iter()
        .flatten()
        .chain(spec.containers.iter());
    let mut ports = Vec::new();
    let mut privileged = Vec::new();
    for c in all {
        for p in c.ports.iter().flatten() {
            if let Some(hp) = p.host_port.filter(|hp| *hp != 0) {
                ports.push(format!("container {:?} uses hostPort {hp}", c.name));
            }
        }
        if c.security_context.as_ref().and_then(|s| s.privileged) == Some(true) {
            privileged.push(c.name.clone());
        }
    }
    if !ports.is_empty() {
        found.push(format!("hostPort ({})", ports.join(", ")));
    }
    if !privileged.is_empty() {
        let word = if privileged.len() == 1 {
            "container"
        } else {
            "containers"
        };
        found.push(format!(
            "privileged ({word} {} must not set securityContext.privileged=true)",
            quoted(&privileged)
        ));
    }
    (!found.is_empty()).then(|| {
        format!(
            "violates PodSecurity \"baseline:latest\": {}",
            found.join(", ")
        )
    })
}

/// How a pod runs here: `hostNetwork` pods (the node-shell pod) in the node's namespaces,
/// others as sandbox pods of their own.
pub fn kind_of(pod: &Pod) -> PodKind {
    if pod.spec.as_ref().and_then(|s| s.host_network) == Some(true) {
        PodKind::Host
    } else {
        PodKind::Sandbox
    }
}

/// What the sandbox cannot honour, by field. Host namespaces other than the network
/// are accepted for every pod: sandbox pods share the host's PID and IPC namespaces.
pub fn sandbox_limits(pod: &Pod, name: &str, node: &str, kind: PodKind) -> Vec<Cause> {
    let mut out = Vec::new();
    let Some(spec) = &pod.spec else {
        return out;
    };
    if let Some(n) = spec.node_name.as_deref()
        && !n.is_empty()
        && n != node
    {
        out.push(Cause::invalid(
            "spec.nodeName",
            &json!(n),
            &format!("this cluster (a tplab sandbox) has one node, {node:?}"),
        ));
    }
    if kind == PodKind::Sandbox && !name.is_empty() && !sandbox_name(name) {
        out.push(Cause::invalid(
            "metadata.name",
            &json!(name),
            "a tplab sandbox pod names a network namespace: at most 16 characters among [a-z0-9-], not node, world, agent or local",
        ));
    }
    if spec.init_containers.as_ref().is_some_and(|c| !c.is_empty()) {
        out.push(Cause::forbidden(
            "spec.initContainers",
            "tplab's sandbox does not run init containers",
        ));
    }
    if spec
        .ephemeral_containers
        .as_ref()
        .is_some_and(|c| !c.is_empty())
    {
        out.push(Cause::forbidden(
            "spec.ephemeralContainers",
            "may not be set on create",
        ));
    }
    for (i, v) in spec.volumes.iter().flatten().enumerate() {
        let host_ok = kind == PodKind::Host && v.host_path.is_some();
        if v.empty_dir.is_none() && !host_ok {
            let allowed = if kind == PodKind::Host {
                "emptyDir and hostPath volumes"
            } else {
                "emptyDir volumes"
            };
            out.push(Cause::forbidden(
                format!("spec.volumes[{i}]"),
                &format!(
                    "volume {:?}: tplab's sandbox mounts nothing into pods and accepts only {allowed}",
                    v.name
                ),
            ));
        }
    }
    if kind == PodKind::Sandbox {
        for (i, c) in spec.containers.iter().enumerate() {
            for (j, p) in c.ports.iter().flatten().enumerate() {
                if let Some(hp) = p.host_port.filter(|hp| *hp != 0) {
                    out.push(Cause::forbidden(
                        format!("spec.containers[{i}].ports[{j}].hostPort"),
                        &format!(
                            "hostPort {hp}: tplab's sandbox does not map node ports into pods (use hostNetwork: true to run on the node)"
                        ),
                    ));
                }
            }
        }
    }
    out
}

fn sandbox_name(name: &str) -> bool {
    name.len() <= 16 && dns_label(name) && !matches!(name, "node" | "world" | "agent" | "local")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node_shell() -> Value {
        json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": { "name": "nsenter-abc123", "creationTimestamp": null },
            "spec": {
                "nodeName": "node-x", "hostPID": true, "hostIPC": true, "hostNetwork": true,
                "imagePullSecrets": null,
                "containers": [{
                    "securityContext": { "privileged": true }, "image": "docker.io/library/alpine",
                    "name": "nsenter", "stdin": true, "stdinOnce": true, "tty": true,
                    "command": ["nsenter", "--target", "1", "--mount", "--uts", "--ipc", "--net", "--pid", "--", "bash", "-l"],
                    "resources": {}, "volumeMounts": []
                }],
                "tolerations": [
                    { "key": "CriticalAddonsOnly", "operator": "Exists" },
                    { "effect": "NoExecute", "operator": "Exists" }
                ],
                "volumes": []
            },
            "status": {}
        })
    }

    #[test]
    fn decodes_and_rejects() {
        let body = node_shell().to_string();
        assert!(decode(body.as_bytes(), Some("application/json")).is_ok());
        assert_eq!(decode(b"{not json", None).unwrap_err().code, 400);
        assert_eq!(decode(b"[1]", None).unwrap_err().code, 400);
        let svc = decode(br#"{"apiVersion":"v1","kind":"Service"}"#, None).unwrap_err();
        assert!(svc.body["message"].as_str().unwrap().contains("Service"));
        assert_eq!(
            decode(b"{}", Some("application/vnd.kubernetes.protobuf"))
                .unwrap_err()
                .code,
            415
        );
        let apps = decode(br#"{"apiVersion":"apps/v1","kind":"Pod"}"#, None).unwrap_err();
        assert_eq!(apps.code, 400);
    }

    #[test]
    fn the_node_shell_pod_is_known_and_host() {
        let raw = node_shell();
        let pod = typed(&raw).unwrap();
        let back = serde_json::to_value(&pod).unwrap();
        assert!(
            unknown_fields(&raw, &back).is_empty(),
            "{:?}",
            unknown_fields(&raw, &back)
        );
        assert!(validate(&pod, "nsenter-abc123").is_empty());
        assert_eq!(kind_of(&pod), PodKind::Host);
        assert!(sandbox_limits(&pod, "nsenter-abc123", "node-x", PodKind::Host).is_empty());
        assert_eq!(
            psa_baseline(&pod).unwrap(),
            "violates PodSecurity \"baseline:latest\": host namespaces (hostNetwork=true, hostPID=true, hostIPC=true), privileged (container \"nsenter\" must not set securityContext.privileged=true)"
        );
        let mut other = raw.clone();
        other["spec"]["nodeName"] = json!("node-y");
        let pod = typed(&other).unwrap();
        let causes = sandbox_limits(&pod, "nsenter-abc123", "node-x", PodKind::Host);
        assert_eq!(causes[0].field, "spec.nodeName");
    }

    #[test]
    fn unknown_and_invalid_fields_are_named() {
        let mut raw = node_shell();
        raw["spec"]["containers"][0]["imagee"] = json!("x");
        raw["spec"]["bogus"] = json!(1);
        let pod = typed(&raw).unwrap();
        let back = serde_json::to_value(&pod).unwrap();
        assert_eq!(
            unknown_fields(&raw, &back),
            ["spec.bogus", "spec.containers[0].imagee"]
        );
        let bad = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "Bad_Name"},
            "spec": {"restartPolicy": "Sometimes", "containers": [{"name": "c"}, {"name": "c", "image": "i"}]}});
        let pod = typed(&bad).unwrap();
        let fields: Vec<String> = validate(&pod, "Bad_Name")
            .into_iter()
            .map(|c| c.field)
            .collect();
        assert_eq!(
            fields,
            [
                "metadata.name",
                "spec.containers[0].image",
                "spec.containers[1].name",
                "spec.restartPolicy"
            ]
        );
        assert!(typed(&json!({"spec": {"containers": "nope"}})).is_err());
    }

    #[test]
    fn sandbox_pods_have_limits() {
        let raw = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a-very-long-pod-name"},
            "spec": {"containers": [{"name": "c", "image": "busybox", "ports": [{"containerPort": 80, "hostPort": 8080}]}],
                     "volumes": [{"name": "cfg", "configMap": {"name": "x"}}, {"name": "tmp", "emptyDir": {}}]}});
        let pod = typed(&raw).unwrap();
        assert_eq!(kind_of(&pod), PodKind::Sandbox);
        let fields: Vec<String> =
            sandbox_limits(&pod, "a-very-long-pod-name", "node-x", PodKind::Sandbox)
                .into_iter()
                .map(|c| c.field)
                .collect();
        assert_eq!(
            fields,
            [
                "metadata.name",
                "spec.volumes[0]",
                "spec.containers[0].ports[0].hostPort"
            ]
        );
        assert_eq!(
            psa_baseline(&pod).unwrap(),
            "violates PodSecurity \"baseline:latest\": hostPort (container \"c\" uses hostPort 8080)"
        );
    }
}
