//! Builds the seed's topology with netlink, one dedicated thread per netns:
//!
//! ```text
//!  pod netns                 node netns                              world netns
//!  eth0 10.244.0.213/32 ---- lxcXXXXXXXXXXXX (proxy_arp)
//!  default via .201          cilium_host 10.244.0.201/32 -- cilium_net
//!                            eth0 198.51.100.2/24 ----------------- eth0 198.51.100.1/24
//!                            default via 198.51.100.1                lo 203.0.113.10/32, HTTP :80
//!                            ip_forward=1, MASQUERADE 10.244.0.0/16 -o eth0
//! ```
//! The world has no route back to the pod CIDR, so without MASQUERADE replies are lost.

use std::fs::File;
use std::net::TcpListener;
use std::os::fd::AsRawFd;
use std::path::Path;

use std::net::Ipv4Addr;

use crate::config::SandboxConfig;
use crate::error::{Result, SandboxError};
use crate::ids::random_mac;
use crate::netlink::{Nl, Veth, sysctl};
use crate::nodes::{LAN_BRIDGE, NODE_CIDR_PREFIX, NodePlan, PRIVATE_IF};
use crate::state::{PodState, SandboxState};

/// Interface name of the world's side of the node uplink.
pub const WORLD_IF: &str = "eth0";
pub const CILIUM_HOST: &str = "cilium_host";
pub const CILIUM_NET: &str = "cilium_net";

/// MAC addresses drawn before the build, so the state file knows them from the start.
#[derive(Debug, Clone)]
pub(crate) struct NodeMacs {
    pub cilium_host: [u8; 6],
    pub cilium_net: [u8; 6],
    pub node: [u8; 6],
    pub world: [u8; 6],
}

pub(crate) fn parse_mac(text: &str) -> [u8; 6] {
    let mut mac = [0u8; 6];
    for (slot, part) in mac.iter_mut().zip(text.split(':')) {
        *slot = u8::from_str_radix(part, 16).unwrap_or(0);
    }
    mac
}

fn open_ns(name: &str) -> Result<File> {
    Ok(tplab_netns::open(&tplab_netns::path_of(name))?)
}

/// Node side of one pod: the lxc veth (peer created directly in the pod netns), proxy-ARP
/// on it so the pod resolves its gateway to the lxc MAC, and the /32 route to the pod.
async fn node_add_pod(
    nl: &Nl,
    cfg: &SandboxConfig,
    node_ns: &str,
    pod: &PodState,
    pod_fd: i32,
) -> Result<()> {
    nl.add_veth(&Veth {
        name: &pod.lxc_name,
        mac: parse_mac(&pod.lxc_mac),
        peer: &pod.if_name,
        peer_mac: parse_mac(&pod.mac),
        peer_netns: Some(pod_fd),
        mtu: cfg.mtu,
        up: true,
        noarp: false,
    })
    .await?;
    sysctl(
        node_ns,
        &format!("net/ipv4/conf/{}/proxy_arp", pod.lxc_name),
        "1",
    )?;
    let lxc = nl.index(&pod.lxc_name).await?;
    nl.route_dev(lxc, pod.ip, 32).await
}

/// Pod side: lo up, the /32 address, the host route to its node's gateway and the
/// default route.
async fn pod_configure(cfg: &SandboxConfig, pod: &PodState) -> Result<()> {
    let gateway = cfg
        .node_plan(pod.node)
        .map_or(cfg.gateway_ip, |n| n.cilium_host);
    let nl = Nl::connect(&pod.netns)?;
    nl.set_up(1, false).await?;
    let eth0 = nl.index(&pod.if_name).await?;
    nl.set_up(eth0, false).await?;
    nl.add_addr(eth0, pod.ip, 32).await?;
    nl.route_dev(eth0, gateway, 32).await?;
    nl.route_default(eth0, gateway).await
}

/// What one node's build needs, besides the config.
#[derive(Clone)]
struct NodeBuild {
    netns: String,
    plan: NodePlan,
    macs: NodeMacs,
    pods: Vec<PodState>,
    /// Name of the uplink's peer in the world netns.
    uplink_peer: String,
    /// Other nodes: (pod CIDR, their `eth1` address).
    peers: Vec<(Ipv4Addr, Ipv4Addr)>,
}

/// The world-side name of node `name`'s uplink: `eth0` itself for the seed's single node,
/// a port of the world's `eth0` bridge otherwise.
fn uplink_peer(cfg: &SandboxConfig, name: &str) -> String {
    if cfg.nodes > 1 {
        format!("up-{name}")
    } else {
        WORLD_IF.to_string()
    }
}

