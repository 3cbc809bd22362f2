//! A created pod as the server stores it (the defaults the apiserver and its admission
//! plugins fill in), the status shapes a kubelet reports on its way (`ContainerCreating`,
//! `ErrImagePull`, `Running`, terminated), the Events it records, and the command its main
//! process maps to in the sandbox.

use k8s_openapi::api::core::v1::{Pod, Toleration};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{FieldsV1, ManagedFieldsEntry};
use serde_json::{Value, json};

use crate::identity::Identity;

pub fn now_text() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn now_time() -> k8s_openapi::apimachinery::pkg::apis::meta::v1::Time {
    crate::objects::time(chrono::Utc::now())
}

fn tolerates(existing: &[Toleration], key: &str) -> bool {
    existing.iter().any(|t| {
        let key_ok = t.key.as_deref() == Some(key)
            || (t.key.as_deref().is_none_or(str::is_empty)
                && t.operator.as_deref() == Some("Exists"));
        key_ok
            && t.effect
                .as_deref()
                .is_none_or(|e| e.is_empty() || e == "NoExecute")
    })
}

/// `Always` for `:latest` or untagged images, else `IfNotPresent` (the server's default).
fn pull_policy(image: &str) -> &'static str {
    let last = image.rsplit('/').next().unwrap_or(image);
    if image.contains('@') {
        return "IfNotPresent";
    }
    match last.split_once(':') {
        None | Some((_, "latest")) => "Always",
        Some(_) => "IfNotPresent",
    }
}

/// What the stored pod says beyond what the client sent: identity, node, defaults.
pub struct Placement<'a> {
    pub namespace: &'a str,
    pub name: &'a str,
    pub node: &'a str,
    pub identity: &'a Identity,
    pub field_manager: &'a str,
}

/// The pod as stored at creation: `Pending`, scheduled on the node.
pub fn defaulted(mut pod: Pod, at: &Placement<'_>) -> Value {
    let m = &mut pod.metadata;
    m.name = Some(at.name.to_string());
    m.namespace = Some(at.namespace.to_string());
    m.uid = Some(at.identity.uid(&format!(
        "pod/{}/{}/{}",
        at.namespace,
        at.name,
        chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0)
    )));
    m.creation_timestamp = Some(now_time());
    m.generation = Some(1);
    m.resource_version = None;
    m.managed_fields = Some(vec![ManagedFieldsEntry {
        manager: Some(at.field_manager.to_string()),
        operation: Some("Update".into()),
        api_version: Some("v1".into()),
        time: Some(now_time()),
        fields_type: Some("FieldsV1".into()),
        fields_v1: Some(FieldsV1(json!({ "f:metadata": {}, "f:spec": {} }))),
        subresource: None,
    }]);
    let spec = pod.spec.get_or_insert_with(Default::default);
    spec.node_name = Some(at.node.to_string());
    spec.dns_policy.get_or_insert_with(|| "ClusterFirst".into());
    spec.restart_policy.get_or_insert_with(|| "Always".into());
    spec.scheduler_name
        .get_or_insert_with(|| "default-scheduler".into());
    spec.security_context.get_or_insert_with(Default::default);
    spec.termination_grace_period_seconds.get_or_insert(30);
    spec.service_account_name
        .get_or_insert_with(|| "default".into());
    spec.service_account = spec.service_account_name.clone();
    spec.enable_service_links.get_or_insert(true);
    spec.preemption_policy
        .get_or_insert_with(|| "PreemptLowerPriority".into());
    spec.priority.get_or_insert(0);
    let tolerations = spec.tolerations.get_or_insert_with(Vec::new);
    for key in [
        "node.kubernetes.io/not-ready",
        "node.kubernetes.io/unreachable",
    ] {
        if !tolerates(tolerations, key) {
            tolerations.push(Toleration {
                key: Some(key.into()),
                operator: Some("Exists".into()),
                effect: Some("NoExecute".into()),
                toleration_seconds: Some(300),
                ..Toleration::default()
            });
        }
    }
    for c in &mut spec.containers {
        let image = c.image.clone().unwrap_or_default();
        c.image_pull_policy
            .get_or_insert_with(|| pull_policy(&image).into());
        c.termination_message_path
            .get_or_insert_with(|| "/dev/termination-log".into());
        c.termination_message_policy
            .get_or_insert_with(|| "File".into());
        c.resources.get_or_insert_with(Default::default);
    }
    let mut v = serde_json::to_value(&pod).unwrap_or(Value::Null);
    v["kind"] = json!("Pod");
    v["apiVersion"] = json!("v1");
    v["status"] = json!({
        "phase": "Pending",
        "qosClass": "BestEffort",
        "conditions": [condition("PodScheduled", true, None)],
    });
    v
}

