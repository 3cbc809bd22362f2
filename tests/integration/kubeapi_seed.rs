//! One test per kubectl command of the seed TP (`TP-ebpf-network-deep-dive.md`), run
//! with every kubectl version of [`VERSIONS`] against a sandbox (root), each asserting
//! the seed's output shape: `kubectl exec -ti cilium-xxxxx -nkube-system -- bash` (a
//! real PTY: a command typed, its output seen, `exit`), `kubectl describe
//! pod/cilium-xxxxx -n kube-system` (the seed's field names, sections and order), `kubectl
//! get cm/cilium-config -o yaml -nkube-system` (the seed's keys, values those of the
//! agent's `cilium config view`). The node-shell command has its own test.

use std::time::Duration;

use tplab_testkit::Suite;

use crate::harness::{Failed, Tmux, fail, fixture, tplab};
use crate::kubeapi::{Up, VERSIONS, kubectl_bin, probe_thresholds};

pub fn register(suite: Suite) -> Suite {
    suite
        .root_test("kubeapi_seed::exec_ti_bash_in_the_cilium_pod", exec_ti_bash)
        .root_test("kubeapi_seed::describe_the_cilium_pod", describe_cilium_pod)
        .root_test("kubeapi_seed::get_cm_cilium_config_yaml", get_cilium_config)
}

fn cilium_pod(up: &Up) -> Result<String, Failed> {
    let out = up.ok(
        "1.33",
        &[
            "get",
            "pods",
            "-n",
            "kube-system",
            "-l",
            "k8s-app=cilium",
            "-o",
            "name",
        ],
    )?;
    let name = out.trim().trim_start_matches("pod/").to_string();
    if !name.starts_with("cilium-") || name.len() != 12 {
        return Err(fail(format!("no cilium-xxxxx pod: {out:?}")));
    }
    Ok(name)
}

/// `kubectl exec -ti cilium-r7ffp -nkube-system -- bash`, then a command of the TP.
fn exec_ti_bash() -> Result<(), Failed> {
    let up = Up::new()?;
    let pod = cilium_pod(&up)?;
    for v in VERSIONS {
        // The exit code of kubectl is printed after it ends, so the test reads it.
        let line = format!(
            "env KUBECONFIG={} KUBECACHEDIR={} HOME={} {} exec -ti {pod} -nkube-system -- bash; echo KUBECTL-EXIT=$?; sleep 30",
            up.kubeconfig.display(),
            up.cache.path().display(),
            up.cache.path().display(),
            kubectl_bin(v)
        );
        let tmux = Tmux::start(&line)?;
        tmux.type_line("cilium config view | head -3; echo VIEW-$((40+2))")?;
        let screen = tmux.wait_for("VIEW-42", Duration::from_secs(20))?;
        // The first keys of the agent's config, in its two-column format.
        if !screen.contains("agent-not-ready-taint-key              node.cilium.io/agent-not-ready")
        {
            return Err(fail(format!(
                "kubectl {v} exec -ti bash: `cilium config view | head` not shown:\n{screen}"
            )));
        }
        tmux.type_line("tty; cilium-dbg config view | grep -c . ; echo TTY-$((6*7))")?;
        let screen = tmux.wait_for("TTY-42", Duration::from_secs(20))?;
        if !screen.contains("/dev/pts/") {
            return Err(fail(format!(
                "kubectl {v}: no terminal in the pod:\n{screen}"
            )));
        }
        tmux.type_line("exit")?;
        let screen = tmux.wait_for("KUBECTL-EXIT=", Duration::from_secs(15))?;
        if !screen.contains("KUBECTL-EXIT=0") {
            return Err(fail(format!(
                "kubectl {v} exec -ti: exit status:\n{screen}"
            )));
        }
    }
    Ok(())
}

/// The headings of the seed's `kubectl describe pod/cilium-zpvw5 -n kube-system`, in
/// the order kubectl prints them (the seed shows a part; a real cilium pod has all).
const POD_FIELDS: [&str; 21] = [
    "Name:",
    "Namespace:",
    "Priority:",
    "Priority Class Name:",
    "Service Account:",
    "Node:",
    "Start Time:",
    "Labels:",
    "Annotations:",
    "Status:",
    "IP:",
    "IPs:",
    "Controlled By:",
    "Init Containers:",
    "Containers:",
    "Conditions:",
    "Volumes:",
    "QoS Class:",
    "Node-Selectors:",
    "Tolerations:",
    "Events:",
];

