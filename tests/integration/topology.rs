//! Lab-declared sandbox topologies (root): `tplab sandbox up --lab` builds two nodes on a
//! private `eth1` network with a `ClusterIP` and a `NodePort` Service. Checked with iproute2
//! (`ip -j route`, `ip -j link`), `iptables-save` in the node, a real HTTP request from the
//! pod to the `ClusterIP` answered by the backend on node 2 (it names the client address it
//! saw: no SNAT), conntrack holding the DNAT, tplab's own probes and checks, kubectl's
//! view of nodes, pods and Services, and `down` leaving no netns.

use std::process::Command;

use serde_json::Value;
use tplab_testkit::Suite;

use crate::harness::{Failed, ensure, fail, fixture, tplab};

const LAB: &str = "topology/two-nodes.md";

pub fn register(suite: Suite) -> Suite {
    suite
        .root_test(
            "topology::two_nodes_route_over_eth1_and_dnat_to_the_backend",
            two_nodes,
        )
        .root_test(
            "topology::labs_with_a_topology_lint_and_test",
            lint_and_test,
        )
}

/// A sandbox of a fixture lab, removed on drop.
pub(crate) struct Up {
    pub(crate) id: String,
    pub(crate) facts: Value,
}

impl Up {
    fn new() -> Result<Up, Failed> {
        Up::with_lab(LAB)
    }

    /// `tplab sandbox up --lab` of fixture `rel`.
    pub(crate) fn with_lab(rel: &str) -> Result<Up, Failed> {
        let lab = fixture(rel).to_string_lossy().into_owned();
        let out = tplab(["sandbox", "up", "--json", "--lab", &lab]).run();
        out.success()?;
        let json = out.json()?;
        let id = json["id"]
            .as_str()
            .ok_or_else(|| fail("no id"))?
            .to_string();
        Ok(Up {
            id,
            facts: json["facts"].clone(),
        })
    }

    pub(crate) fn ns(&self, suffix: &str) -> String {
        format!("tplab-{}-{suffix}", self.id)
    }

    pub(crate) fn fact(&self, key: &str) -> Result<String, Failed> {
        self.facts[key]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| fail(format!("no fact {key} in {}", self.facts)))
    }

    pub(crate) fn exec(&self, role: &str, script: &str) -> crate::harness::Output {
        tplab([
            "sandbox",
            "exec",
            role,
            "--sandbox",
            &self.id,
            "--",
            "sh",
            "-c",
            script,
        ])
        .run()
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        let _ = tplab(["sandbox", "down", &self.id]).run();
    }
}

