//! Cilium on every node (root): a 3-node sandbox gets tplab's datapath on every pod's lxc,
//! each node's CT maps pinned under its own bpf root, and an agent role per node (`agent`,
//! `agent2`, `agent3`) whose `cilium` answers for that node's endpoints. Cross-node pod→pod
//! traffic shows in both nodes' CT maps (cross-checked with `bpftool -j map dump pinned`),
//! `bpf_map` checks name the node by their target, and the API lists one Cilium pod per
//! node and the Services' declared selectors.

use serde_json::Value;
use tplab_testkit::Suite;

use crate::harness::{Failed, ensure, fail, fixture, tplab};
use crate::topology::{Up, json_of, output};

const LAB: &str = "topology/three-nodes.md";

pub fn register(suite: Suite) -> Suite {
    suite.root_test(
        "nodes::three_nodes_each_run_their_own_cilium_datapath",
        three_nodes,
    )
}

/// `cilium_ct4_global` of node `n`, pinned under that node's bpf root.
fn ct_pin(id: &str, n: usize) -> String {
    let node = if n == 1 {
        String::new()
    } else {
        format!("node{n}/")
    };
    format!("/run/tplab/bpf/{id}/{node}tc/globals/cilium_ct4_global")
}

/// The keys of a pinned map as bytes (`bpftool -j map dump pinned`).
fn keys(pin: &str) -> Result<Vec<Vec<u8>>, Failed> {
    let dump = json_of("bpftool", &["-j", "map", "dump", "pinned", pin])?;
    let entries = dump.as_array().cloned().unwrap_or_default();
    Ok(entries
        .iter()
        .filter_map(|e| e["key"].as_array())
        .map(|key| {
            key.iter()
                .filter_map(Value::as_str)
                .filter_map(|b| u8::from_str_radix(b.trim_start_matches("0x"), 16).ok())
                .collect()
        })
        .collect())
}

fn octets(ip: &str) -> Result<[u8; 4], Failed> {
    ip.parse::<std::net::Ipv4Addr>()
        .map(|a| a.octets())
        .map_err(|e| fail(format!("{ip}: {e}")))
}

/// Whether a CT key (daddr, saddr, …) holds both addresses.
fn holds(key: &[u8], a: [u8; 4], b: [u8; 4]) -> bool {
    key.len() >= 8 && ((key[..4] == a && key[4..8] == b) || (key[..4] == b && key[4..8] == a))
}

fn map_id(pin: &str) -> Result<u64, Failed> {
    json_of("bpftool", &["-j", "map", "show", "pinned", pin])?["id"]
        .as_u64()
        .ok_or_else(|| fail(format!("no map id for {pin}")))
}

fn three_nodes() -> Result<(), Failed> {
    let _l = crate::sandbox::SANDBOX_LOCK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let sb = Up::with_lab(LAB)?;
    let (pod_ip, web_ip, api_ip) = (
        sb.fact("pod_ip")?,
        sb.fact("pod.web.ip")?,
        sb.fact("pod.api.ip")?,
    );
    // Three nodes, three CT maps: one per node, not shared.
    let ids = [1, 2, 3]
        .map(|n| map_id(&ct_pin(&sb.id, n)))
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?;
    ensure(
        ids[0] != ids[1] && ids[1] != ids[2] && ids[0] != ids[2],
        format!("map ids {ids:?}"),
    )?;
    // bpf_lxc on web's lxc, in node 2 (legacy tc filters, named as Cilium names them).
    let lxc = sb.fact("pod.web.lxc_name")?;
    let filters = output(
        "tc",
        &[
            "-n",
            &sb.ns("node2"),
            "filter",
            "show",
            "dev",
            &lxc,
            "ingress",
        ],
    )?;
    ensure(
        filters.contains(&format!("cil_from_container-{lxc}")),
        format!("tc filters on {lxc} in node2:\n{filters}"),
    )?;
    // Cross-node pod → pod, then seen in both nodes' maps, not in node 3's.
    let out = sb.exec("pod", &format!("curl -s -m 5 http://{web_ip}:8080/"));
    out.success()?;
    out.stdout_has(&format!("hello from pod web ({web_ip})"))?;
    let (p, w) = (octets(&pod_ip)?, octets(&web_ip)?);
    for (n, expected) in [(1, true), (2, true), (3, false)] {
        let keys = keys(&ct_pin(&sb.id, n))?;
        let seen = keys.iter().any(|k| holds(k, p, w));
        ensure(
            seen == expected,
            format!(
                "node {n}'s CT map holds {pod_ip} ↔ {web_ip}: {seen} ({} keys)",
                keys.len()
            ),
        )?;
    }
    // Each agent's `cilium` answers for its own node.
    let ct2 = sb.exec("agent2", "cilium bpf ct list global");
    ct2.success()?.stdout_has(&format!("{web_ip}:8080"))?;
    let eps = sb.exec("agent2", "cilium-dbg endpoint list");
    eps.success()?.stdout_has(&web_ip)?;
    ensure(
        !eps.stdout.contains(&pod_ip),
        format!("agent2 lists node 1's pod:\n{}", eps.stdout),
    )?;
    sb.exec("agent3", "cilium endpoint list")
        .success()?
        .stdout_has(&api_ip)?;
    let ct3 = sb.exec("agent3", "cilium bpf ct list global");
    ensure(
        !ct3.stdout.contains(&web_ip),
        format!(
            "agent3's CT list shows the node 1 → node 2 flow:\n{}",
            ct3.stdout
        ),
    )?;
    // The lab's checks name the node by their target (agent, agent2).
    let lab = fixture(LAB).to_string_lossy().into_owned();
    tplab(["check", &lab, "--sandbox", &sb.id, "--step", "across"])
        .run()
        .success()?;
    kubectl_view(&sb)
}