/// The cilium-agent container's fields, in order (the seed's listing: Command … Environment).
const CONTAINER_FIELDS: [&str; 16] = [
    "Container ID:",
    "Image:",
    "Image ID:",
    "Port:",
    "Host Port:",
    "Command:",
    "Args:",
    "State:",
    "Ready:",
    "Restart Count:",
    "Requests:",
    "Liveness:",
    "Readiness:",
    "Startup:",
    "Environment:",
    "Mounts:",
];

/// Checks that each of `fields` starts a line of `text` (after `indent` spaces), in order.
fn in_order(text: &str, fields: &[&str], indent: usize, what: &str) -> Result<(), Failed> {
    let mut lines = text.lines();
    for f in fields {
        let found = lines.any(|l| {
            l.len() > indent && l[..indent].trim().is_empty() && l[indent..].starts_with(f)
        });
        if !found {
            return Err(fail(format!(
                "{what}: no {f:?} (in the seed's order):\n{text}"
            )));
        }
    }
    Ok(())
}

fn describe_cilium_pod() -> Result<(), Failed> {
    let up = Up::new()?;
    let pod = cilium_pod(&up)?;
    let node: serde_json::Value =
        serde_json::from_str(&up.ok("1.33", &["get", "nodes", "-o", "json"])?).map_err(fail)?;
    let node_name = node["items"][0]["metadata"]["name"]
        .as_str()
        .unwrap_or("?")
        .to_string();
    let node_ip = node["items"][0]["status"]["addresses"][0]["address"]
        .as_str()
        .unwrap_or("?")
        .to_string();
    let port = up.port()?;
    for v in VERSIONS {
        let text = up.ok(v, &["describe", &format!("pod/{pod}"), "-n", "kube-system"])?;
        let what = format!("kubectl {v} describe pod/{pod}");
        in_order(&text, &POD_FIELDS, 0, &what)?;
        let agent = text
            .split_once("\nContainers:\n  cilium-agent:\n")
            .map(|(_, rest)| rest)
            .ok_or_else(|| fail(format!("{what}: no cilium-agent container:\n{text}")))?;
        let agent = agent.split("\nConditions:").next().unwrap_or(agent);
        in_order(agent, &CONTAINER_FIELDS, 4, &what)?;
        let liveness = format!(
            "    Liveness:   http-get http://127.0.0.1:9879/healthz delay=120s timeout=5s period=30s {}",
            probe_thresholds(v, 1, 10)
        );
        let readiness = format!(
            "    Readiness:  http-get http://127.0.0.1:9879/healthz delay=0s timeout=5s period=30s {}",
            probe_thresholds(v, 1, 3)
        );
        let startup = format!(
            "    Startup:    http-get http://127.0.0.1:9879/healthz delay=0s timeout=1s period=2s {}",
            probe_thresholds(v, 1, 105)
        );
        let api_server = format!("      --k8s-api-server=https://127.0.0.1:{port}");
        let service_port = format!("      KUBERNETES_SERVICE_PORT:    {port}");
        let node_line = format!("Node:                 {node_name}/{node_ip}");
        // The seed's lines, with this sandbox's values where the cluster's differ.
        for want in [
            "      cilium-agent",
            "      --config-dir=/tmp/cilium/config-map",
            api_server.as_str(),
            "      --ipv4-native-routing-cidr=10.244.0.0/16",
            "    State:          Running",
            "    Ready:          True",
            "    Restart Count:  0",
            "      cpu:      300m",
            "      memory:   300Mi",
            liveness.as_str(),
            readiness.as_str(),
            startup.as_str(),
            "      K8S_NODE_NAME:               (v1:spec.nodeName)",
            "      CILIUM_K8S_NAMESPACE:       kube-system (v1:metadata.namespace)",
            "      CILIUM_CLUSTERMESH_CONFIG:  /var/lib/cilium/clustermesh/",
            "      KUBERNETES_SERVICE_HOST:    127.0.0.1",
            service_port.as_str(),
            "      /sys/fs/bpf from bpf-maps (rw)",
        ] {
            if !agent.lines().any(|l| l == want) {
                return Err(fail(format!("{what}: no line {want:?}:\n{agent}")));
            }
        }
        for want in [
            node_line.as_str(),
            "Priority Class Name:  system-node-critical",
            "Controlled By:  DaemonSet/cilium",
            "QoS Class:                   Burstable",
            "Node-Selectors:              kubernetes.io/os=linux",
        ] {
            if !text.lines().any(|l| l == want) {
                return Err(fail(format!("{what}: no line {want:?}:\n{text}")));
            }
        }
        // Init containers ran to completion; the volumes include the bpffs.
        let init = text
            .split_once("Init Containers:\n")
            .and_then(|(_, r)| r.split_once("\nContainers:"))
            .map_or("", |(i, _)| i);
        if init.matches("      Reason:       Completed").count() < 5
            || !init.contains("  mount-bpf-fs:")
            || !text.contains("  bpf-maps:\n    Type:          HostPath (bare host directory volume)\n    Path:          /sys/fs/bpf")
        {
            return Err(fail(format!("{what}: init containers or volumes:\n{text}")));
        }
    }
    Ok(())
}

