//! The pods tplab creates, and the labels that find them again: a lab pod (the `pod`
//! role when no `--pod` is given) and the node pod (the `node` role), made as `kubectl
//! node-shell` makes it. Every pod carries the session, this host and this process, so
//! a later run can tell the pods of a dead session (SIGKILL) from those of a live one.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Pod;
use serde_json::json;

/// `app.kubernetes.io/managed-by`: what `kubectl get pods -l` finds every tplab pod by.
pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
pub const SESSION: &str = "tplab.dev/session";
pub const COMPONENT: &str = "tplab.dev/component";
pub const HOST: &str = "tplab.dev/host";
/// Set on the pods a quitting student keeps to resume (never swept).
pub const KEPT: &str = "tplab.dev/kept";
/// Annotations: the process that owns the pod, and its start time (pids are reused).
pub const PID: &str = "tplab.dev/pid";
pub const STARTED: &str = "tplab.dev/process-start";

pub const LAB_POD: &str = "lab-pod";
pub const NODE_POD: &str = "node-shell";
/// The node pod's container (node-shell's name).
pub const NODE_CONTAINER: &str = "nsenter";
/// The lab pod's container.
pub const LAB_CONTAINER: &str = "lab";

/// Into PID 1's namespaces: the node's, from a hostPID pod (node-shell's command).
pub const NSENTER: &[&str] = &[
    "nsenter", "--target", "1", "--mount", "--uts", "--ipc", "--net", "--pid", "--",
];

/// Who owns a pod: this host and process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub host: String,
    pub pid: u32,
    pub started: String,
}

impl Owner {
    /// This process.
    pub fn me() -> Self {
        let pid = std::process::id();
        Self {
            host: label_value(&hostname()),
            pid,
            started: start_time(pid).unwrap_or_default(),
        }
    }

    /// Whether the owning process still runs (on this host: other hosts' are theirs).
    pub fn alive(&self) -> bool {
        self.host != label_value(&hostname())
            || start_time(self.pid).is_some_and(|t| t == self.started)
    }
}

fn hostname() -> String {
    nix::unistd::gethostname()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_else(|| "unknown".into())
}

/// A process's start time in clock ticks since boot (`/proc/PID/stat` field 22).
fn start_time(pid: u32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: count after its end.
    let rest = &stat[stat.rfind(')')? + 2..];
    rest.split(' ').nth(19).map(str::to_string)
}

/// A label value: at most 63 of `[A-Za-z0-9._-]`, alphanumeric at both ends.
pub fn label_value(text: &str) -> String {
    let mut v: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .take(63)
        .collect();
    while v.ends_with(|c: char| !c.is_ascii_alphanumeric()) {
        v.pop();
    }
    while v.starts_with(|c: char| !c.is_ascii_alphanumeric()) {
        v.remove(0);
    }
    v
}

/// The labels of a pod of `session` playing `component`.
pub fn labels(session: &str, component: &str, owner: &Owner) -> BTreeMap<String, String> {
    [
        (MANAGED_BY, "tplab".to_string()),
        (SESSION, session.to_string()),
        (COMPONENT, component.to_string()),
        (HOST, owner.host.clone()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

fn meta(name: &str, session: &str, component: &str, owner: &Owner) -> serde_json::Value {
    json!({
        "name": name,
        "labels": labels(session, component, owner),
        "annotations": { PID: owner.pid.to_string(), STARTED: owner.started },
    })
}

/// The lab pod: a long sleep in `image`, where the lab's `pod` commands run.
pub fn lab_pod(name: &str, session: &str, image: &str, owner: &Owner) -> Pod {
    let v = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": meta(name, session, LAB_POD, owner),
        "spec": {
            "restartPolicy": "Never",
            "terminationGracePeriodSeconds": 0,
            "containers": [{
                "name": LAB_CONTAINER,
                "image": image,
                "command": ["sleep", "86400"],
            }],
        },
    });
    serde_json::from_value(v).expect("a valid Pod")
}

/// The node pod on `node`, as node-shell makes it: host PID, network and IPC, privileged,
/// tolerating every taint; its commands enter PID 1's namespaces with [`NSENTER`].
pub fn node_pod(name: &str, session: &str, node: &str, image: &str, owner: &Owner) -> Pod {
    let mut command: Vec<&str> = NSENTER.to_vec();
    command.extend(["sleep", "86400"]);
    let v = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": meta(name, session, NODE_POD, owner),
        "spec": {
            "nodeName": node,
            "hostPID": true,
            "hostNetwork": true,
            "hostIPC": true,
            "restartPolicy": "Never",
            "terminationGracePeriodSeconds": 0,
            "tolerations": [{ "operator": "Exists" }],
            "containers": [{
                "name": NODE_CONTAINER,
                "image": image,
                "command": command,
                "securityContext": { "privileged": true },
            }],
        },
    });
    serde_json::from_value(v).expect("a valid Pod")
}

