//! `tplab serve`'s live diagram (issue 19), on the JSON the server pushes over its
//! events WebSocket: every interface it draws — names, addresses, MACs — is what
//! `ip -j` reads in the sandbox's namespaces, and the seed's HTTP request from the pod
//! to the world lights the pod → lxc → node eth0 path with the masquerade (source NAT)
//! at the node's eth0.

use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;
use tplab_testkit::Suite;
use tungstenite::client::IntoClientRequest;
use tungstenite::{Message, WebSocket};

use crate::harness::{Failed, ensure, fail};
use crate::serve::Server;

pub fn register(suite: Suite) -> Suite {
    suite
        .root_test(
            "serve::diagram_draws_the_kernel_and_the_nat_hop",
            diagram_draws_the_kernel_and_the_nat_hop,
        )
        .root_test(
            "serve::diagram_draws_a_lab_topology",
            diagram_draws_a_lab_topology,
        )
}

/// The page's events socket, with the cookie and the page's Origin.
fn events(s: &Server) -> Result<WebSocket<TcpStream>, Failed> {
    let mut req = format!("ws://{}/ws/events", s.addr)
        .into_client_request()
        .map_err(|e| fail(format!("request: {e}")))?;
    let h = req.headers_mut();
    let value = |v: String| v.parse().map_err(|e| fail(format!("header {v}: {e}")));
    h.insert("Cookie", value(s.cookie())?);
    h.insert("Origin", value(format!("http://{}", s.addr))?);
    let stream = TcpStream::connect(&s.addr).map_err(|e| fail(format!("connect: {e}")))?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok();
    let (ws, _) = tungstenite::client(req, stream).map_err(|e| fail(format!("upgrade: {e}")))?;
    Ok(ws)
}

/// The next pushed message matching `want`, within `limit`.
fn wait_for(
    ws: &mut WebSocket<TcpStream>,
    limit: Duration,
    what: &str,
    want: impl Fn(&Value) -> bool,
) -> Result<Value, Failed> {
    let end = Instant::now() + limit;
    let mut last = Value::Null;
    while Instant::now() < end {
        match ws.read() {
            Ok(Message::Text(t)) => {
                let v: Value = serde_json::from_str(&t).map_err(|e| fail(format!("{e}: {t}")))?;
                if want(&v) {
                    return Ok(v);
                }
                if v.get("type").is_some() {
                    last = v;
                }
            }
            Ok(_) => {}
            Err(tungstenite::Error::Io(e))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(e) => return Err(fail(format!("events socket: {e}"))),
        }
    }
    Err(fail(format!(
        "no {what} within {limit:?}; last diagram message: {last}"
    )))
}

fn ip_json(netns: &str, args: &[&str]) -> Result<Value, Failed> {
    let out = Command::new("ip")
        .args(["-n", netns, "-j"])
        .args(args)
        .output()
        .map_err(|e| fail(format!("ip: {e}")))?;
    serde_json::from_slice(&out.stdout).map_err(|e| fail(format!("ip -j {args:?}: {e}")))
}

/// What `ip -j addr` says of `ifname` in `netns`: MAC and `addr/prefix` (IPv4).
fn kernel_iface(netns: &str, ifname: &str) -> Result<(String, Option<String>), Failed> {
    let all = ip_json(netns, &["addr", "show", "dev", ifname])?;
    let dev = &all[0];
    let mac = dev["address"].as_str().unwrap_or_default().to_string();
    let ip = dev["addr_info"].as_array().and_then(|a| {
        a.iter().find(|i| i["family"] == "inet").map(|i| {
            format!(
                "{}/{}",
                i["local"].as_str().unwrap_or_default(),
                i["prefixlen"]
            )
        })
    });
    Ok((mac, ip))
}

