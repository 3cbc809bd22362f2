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

use crate::config::SandboxConfig;
use crate::error::{Result, SandboxError};
use crate::netlink::{Nl, Veth, sysctl};
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

/// Pod side: lo up, the /32 address, the host route to the gateway and the default route.
async fn pod_configure(cfg: &SandboxConfig, pod: &PodState) -> Result<()> {
    let nl = Nl::connect(&pod.netns)?;
    nl.set_up(1, false).await?;
    let eth0 = nl.index(&pod.if_name).await?;
    nl.set_up(eth0, false).await?;
    nl.add_addr(eth0, pod.ip, 32).await?;
    nl.route_dev(eth0, cfg.gateway_ip, 32).await?;
    nl.route_default(eth0, cfg.gateway_ip).await
}

async fn node_configure(
    cfg: &SandboxConfig,
    state: &SandboxState,
    macs: &NodeMacs,
    pod_fds: &[i32],
    world_fd: i32,
) -> Result<()> {
    let ns = state.node_netns.as_str();
    // Forwarding first: devices created afterwards inherit it.
    sysctl(ns, "net/ipv4/ip_forward", "1")?;
    let nl = Nl::connect(ns)?;
    nl.set_up(1, false).await?;
    nl.add_veth(&Veth {
        name: CILIUM_HOST,
        mac: macs.cilium_host,
        peer: CILIUM_NET,
        peer_mac: macs.cilium_net,
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
    nl.add_addr(host, cfg.gateway_ip, 32).await?;
    for (pod, fd) in state.pods.iter().zip(pod_fds) {
        node_add_pod(&nl, cfg, ns, pod, *fd).await?;
    }
    nl.add_veth(&Veth {
        name: &cfg.node_if,
        mac: macs.node,
        peer: WORLD_IF,
        peer_mac: macs.world,
        peer_netns: Some(world_fd),
        mtu: cfg.mtu,
        up: true,
        noarp: false,
    })
    .await?;
    let uplink = nl.index(&cfg.node_if).await?;
    nl.add_addr(uplink, cfg.node_ip, cfg.node_prefix).await?;
    nl.route_default(uplink, cfg.node_gateway).await
}

/// World side: the uplink address, the "internet" address on lo, and the HTTP listener
/// (bound here so it lives in the world netns; the daemon only accepts on it).
async fn world_configure(cfg: &SandboxConfig, ns: &str) -> Result<TcpListener> {
    let nl = Nl::connect(ns)?;
    nl.set_up(1, false).await?;
    nl.add_addr(1, cfg.world_ip, 32).await?;
    let eth0 = nl.index(WORLD_IF).await?;
    nl.set_up(eth0, false).await?;
    nl.add_addr(eth0, cfg.node_gateway, cfg.node_prefix).await?;
    TcpListener::bind((cfg.world_ip, cfg.http_port)).map_err(|e| {
        SandboxError::Daemon(format!(
            "binding {}:{} in netns {ns}: {e}",
            cfg.world_ip, cfg.http_port
        ))
    })
}

/// Runs the netlink part of the build (netns already exist). Returns the world listener.
pub(crate) fn build(state: &SandboxState, macs: &NodeMacs) -> Result<TcpListener> {
    let cfg = state.config.clone();
    let pod_files = state
        .pods
        .iter()
        .map(|p| open_ns(&p.netns))
        .collect::<Result<Vec<_>>>()?;
    let world_file = open_ns(&state.world_netns)?;
    {
        let (cfg, st, macs) = (cfg.clone(), state.clone(), macs.clone());
        let pod_fds: Vec<i32> = pod_files.iter().map(AsRawFd::as_raw_fd).collect();
        let world_fd = world_file.as_raw_fd();
        let node_path = tplab_netns::path_of(&state.node_netns);
        tplab_netns::block_on_in_sync(Some(&node_path), move || async move {
            node_configure(&cfg, &st, &macs, &pod_fds, world_fd).await
        })??;
    }
    drop(pod_files);
    drop(world_file);
    // Pods and world are independent now: configure them concurrently.
    std::thread::scope(|s| {
        let world = s.spawn(|| {
            let (cfg, ns) = (cfg.clone(), state.world_netns.clone());
            let path = tplab_netns::path_of(&ns);
            tplab_netns::block_on_in_sync(Some(&path), move || async move {
                world_configure(&cfg, &ns).await
            })
        });
        let mut first_err = None;
        for pod in &state.pods {
            if let Err(e) = configure_pod(&cfg, pod) {
                first_err.get_or_insert(e);
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
    let (cfg, p, node_ns) = (state.config.clone(), pod.clone(), state.node_netns.clone());
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