fn condition(kind: &str, ok: bool, why: Option<(&str, String)>) -> Value {
    let mut c = json!({
        "type": kind,
        "status": if ok { "True" } else { "False" },
        "lastProbeTime": null,
        "lastTransitionTime": now_text(),
    });
    if let Some((reason, message)) = why {
        c["reason"] = json!(reason);
        c["message"] = json!(message);
    }
    c
}

pub fn container_names(pod: &Value) -> Vec<String> {
    pod["spec"]["containers"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|c| c["name"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn images(pod: &Value) -> Vec<(String, String)> {
    pod["spec"]["containers"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|c| {
                    (
                        c["name"].as_str().unwrap_or_default().to_string(),
                        c["image"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn conditions(pod: &mut Value, ready: bool, sandbox: bool, unready_reason: &str) {
    let names = container_names(pod);
    let why = || {
        (!ready).then(|| {
            (
                unready_reason,
                format!("containers with unready status: [{}]", names.join(" ")),
            )
        })
    };
    pod["status"]["conditions"] = json!([
        condition("PodReadyToStartContainers", sandbox, None),
        condition("Initialized", true, None),
        condition("Ready", ready, why()),
        condition("ContainersReady", ready, why()),
        condition("PodScheduled", true, None),
    ]);
}

fn waiting(pod: &mut Value, reason: &str, message: Option<&str>) {
    let statuses: Vec<Value> = images(pod)
        .into_iter()
        .map(|(name, image)| {
            let mut w = json!({ "reason": reason });
            if let Some(m) = message {
                w["message"] = json!(m);
            }
            json!({
                "name": name, "image": image, "imageID": "", "ready": false,
                "restartCount": 0, "started": false, "lastState": {},
                "state": { "waiting": w },
            })
        })
        .collect();
    pod["status"]["containerStatuses"] = json!(statuses);
}

/// The kubelet took the pod: its sandbox and containers are being created.
pub fn creating(pod: &mut Value, host_ip: &str) {
    conditions(pod, false, false, "ContainersNotReady");
    waiting(pod, "ContainerCreating", None);
    pod["status"]["hostIP"] = json!(host_ip);
    pod["status"]["hostIPs"] = json!([{ "ip": host_ip }]);
    pod["status"]["startTime"] = json!(now_text());
}

/// The image cannot be pulled (`ErrImagePull`, then `ImagePullBackOff`).
pub fn pull_failing(pod: &mut Value, reason: &str, message: &str) {
    conditions(pod, false, true, "ContainersNotReady");
    waiting(pod, reason, Some(message));
}

/// Every container runs.
pub fn running(pod: &mut Value, ip: &str, identity: &Identity) {
    conditions(pod, true, true, "");
    let uid = pod["metadata"]["uid"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let started = now_text();
    let statuses: Vec<Value> = images(pod)
        .into_iter()
        .map(|(name, image)| {
            let id = identity.container_id(&format!("{uid}/{name}"));
            let digest = identity.container_id(&image);
            json!({
                "name": name,
                "image": image,
                "imageID": format!("{image}@sha256:{}", digest.get(13..).unwrap_or_default()),
                "containerID": id,
                "ready": true, "restartCount": 0, "started": true, "lastState": {},
                "state": { "running": { "startedAt": started } },
            })
        })
        .collect();
    pod["status"]["phase"] = json!("Running");
    pod["status"]["podIP"] = json!(ip);
    pod["status"]["podIPs"] = json!([{ "ip": ip }]);
    pod["status"]["containerStatuses"] = json!(statuses);
}

/// The main process of `container` ended with `code` (a `restartPolicy: Never` pod, or
/// `OnFailure` with 0, is then done).
pub fn terminated(pod: &mut Value, container: &str, code: i32) {
    let policy = pod["spec"]["restartPolicy"].as_str().unwrap_or("Always");
    let done = policy == "Never" || (policy == "OnFailure" && code == 0);
    let finished = now_text();
    if let Some(list) = pod["status"]["containerStatuses"].as_array_mut() {
        for c in list.iter_mut().filter(|c| c["name"] == container) {
            let state = json!({ "terminated": {
                "exitCode": code,
                "reason": if code == 0 { "Completed" } else { "Error" },
                "startedAt": c["state"]["running"]["startedAt"].clone(),
                "finishedAt": finished,
                "containerID": c["containerID"].clone(),
            }});
            if done {
                c["state"] = state;
                c["ready"] = json!(false);
                c["started"] = json!(false);
            } else {
                // Restarted at once (no back-off: nothing here crash-loops).
                c["lastState"] = state;
                c["restartCount"] = json!(c["restartCount"].as_i64().unwrap_or(0) + 1);
                c["state"] = json!({ "running": { "startedAt": finished } });
            }
        }
    }
    if done {
        let all_done = pod["status"]["containerStatuses"]
            .as_array()
            .is_some_and(|l| l.iter().all(|c| c["state"]["terminated"].is_object()));
        if all_done {
            let failed = pod["status"]["containerStatuses"]
                .as_array()
                .is_some_and(|l| l.iter().any(|c| c["state"]["terminated"]["exitCode"] != 0));
            pod["status"]["phase"] = json!(if failed { "Failed" } else { "Succeeded" });
            conditions(pod, false, false, "PodCompleted");
        }
    }
}

/// The sandbox could not be built: the pod fails (rather than staying Pending).
pub fn sandbox_failed(pod: &mut Value, message: &str) {
    pod["status"]["phase"] = json!("Failed");
    pod["status"]["reason"] = json!("FailedCreatePodSandBox");
    pod["status"]["message"] = json!(message);
    waiting(pod, "ContainerCreating", None);
}

/// An Event about `pod` (reason, type, component, message, container or none).
pub fn event(
    pod: &Value,
    node: &str,
    identity: &Identity,
    what: (&str, &str, &str),
    message: &str,
    container: Option<&str>,
) -> Value {
    let (reason, kind, component) = what;
    let name = pod["metadata"]["name"].as_str().unwrap_or_default();
    let ns = pod["metadata"]["namespace"].as_str().unwrap_or_default();
    let nanos = chrono::Utc::now().timestamp_nanos_opt().unwrap_or(0);
    let ev_name = format!("{name}.{nanos:016x}");
    let now = now_text();
    let mut involved = json!({
        "kind": "Pod", "namespace": ns, "name": name, "apiVersion": "v1",
        "uid": pod["metadata"]["uid"], "resourceVersion": pod["metadata"]["resourceVersion"],
    });
    if let Some(c) = container {
        involved["fieldPath"] = json!(format!("spec.containers{{{c}}}"));
    }
    let kubelet = component == "kubelet";
    json!({
        "kind": "Event",
        "apiVersion": "v1",
        "metadata": {
            "name": ev_name, "namespace": ns,
            "uid": identity.uid(&format!("event/{ns}/{ev_name}")),
            "creationTimestamp": now,
        },
        "involvedObject": involved,
        "reason": reason,
        "message": message,
        "source": if kubelet { json!({ "component": component, "host": node }) } else { json!({ "component": component }) },
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
        "type": kind,
        "eventTime": null,
        "reportingComponent": component,
        "reportingInstance": if kubelet { node } else { "" },
    })
}

/// What the main process of `container` runs in the sandbox: the node-shell's
/// `nsenter --target 1 … -- CMD` is CMD in the node's namespaces (`bash -l` without
/// one); a container without a command runs `sh` (no image is really pulled).
pub fn main_command(pod: &Value, container: &str) -> Vec<String> {
    let c = pod["spec"]["containers"]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["name"] == container))
        .cloned()
        .unwrap_or(Value::Null);
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut argv = strings(&c["command"]);
    argv.extend(strings(&c["args"]));
    if argv.is_empty() {
        vec!["sh".into()]
    } else {
        in_node(argv)
    }
}

/// A command of a host pod as it runs here: `nsenter --target 1 … -- CMD` (node-shell's
/// way into the node's namespaces) is CMD in the node role, since the sandbox's "PID 1"
/// is its node, never this machine's own init (whose namespaces are the real host's);
/// `bash -l` without CMD. Other commands are unchanged.
pub fn in_node(argv: Vec<String>) -> Vec<String> {
    let nsenter = argv
        .first()
        .is_some_and(|p| p.rsplit('/').next() == Some("nsenter"));
    if !nsenter {
        return argv;
    }
    match argv.iter().position(|a| a == "--") {
        Some(i) if i + 1 < argv.len() => argv[i + 1..].to_vec(),
        _ => vec!["bash".into(), "-l".into()],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity() -> Identity {
        Identity::draw("https://127.0.0.1:6443".into())
    }

    #[test]
    fn defaults_and_transitions() {
        let raw = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
            "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}],
                     "tolerations": [{"effect": "NoExecute", "operator": "Exists"}]}});
        let pod: Pod = serde_json::from_value(raw).unwrap();
        let id = identity();
        let at = Placement {
            namespace: "default",
            name: "p",
            node: "node-x",
            identity: &id,
            field_manager: "kubectl-run",
        };
        let mut v = defaulted(pod, &at);
        assert_eq!(v["spec"]["nodeName"], "node-x");
        assert_eq!(v["spec"]["containers"][0]["imagePullPolicy"], "Always");
        // The pod's own toleration covers the default ones.
        assert_eq!(v["spec"]["tolerations"].as_array().unwrap().len(), 1);
        assert_eq!(v["status"]["phase"], "Pending");
        assert_eq!(v["metadata"]["managedFields"][0]["manager"], "kubectl-run");
        creating(&mut v, "198.51.100.2");
        assert_eq!(
            v["status"]["containerStatuses"][0]["state"]["waiting"]["reason"],
            "ContainerCreating"
        );
        running(&mut v, "10.244.0.129", &id);
        assert_eq!(v["status"]["phase"], "Running");
        assert_eq!(v["status"]["conditions"][2]["status"], "True");
        terminated(&mut v, "c", 3);
        assert_eq!(v["status"]["phase"], "Failed");
        assert_eq!(
            v["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"],
            3
        );
        assert_eq!(pull_policy("alpine:3.20"), "IfNotPresent");
    }

    #[test]
    fn commands_map_to_the_sandbox() {
        let pod = json!({"spec": {"containers": [
            {"name": "nsenter", "command": ["nsenter", "--target", "1", "--mount", "--uts", "--ipc", "--net", "--pid", "--", "bash", "-l"]},
            {"name": "plain", "command": ["nsenter", "--target", "1", "--net"]},
            {"name": "job", "command": ["sh", "-c"], "args": ["exit 2"]},
            {"name": "bare"},
        ]}});
        assert_eq!(main_command(&pod, "nsenter"), ["bash", "-l"]);
        assert_eq!(main_command(&pod, "plain"), ["bash", "-l"]);
        assert_eq!(main_command(&pod, "job"), ["sh", "-c", "exit 2"]);
        assert_eq!(main_command(&pod, "bare"), ["sh"]);
    }
}