/// The drawn interface `iface` (of the role whose netns is `netns`) is the kernel's.
fn same_as_kernel(netns: &str, iface: &Value) -> Result<(), Failed> {
    let name = iface["name"]
        .as_str()
        .ok_or_else(|| fail(format!("no name: {iface}")))?;
    let (mac, ip) = kernel_iface(netns, name)?;
    ensure(
        iface["mac"].as_str() == Some(mac.as_str()),
        format!(
            "{netns} {name}: drawn MAC {} , ip -j says {mac}",
            iface["mac"]
        ),
    )?;
    ensure(
        iface["ip"].as_str().map(str::to_string) == ip,
        format!(
            "{netns} {name}: drawn address {}, ip -j says {ip:?}",
            iface["ip"]
        ),
    )
}

fn diagram_draws_the_kernel_and_the_nat_hop() -> Result<(), Failed> {
    let s = Server::start("tests/fixtures/labs/serve-ping.md", &[])?;
    let state = s.state()?;
    let id = state["sandbox"]
        .as_str()
        .ok_or_else(|| fail(format!("no sandbox in {state}")))?
        .to_string();
    let ns = |role: &str| format!("tplab-{id}-{role}");
    let mut ws = events(&s)?;
    let topo = wait_for(&mut ws, Duration::from_secs(30), "topology", |v| {
        v["type"] == "topology" && !v["topology"].is_null()
    })?;
    let t = &topo["topology"];
    ensure(
        t["unreadable"].as_array().is_some_and(Vec::is_empty),
        format!("every role read: {}", t["unreadable"]),
    )?;
    let pod = &t["pods"][0];
    ensure(
        pod["iface"]["name"] == "eth0" && pod["iface"]["hop"] == "pod:eth0",
        format!("the pod's eth0: {pod}"),
    )?;
    same_as_kernel(&ns("pod"), &pod["iface"])?;
    let lxc = &pod["lxc"];
    ensure(
        lxc["name"].as_str().is_some_and(|n| n.starts_with("lxc")) && lxc["hop"] == "node:lxc",
        format!("the pod's lxc: {lxc}"),
    )?;
    same_as_kernel(&ns("node"), lxc)?;
    let node = &t["nodes"][0];
    let names: Vec<&str> = node["ifaces"]
        .as_array()
        .map(|a| a.iter().filter_map(|i| i["name"].as_str()).collect())
        .unwrap_or_default();
    ensure(
        names.contains(&"cilium_host") && names.contains(&"eth0"),
        format!("the node's interfaces: {names:?}"),
    )?;
    for iface in node["ifaces"].as_array().into_iter().flatten() {
        same_as_kernel(&ns("node"), iface)?;
    }
    // Every eth* of the node is drawn (none left out, none invented).
    let kernel_eths: Vec<String> = ip_json(&ns("node"), &["link"])?
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|l| l["ifname"].as_str())
        .filter(|n| n.starts_with("eth"))
        .map(str::to_string)
        .collect();
    for eth in &kernel_eths {
        ensure(
            names.contains(&eth.as_str()),
            format!("{eth} drawn: {names:?}"),
        )?;
    }
    same_as_kernel(&ns("world"), &t["world"])?;

    // The seed's HTTP request, once the observer is attached.
    wait_for(&mut ws, Duration::from_secs(30), "observer", |v| {
        v["type"] == "path" && v["observing"] == true
    })?;
    let pod_ip = pod["iface"]["ip"]
        .as_str()
        .and_then(|a| a.split('/').next())
        .unwrap_or_default()
        .to_string();
    let out = Command::new("ip")
        .args([
            "netns",
            "exec",
            &ns("pod"),
            "wget",
            "-qO-",
            "http://203.0.113.10/",
        ])
        .output()
        .map_err(|e| fail(format!("wget: {e}")))?;
    ensure(
        out.status.success(),
        format!("the HTTP request: {}", String::from_utf8_lossy(&out.stderr)),
    )?;
    let lit = |v: &Value, label: &str| {
        v["hops"]
            .as_array()
            .is_some_and(|h| h.iter().any(|x| x["label"] == label))
    };
    let path = wait_for(&mut ws, Duration::from_secs(15), "lit path", |v| {
        v["type"] == "path"
            && lit(v, "pod:eth0")
            && lit(v, "node:lxc")
            && lit(v, "node:eth0")
            && v["hops"].as_array().is_some_and(|h| {
                h.iter().any(|x| {
                    x["label"] == "node:eth0"
                        && x["what"].as_str().is_some_and(|w| w.starts_with("tcp"))
                        && !x["nat"].as_array().is_none_or(Vec::is_empty)
                })
            })
    })?;
    let hops = path["hops"].as_array().cloned().unwrap_or_default();
    let nat_hop = hops
        .iter()
        .find(|h| {
            h["label"] == "node:eth0"
                && h["dir"] == "egress"
                && !h["nat"].as_array().is_none_or(Vec::is_empty)
        })
        .ok_or_else(|| fail(format!("no NAT on the way out at node:eth0: {path}")))?;
    let nat = &nat_hop["nat"][0];
    ensure(
        nat["side"] == "source"
            && nat["from"]
                .as_str()
                .is_some_and(|f| f.starts_with(&format!("{pod_ip}:")))
            && nat_hop["src"] != pod_ip.as_str(),
        format!("masquerade at node:eth0 from the pod's address: {nat_hop}"),
    )?;
    // On the way out, NAT is drawn where it happens only: not at the pod or its lxc.
    let outgoing = |h: &&Value| {
        (h["label"] == "pod:eth0" && h["dir"] == "egress")
            || (h["label"] == "node:lxc" && h["dir"] == "ingress")
    };
    ensure(
        hops.iter()
            .filter(outgoing)
            .all(|h| h["nat"].as_array().is_some_and(Vec::is_empty)),
        format!("no NAT before the node's eth0: {path}"),
    )?;
    // One entry per hop crossed, in the order of the request.
    let labels: Vec<&str> = hops.iter().filter_map(|h| h["label"].as_str()).collect();
    ensure(
        labels.starts_with(&["pod:eth0", "node:lxc", "node:eth0"]),
        format!("the path in order: {labels:?}"),
    )?;
    Ok(())
}