/// The owner recorded on `pod`, if it has one.
pub fn owner_of(pod: &Pod) -> Option<Owner> {
    let labels = pod.metadata.labels.as_ref()?;
    let ann = pod.metadata.annotations.as_ref()?;
    Some(Owner {
        host: labels.get(HOST)?.clone(),
        pid: ann.get(PID)?.parse().ok()?,
        started: ann.get(STARTED)?.clone(),
    })
}

/// Whether a sweep removes `pod`: a tplab pod whose process is gone, not kept, and not
/// already going (an ended session's pods may still be terminating).
pub fn stale(pod: &Pod) -> bool {
    if pod.metadata.deletion_timestamp.is_some() {
        return false;
    }
    let labels = pod.metadata.labels.clone().unwrap_or_default();
    if labels.get(MANAGED_BY).map(String::as_str) != Some("tplab") {
        return false;
    }
    if labels.get(KEPT).map(String::as_str) == Some("true") {
        return false;
    }
    owner_of(pod).is_some_and(|o| !o.alive())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_node_pod_is_node_shells() {
        let me = Owner::me();
        let pod = node_pod("tplab-node-ab12", "ab12", "node-1", "alpine:3.20", &me);
        let spec = pod.spec.as_ref().unwrap();
        assert_eq!(spec.node_name.as_deref(), Some("node-1"));
        assert_eq!(spec.host_pid, Some(true));
        assert_eq!(spec.host_network, Some(true));
        assert_eq!(spec.host_ipc, Some(true));
        let tol = &spec.tolerations.as_ref().unwrap()[0];
        assert_eq!(tol.operator.as_deref(), Some("Exists"));
        assert!(tol.key.is_none() && tol.effect.is_none(), "every taint");
        let c = &spec.containers[0];
        assert_eq!(c.security_context.as_ref().unwrap().privileged, Some(true));
        assert_eq!(c.command.as_ref().unwrap()[..9], NSENTER[..]);
        let labels = pod.metadata.labels.as_ref().unwrap();
        assert_eq!(labels[MANAGED_BY], "tplab");
        assert_eq!(labels[SESSION], "ab12");
        assert_eq!(owner_of(&pod), Some(me));
        assert!(!stale(&pod), "this process is alive");
    }

    #[test]
    fn dead_owners_are_stale_unless_kept() {
        let dead = Owner {
            pid: u32::MAX - 1,
            ..Owner::me()
        };
        let mut pod = lab_pod("tplab-pod-ab12", "ab12", "busybox", &dead);
        assert!(stale(&pod));
        pod.metadata
            .labels
            .as_mut()
            .unwrap()
            .insert(KEPT.into(), "true".into());
        assert!(!stale(&pod));
        let mut going = lab_pod("tplab-pod-ab12", "ab12", "busybox", &dead);
        going.metadata.deletion_timestamp =
            Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
                k8s_openapi::jiff::Timestamp::UNIX_EPOCH,
            ));
        assert!(!stale(&going), "already terminating");
        let elsewhere = Owner {
            host: "another-host".into(),
            ..dead
        };
        assert!(!stale(&lab_pod("p", "s", "busybox", &elsewhere)));
    }

    #[test]
    fn label_values_are_valid() {
        assert_eq!(label_value("my host.local"), "my-host.local");
        assert_eq!(label_value("-x-"), "x");
        assert_eq!(label_value(&"a".repeat(80)).len(), 63);
    }
}