async fn node_configure(
    cfg: &SandboxConfig,
    nb: &NodeBuild,
    pod_fds: &[i32],
    world_fd: i32,
    lan_fd: Option<i32>,
) -> Result<()> {
    let ns = nb.netns.as_str();
    // Forwarding first: devices created afterwards inherit it.
    sysctl(ns, "net/ipv4/ip_forward", "1")?;
    let nl = Nl::connect(ns)?;
    nl.set_up(1, false).await?;
    nl.add_veth(&Veth {
        name: CILIUM_HOST,
        mac: nb.macs.cilium_host,
        peer: CILIUM_NET,
        peer_mac: nb.macs.cilium_net,
        peer_netns: None,
        mtu: cfg.mtu,
        up: true,
        // The seed's cilium_host is NOARP: the gateway answers through the lxc instead.
        noarp: true,
    })
    .await?;
    let net = nl.index(CILIUM_NET).await?;
    nl.set_up(net, false).await?;
    let host = nl.index(CILIUM_HOST).await?;
    nl.add_addr(host, nb.plan.cilium_host, 32).await?;
    for (pod, fd) in nb.pods.iter().zip(pod_fds) {
        node_add_pod(&nl, cfg, ns, pod, *fd).await?;
    }
    nl.add_veth(&Veth {
        name: &cfg.node_if,
        mac: nb.macs.node,
        peer: &nb.uplink_peer,
        peer_mac: nb.macs.world,
        peer_netns: Some(world_fd),
        mtu: cfg.mtu,
        up: true,
        noarp: false,
    })
    .await?;
    let uplink = nl.index(&cfg.node_if).await?;
    nl.add_addr(uplink, nb.plan.public_ip, cfg.node_prefix)
        .await?;
    nl.route_default(uplink, cfg.node_gateway).await?;
    if let (Some(lan_fd), Some(ip)) = (lan_fd, nb.plan.private_ip) {
        nl.add_veth(&Veth {
            name: PRIVATE_IF,
            mac: random_mac(),
            peer: &nb.plan.name,
            peer_mac: random_mac(),
            peer_netns: Some(lan_fd),
            mtu: cfg.mtu,
            up: true,
            noarp: false,
        })
        .await?;
        let eth1 = nl.index(PRIVATE_IF).await?;
        let (_, prefix) = cfg.node_network_parts();
        nl.add_addr(eth1, ip, prefix).await?;
        for (cidr, via) in &nb.peers {
            nl.route_via(eth1, *cidr, NODE_CIDR_PREFIX, *via).await?;
        }
    }
    Ok(())
}

/// World side: the uplink address (on a bridge of every node's uplink when there are
/// several nodes), the "internet" address on lo, and the HTTP listener (bound here so it
/// lives in the world netns; the daemon only accepts on it).
async fn world_configure(cfg: &SandboxConfig, ns: &str, ports: &[String]) -> Result<TcpListener> {
    let nl = Nl::connect(ns)?;
    nl.set_up(1, false).await?;
    nl.add_addr(1, cfg.world_ip, 32).await?;
    let eth0 = if cfg.nodes > 1 {
        let bridge = nl.add_bridge(WORLD_IF).await?;
        for port in ports {
            nl.enslave(port, bridge).await?;
        }
        bridge
    } else {
        let eth0 = nl.index(WORLD_IF).await?;
        nl.set_up(eth0, false).await?;
        eth0
    };
    nl.add_addr(eth0, cfg.node_gateway, cfg.node_prefix).await?;
    TcpListener::bind((cfg.world_ip, cfg.http_port)).map_err(|e| {
        SandboxError::Daemon(format!(
            "binding {}:{} in netns {ns}: {e}",
            cfg.world_ip, cfg.http_port
        ))
    })
}

/// The private node network: a bridge of every node's `eth1`, nothing else.
async fn lan_configure(ns: &str, ports: &[String]) -> Result<()> {
    let nl = Nl::connect(ns)?;
    nl.set_up(1, false).await?;
    let bridge = nl.add_bridge(LAN_BRIDGE).await?;
    for port in ports {
        nl.enslave(port, bridge).await?;
    }
    Ok(())
}

fn node_builds(state: &SandboxState, macs: &NodeMacs) -> Vec<NodeBuild> {
    let cfg = &state.config;
    let plans = cfg.node_plans();
    plans
        .iter()
        .map(|plan| {
            let (netns, macs) = if plan.number == 1 {
                (state.node_netns.clone(), macs.clone())
            } else {
                let extra = &state.extra_nodes[plan.number - 2];
                (
                    extra.netns.clone(),
                    NodeMacs {
                        cilium_host: parse_mac(&extra.cilium_host_mac),
                        cilium_net: random_mac(),
                        node: parse_mac(&extra.node_mac),
                        world: random_mac(),
                    },
                )
            };
            NodeBuild {
                netns,
                plan: plan.clone(),
                macs,
                pods: state
                    .pods
                    .iter()
                    .filter(|p| p.node == plan.number)
                    .cloned()
                    .collect(),
                uplink_peer: uplink_peer(cfg, &plan.name),
                peers: plans
                    .iter()
                    .filter(|o| o.number != plan.number)
                    .filter_map(|o| Some((o.pod_cidr, o.private_ip?)))
                    .collect(),
            }
        })
        .collect()
}