pub(crate) fn output(program: &str, args: &[&str]) -> Result<String, Failed> {
    let out = Command::new(program)
        .args(args)
        .output()
        .map_err(|e| fail(format!("{program}: {e}")))?;
    ensure(
        out.status.success(),
        format!(
            "{program} {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        ),
    )?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

pub(crate) fn json_of(program: &str, args: &[&str]) -> Result<Value, Failed> {
    serde_json::from_str(&output(program, args)?).map_err(|e| fail(format!("{program}: {e}")))
}

/// The route to `dst` in netns `ns`, per `ip -j route`.
fn route(ns: &str, dst: &str) -> Result<Value, Failed> {
    let routes = json_of("ip", &["-j", "-n", ns, "route"])?;
    routes
        .as_array()
        .and_then(|rs| rs.iter().find(|r| r["dst"] == dst).cloned())
        .ok_or_else(|| fail(format!("no route to {dst} in {ns}: {routes}")))
}

fn two_nodes() -> Result<(), Failed> {
    let _l = crate::sandbox::SANDBOX_LOCK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let sb = Up::new()?;
    let (node1, node2) = (sb.ns("node"), sb.ns("node2"));
    // Native routing between nodes, as auto-direct-node-routes installs it.
    let r = route(&node1, "10.244.0.0/25")?;
    ensure(
        r["gateway"] == "10.135.0.12" && r["dev"] == "eth1",
        format!("node 1's route to node 2's pods: {r}"),
    )?;
    let r = route(&node2, "10.244.0.128/25")?;
    ensure(
        r["gateway"] == "10.135.0.11" && r["dev"] == "eth1",
        format!("node 2's route to node 1's pods: {r}"),
    )?;
    // The seed's shape stays: default via the world on eth0.
    let r = route(&node1, "default")?;
    ensure(r["dev"] == "eth0", format!("default route: {r}"))?;
    // Both nodes' eth1 peers are ports of the private network's bridge.
    let links = json_of("ip", &["-j", "-n", &sb.ns("lan"), "link"])?;
    for port in ["node", "node2"] {
        let l = links
            .as_array()
            .and_then(|ls| ls.iter().find(|l| l["ifname"] == port))
            .ok_or_else(|| fail(format!("no port {port} in the lan netns: {links}")))?;
        ensure(l["master"] == "br0", format!("{port} is not in br0: {l}"))?;
    }
    // kube-proxy's chains in node 1: KUBE-SERVICES → KUBE-SVC → KUBE-SEP → DNAT to web.
    let cluster_ip = sb.fact("service.web.cluster_ip")?;
    let web_ip = sb.fact("pod.web.ip")?;
    ensure(
        web_ip.starts_with("10.244.0."),
        format!("web on node 2's /25: {web_ip}"),
    )?;
    let nat = output(
        "ip",
        &["netns", "exec", &node1, "iptables-save", "-t", "nat"],
    )?;
    let svc_chain = nat
        .lines()
        .find(|l| l.starts_with(&format!("-A KUBE-SERVICES -d {cluster_ip}/32")))
        .and_then(|l| l.rsplit(' ').next())
        .ok_or_else(|| fail(format!("no KUBE-SERVICES rule for {cluster_ip}:\n{nat}")))?;
    ensure(
        svc_chain.starts_with("KUBE-SVC-"),
        format!("jump target {svc_chain}"),
    )?;
    let sep = nat
        .lines()
        .filter(|l| l.starts_with(&format!("-A {svc_chain} ")))
        .find_map(|l| l.rsplit(' ').next().filter(|t| t.starts_with("KUBE-SEP-")))
        .ok_or_else(|| fail(format!("{svc_chain} jumps to no KUBE-SEP:\n{nat}")))?;
    ensure(
        nat.lines().any(|l| {
            l.starts_with(&format!("-A {sep} "))
                && l.ends_with(&format!("-j DNAT --to-destination {web_ip}:8080"))
        }),
        format!("{sep} does not DNAT to {web_ip}:8080:\n{nat}"),
    )?;
    ensure(
        nat.contains("-A KUBE-NODEPORTS -p tcp -m comment --comment \"default/web-np\" -m tcp --dport 30080 -j KUBE-EXT-"),
        format!("no NodePort rule:\n{nat}"),
    )?;
    // A real request from the pod to the ClusterIP, answered on node 2 by the backend,
    // which saw the pod's own address (DNAT only, no SNAT between pods).
    let out = sb.exec("pod", &format!("curl -s -m 5 http://{cluster_ip}/"));
    out.success()?;
    out.stdout_has(&format!("hello from pod web ({web_ip})"))?;
    out.stdout_has(&format!("you came from {}", sb.fact("pod_ip")?))?;
    // Conntrack on node 1 holds the DNAT: the reply comes from the backend.
    let ct = output(
        "ip",
        &[
            "netns",
            "exec",
            &node1,
            "conntrack",
            "-L",
            "-p",
            "tcp",
            "--orig-dst",
            &cluster_ip,
        ],
    )?;
    ensure(
        ct.contains(&format!("src={web_ip} dst={}", sb.fact("pod_ip")?)),
        format!("no DNAT entry in node 1's conntrack:\n{ct}"),
    )?;
    // The same through tplab's probes and checks.
    let probe = tplab(["probe", "node2", "routes", "--json", "--sandbox", &sb.id]).run();
    probe.success()?.stdout_has("10.244.0.128/25")?;
    let lab = fixture(LAB);
    let lab = lab.to_string_lossy();
    tplab(["check", &lab, "--sandbox", &sb.id, "--step", "routes"])
        .run()
        .success()?;
    tplab(["check", &lab, "--sandbox", &sb.id, "--step", "service"])
        .run()
        .success()?;
    // The NodePort from the world: masqueraded towards node 2, de-NATed back.
    let out = output(
        "ip",
        &[
            "netns",
            "exec",
            &sb.ns("world"),
            "curl",
            "-s",
            "-m",
            "5",
            "http://198.51.100.2:30080/",
        ],
    )?;
    ensure(
        out.contains("you came from 10.135.0.11"),
        format!("NodePort answer: {out}"),
    )?;
    kubectl_view(&sb, &cluster_ip, &web_ip)?;
    let id = sb.id.clone();
    drop(sb);
    let left = output("ip", &["netns", "list"])?;
    ensure(
        !left.contains(&format!("tplab-{id}-")),
        format!("netns left after down:\n{left}"),
    )
}

/// kubectl lists both nodes (`InternalIP` on eth1), the pods on their nodes, the Services.
fn kubectl_view(sb: &Up, cluster_ip: &str, web_ip: &str) -> Result<(), Failed> {
    let kubeconfig = format!("/run/tplab/sandboxes/{}/kubeconfig", sb.id);
    let kubectl = crate::kubeapi::kubectl_bin("1.33");
    let get = |what: &str| -> Result<Value, Failed> {
        json_of(
            &kubectl,
            &["--kubeconfig", &kubeconfig, "get", what, "-A", "-o", "json"],
        )
    };
    let nodes = get("nodes")?;
    let items = nodes["items"].as_array().cloned().unwrap_or_default();
    ensure(items.len() == 2, format!("{} nodes", items.len()))?;
    let internal: Vec<&str> = items
        .iter()
        .filter_map(|n| n["status"]["addresses"][0]["address"].as_str())
        .collect();
    ensure(
        internal == ["10.135.0.11", "10.135.0.12"],
        format!("InternalIPs {internal:?}"),
    )?;
    let node2 = items[1]["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let pods = get("pods")?;
    let web = pods["items"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["metadata"]["name"] == "web"))
        .ok_or_else(|| fail("no pod web"))?;
    ensure(
        web["spec"]["nodeName"] == node2.as_str() && web["status"]["podIP"] == web_ip,
        format!(
            "pod web: {} on {}",
            web["status"]["podIP"], web["spec"]["nodeName"]
        ),
    )?;
    // One Cilium agent (DaemonSet pod) per node.
    let agents: Vec<&str> = pods["items"]
        .as_array()
        .map(|ps| {
            ps.iter()
                .filter(|p| p["metadata"]["namespace"] == "kube-system")
                .filter_map(|p| p["spec"]["nodeName"].as_str())
                .collect()
        })
        .unwrap_or_default();
    ensure(
        agents.len() == 2 && agents.contains(&node2.as_str()),
        format!("Cilium agents on nodes {agents:?}"),
    )?;
    let svcs = get("services")?;
    let svc = svcs["items"]
        .as_array()
        .and_then(|ss| ss.iter().find(|s| s["metadata"]["name"] == "web-np"))
        .ok_or_else(|| fail("no service web-np"))?;
    ensure(
        svc["spec"]["type"] == "NodePort" && svc["spec"]["ports"][0]["nodePort"] == 30080,
        format!("service web-np: {}", svc["spec"]),
    )?;
    ensure(
        svcs["items"]
            .as_array()
            .is_some_and(|ss| ss.iter().any(|s| s["spec"]["clusterIP"] == cluster_ip)),
        format!("no Service with clusterIP {cluster_ip}"),
    )
}

fn lint_and_test() -> Result<(), Failed> {
    let _l = crate::sandbox::SANDBOX_LOCK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let fixture_lab = fixture(LAB).to_string_lossy().into_owned();
    // The shipped lab built on a declared topology (pod to Service across nodes).
    for lab in [fixture_lab.as_str(), "labs/pod-to-service/lab.md"] {
        tplab(["lint", lab]).run().success()?;
        tplab(["test", lab]).run().success()?;
    }
    Ok(())
}