/// A lab's `sandbox:` block (two nodes, a pod on node 2, two Services) is drawn too.
fn diagram_draws_a_lab_topology() -> Result<(), Failed> {
    let s = Server::start("tests/fixtures/topology/two-nodes.md", &[])?;
    let mut ws = events(&s)?;
    let topo = wait_for(&mut ws, Duration::from_secs(60), "topology", |v| {
        v["type"] == "topology" && !v["topology"].is_null()
    })?;
    let t = &topo["topology"];
    let names = |v: &Value| -> Vec<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|x| x["name"].as_str().map(str::to_string))
            .collect()
    };
    ensure(
        names(&t["nodes"]) == ["node", "node2"],
        format!("both nodes: {}", t["nodes"]),
    )?;
    for node in t["nodes"].as_array().into_iter().flatten() {
        let ifaces = names(&node["ifaces"]);
        ensure(
            ifaces.iter().any(|i| i == "eth1") && ifaces.iter().any(|i| i == "eth0"),
            format!("{}: eth0 and eth1 drawn: {ifaces:?}", node["name"]),
        )?;
    }
    let web = t["pods"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["name"] == "web"))
        .ok_or_else(|| fail(format!("pod web drawn: {}", t["pods"])))?;
    ensure(
        web["node"] == "node2"
            && web["iface"]["ip"]
                .as_str()
                .is_some_and(|ip| ip.starts_with("10.244.0."))
            && web["lxc"]["name"]
                .as_str()
                .is_some_and(|n| n.starts_with("lxc")),
        format!("pod web on node2 with its address and lxc: {web}"),
    )?;
    let services = names(&t["services"]);
    ensure(
        services == ["web", "web-np"]
            && t["services"][1]["node_port"] == "30080"
            && t["services"][0]["cluster_ip"]
                .as_str()
                .is_some_and(|ip| ip.starts_with("10.96.")),
        format!("the Services: {}", t["services"]),
    )?;
    Ok(())
}