/// The seed's `data` keys, from its listing (`tests/fixtures/seed/cilium-config.yaml`).
fn seed_keys() -> Result<Vec<String>, Failed> {
    let text = std::fs::read_to_string(fixture("seed/cilium-config.yaml")).map_err(fail)?;
    let seed: serde_yaml::Value = serde_yaml::from_str(&text).map_err(fail)?;
    let keys: Vec<String> = seed["data"]
        .as_mapping()
        .map(|m| {
            m.keys()
                .filter_map(|k| k.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    if keys.len() < 100 {
        return Err(fail(format!("the seed's listing has {} keys", keys.len())));
    }
    Ok(keys)
}

fn get_cilium_config() -> Result<(), Failed> {
    let up = Up::new()?;
    let keys = seed_keys()?;
    let view = tplab([
        "sandbox",
        "exec",
        "agent",
        "--sandbox",
        &up.id,
        "--",
        "cilium",
        "config",
        "view",
    ])
    .run();
    view.success()?;
    let agent: std::collections::BTreeMap<String, String> = view
        .stdout
        .lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(' ').unwrap_or((l, ""));
            (!k.is_empty()).then(|| (k.to_string(), v.trim().to_string()))
        })
        .collect();
    for v in VERSIONS {
        let text = up.ok(
            v,
            &["get", "cm/cilium-config", "-o", "yaml", "-nkube-system"],
        )?;
        let cm: serde_yaml::Value = serde_yaml::from_str(&text).map_err(fail)?;
        let what = format!("kubectl {v} get cm/cilium-config -o yaml");
        // The seed's shape: apiVersion, data, kind, metadata (sorted keys), with its metadata.
        let top: Vec<&str> = text
            .lines()
            .filter(|l| !l.starts_with(' ') && !l.is_empty())
            .collect();
        if top != ["apiVersion: v1", "data:", "kind: ConfigMap", "metadata:"] {
            return Err(fail(format!("{what}: top-level keys {top:?}")));
        }
        for (path, want) in [("name", "cilium-config"), ("namespace", "kube-system")] {
            if cm["metadata"][path].as_str() != Some(want) {
                return Err(fail(format!("{what}: metadata.{path}:\n{text}")));
            }
        }
        for field in ["creationTimestamp", "resourceVersion", "uid", "labels"] {
            if cm["metadata"][field].is_null() {
                return Err(fail(format!("{what}: no metadata.{field}:\n{text}")));
            }
        }
        let data = cm["data"]
            .as_mapping()
            .ok_or_else(|| fail(format!("{what}: no data:\n{text}")))?;
        let missing: Vec<&String> = keys
            .iter()
            .filter(|k| !data.contains_key(k.as_str()))
            .collect();
        if !missing.is_empty() {
            return Err(fail(format!(
                "{what}: the seed's keys {missing:?} are missing"
            )));
        }
        // One source of truth: every value is the agent's `cilium config view`.
        for (k, val) in data {
            let k = k.as_str().unwrap_or_default();
            let val = val.as_str().unwrap_or("<not a string>");
            if agent.get(k).map(String::as_str) != Some(val) {
                return Err(fail(format!(
                    "{what}: {k}={val:?} but `cilium config view` says {:?}",
                    agent.get(k)
                )));
            }
        }
        if data.len() != agent.len() {
            return Err(fail(format!(
                "{what}: {} keys vs {} in `cilium config view`",
                data.len(),
                agent.len()
            )));
        }
        // The seed's own commands on these values still read the same.
        for (k, want) in [("enable-bpf-masquerade", "false"), ("masquerade", "true")] {
            if data.get(k).and_then(serde_yaml::Value::as_str) != Some(want) {
                return Err(fail(format!("{what}: {k} is not {want}")));
            }
        }
    }
    Ok(())
}