/// One Cilium pod per node; the Services' selectors as declared (or the default `app`),
/// carried by their backends.
fn kubectl_view(sb: &Up) -> Result<(), Failed> {
    let kubeconfig = format!("/run/tplab/sandboxes/{}/kubeconfig", sb.id);
    let kubectl = crate::kubeapi::kubectl_bin("1.33");
    let get = |what: &str| -> Result<Value, Failed> {
        json_of(
            &kubectl,
            &["--kubeconfig", &kubeconfig, "get", what, "-A", "-o", "json"],
        )
    };
    let pods = get("pods")?;
    let items = pods["items"].as_array().cloned().unwrap_or_default();
    let mut agents: Vec<&str> = items
        .iter()
        .filter(|p| p["metadata"]["namespace"] == "kube-system")
        .filter_map(|p| p["spec"]["nodeName"].as_str())
        .collect();
    agents.sort_unstable();
    agents.dedup();
    ensure(
        agents.len() == 3,
        format!("Cilium agents on nodes {agents:?}"),
    )?;
    let web = items
        .iter()
        .find(|p| p["metadata"]["name"] == "web")
        .ok_or_else(|| fail("no pod web"))?;
    ensure(
        web["metadata"]["labels"]["tier"] == "front",
        format!("web's labels: {}", web["metadata"]["labels"]),
    )?;
    // `kubectl exec` into node 2's Cilium pod reaches node 2's agent.
    let agent2 = items
        .iter()
        .find(|p| {
            p["metadata"]["namespace"] == "kube-system"
                && p["spec"]["nodeName"] == web["spec"]["nodeName"]
        })
        .and_then(|p| p["metadata"]["name"].as_str())
        .ok_or_else(|| fail("no Cilium pod on web's node"))?;
    let eps = output(
        &kubectl,
        &[
            "--kubeconfig",
            &kubeconfig,
            "exec",
            "-n",
            "kube-system",
            agent2,
            "--",
            "cilium",
            "endpoint",
            "list",
        ],
    )?;
    let web_ip = sb.fact("pod.web.ip")?;
    ensure(
        eps.contains(&web_ip),
        format!("cilium endpoint list in {agent2}:\n{eps}"),
    )?;
    let svcs = get("services")?;
    let selector = |name: &str| {
        svcs["items"]
            .as_array()
            .and_then(|ss| ss.iter().find(|s| s["metadata"]["name"] == name))
            .map_or(Value::Null, |s| s["spec"]["selector"].clone())
    };
    ensure(
        selector("web") == serde_json::json!({"tier": "front"}),
        format!("web's selector {}", selector("web")),
    )?;
    ensure(
        selector("api") == serde_json::json!({"app": "api"}),
        format!("api's selector {}", selector("api")),
    )
}