fn join_all<T>(handles: Vec<std::thread::ScopedJoinHandle<'_, Result<T>>>) -> Result<Vec<T>> {
    let mut out = Vec::new();
    let mut first_err = None;
    for h in handles {
        match h.join() {
            Ok(Ok(v)) => out.push(v),
            Ok(Err(e)) => {
                first_err.get_or_insert(e);
            }
            Err(_) => {
                first_err
                    .get_or_insert(SandboxError::Netns(tplab_netns::NetnsError::ThreadPanicked));
            }
        }
    }
    first_err.map_or(Ok(out), Err)
}

/// Runs the netlink part of the build (netns already exist). Returns the world listener.
pub(crate) fn build(state: &SandboxState, macs: &NodeMacs) -> Result<TcpListener> {
    let cfg = state.config.clone();
    let world_file = open_ns(&state.world_netns)?;
    let lan_file = state.lan_netns.as_deref().map(open_ns).transpose()?;
    let builds = node_builds(state, macs);
    // Nodes are independent until the bridges join them: one thread per node netns.
    std::thread::scope(|s| {
        let handles: Vec<_> = builds
            .iter()
            .map(|nb| {
                let (cfg, nb) = (cfg.clone(), nb.clone());
                let world_fd = world_file.as_raw_fd();
                let lan_fd = lan_file.as_ref().map(AsRawFd::as_raw_fd);
                s.spawn(move || {
                    let pod_files = nb
                        .pods
                        .iter()
                        .map(|p| open_ns(&p.netns))
                        .collect::<Result<Vec<_>>>()?;
                    let pod_fds: Vec<i32> = pod_files.iter().map(AsRawFd::as_raw_fd).collect();
                    let path = tplab_netns::path_of(&nb.netns);
                    tplab_netns::block_on_in_sync(Some(&path), move || async move {
                        node_configure(&cfg, &nb, &pod_fds, world_fd, lan_fd).await
                    })?
                })
            })
            .collect();
        join_all(handles).map(|_| ())
    })?;
    drop(world_file);
    drop(lan_file);
    let uplinks: Vec<String> = builds.iter().map(|b| b.uplink_peer.clone()).collect();
    let lan_ports: Vec<String> = builds.iter().map(|b| b.plan.name.clone()).collect();
    // Pods, world and lan are independent now: configure them concurrently.
    std::thread::scope(|s| {
        let world = s.spawn(|| {
            let (cfg, ns) = (cfg.clone(), state.world_netns.clone());
            let path = tplab_netns::path_of(&ns);
            tplab_netns::block_on_in_sync(Some(&path), move || async move {
                world_configure(&cfg, &ns, &uplinks).await
            })
        });
        let lan = state.lan_netns.clone().map(|ns| {
            s.spawn(move || {
                let path = tplab_netns::path_of(&ns);
                tplab_netns::block_on_in_sync(Some(&path), move || async move {
                    lan_configure(&ns, &lan_ports).await
                })?
            })
        });
        let mut first_err = None;
        for pod in &state.pods {
            if let Err(e) = configure_pod(&cfg, pod) {
                first_err.get_or_insert(e);
            }
        }
        if let Some(lan) = lan {
            match lan.join() {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    first_err.get_or_insert(e);
                }
                Err(_) => {
                    first_err.get_or_insert(SandboxError::Netns(
                        tplab_netns::NetnsError::ThreadPanicked,
                    ));
                }
            }
        }
        let listener = world
            .join()
            .map_err(|_| SandboxError::Netns(tplab_netns::NetnsError::ThreadPanicked))???;
        match first_err {
            Some(e) => Err(e),
            None => Ok(listener),
        }
    })
}

fn configure_pod(cfg: &SandboxConfig, pod: &PodState) -> Result<()> {
    let (cfg, pod) = (cfg.clone(), pod.clone());
    let path = tplab_netns::path_of(&pod.netns);
    tplab_netns::block_on_in_sync(Some(&path), move || async move {
        pod_configure(&cfg, &pod).await
    })?
}

/// Adds one more pod to a running sandbox (its netns must exist).
pub(crate) fn add_pod(state: &SandboxState, pod: &PodState) -> Result<()> {
    let pod_file = open_ns(&pod.netns)?;
    let fd = pod_file.as_raw_fd();
    let node_ns = state
        .node_netns_of(pod.node)
        .unwrap_or(&state.node_netns)
        .to_string();
    let (cfg, p) = (state.config.clone(), pod.clone());
    let node_path = tplab_netns::path_of(&node_ns);
    tplab_netns::block_on_in_sync(Some(&node_path), move || async move {
        let nl = Nl::connect(&node_ns)?;
        node_add_pod(&nl, &cfg, &node_ns, &p, fd).await
    })??;
    drop(pod_file);
    configure_pod(&state.config, pod)
}

/// True when `path` names an existing netns file (used by status).
pub(crate) fn netns_exists(name: &str) -> bool {
    Path::new(&tplab_netns::path_of(name)).exists()
}
