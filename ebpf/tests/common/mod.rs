//! Test topology: the seed's path in three throwaway netns (prefix `tpt-ebpf-`):
//! pod eth0 (10.244.0.213/32) <-> lxc<12hex> in node, node eth0 198.51.100.2 <-> world
//! (198.51.100.1 + 203.0.113.10), MASQUERADE on node eth0. The world has no route back to
//! 10.244.0.0/16, so replies only come back through NAT — as on a real cloud node.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

pub const POD_IP: &str = "10.244.0.213";
pub const GW_IP: &str = "10.244.0.201";
pub const NODE_IP: &str = "198.51.100.2";
pub const WORLD_GW: &str = "198.51.100.1";
pub const WORLD_IP: &str = "203.0.113.10";

pub struct Topo {
    pub id: String,
    pub pod: String,
    pub node: String,
    pub world: String,
    pub lxc: String,
    pub pin_dir: PathBuf,
    children: Vec<Child>,
}

fn rand_hex(n: usize) -> String {
    let mut buf = vec![0u8; n.div_ceil(2)];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        let _ = std::io::Read::read_exact(&mut f, &mut buf);
    }
    let hex: String = buf.iter().fold(String::new(), |mut s, b| {
        let _ = std::fmt::Write::write_fmt(&mut s, format_args!("{b:02x}"));
        s
    });
    hex[..n].to_string()
}

/// Runs a command, failing with its stderr.
pub fn sh(args: &[&str]) -> Result<String, String> {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .map_err(|e| format!("{}: {e}", args.join(" ")))?;
    if !out.status.success() {
        return Err(format!(
            "`{}` failed: {}{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

impl Topo {
    pub fn new() -> Result<Topo, String> {
        let id = format!("tpt-ebpf-{}", rand_hex(6));
        let topo = Topo {
            pod: format!("{id}-pod"),
            node: format!("{id}-node"),
            world: format!("{id}-world"),
            lxc: format!("lxc{}", rand_hex(12)),
            pin_dir: tplab_ebpf::pin_dir_for(&id),
            id,
            children: Vec::new(),
        };
        topo.build()?;
        Ok(topo)
    }

    pub fn ns_path(name: &str) -> PathBuf {
        tplab_netns::path_of(name)
    }
    pub fn node_path(&self) -> PathBuf {
        Self::ns_path(&self.node)
    }
    pub fn pod_path(&self) -> PathBuf {
        Self::ns_path(&self.pod)
    }

    /// `ip netns exec <ns> args...` (a method so call sites read `t.exec(&t.node, ..)`).
    #[allow(clippy::unused_self)]
    pub fn exec(&self, ns: &str, args: &[&str]) -> Result<String, String> {
        let mut v = vec!["ip", "netns", "exec", ns];
        v.extend_from_slice(args);
        sh(&v)
    }

    fn build(&self) -> Result<(), String> {
        let (p, n, w, lxc) = (&self.pod, &self.node, &self.world, &self.lxc);
        for ns in [p, n, w] {
            sh(&["ip", "netns", "add", ns])?;
        }
        let steps: Vec<Vec<&str>> = vec![
            vec![
                "ip", "-n", n, "link", "add", lxc, "type", "veth", "peer", "name", "eth0", "netns",
                p,
            ],
            vec![
                "ip", "-n", n, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0",
                "netns", w,
            ],
            vec!["ip", "-n", p, "link", "set", "lo", "up"],
            vec![
                "ip",
                "-n",
                p,
                "addr",
                "add",
                "10.244.0.213/32",
                "dev",
                "eth0",
            ],
            vec!["ip", "-n", p, "link", "set", "eth0", "up"],
            vec![
                "ip", "-n", p, "route", "add", GW_IP, "dev", "eth0", "scope", "link",
            ],
            vec![
                "ip", "-n", p, "route", "add", "default", "via", GW_IP, "dev", "eth0",
            ],
            vec!["ip", "-n", n, "link", "set", "lo", "up"],
            // The gateway address lives on cilium_host (a veth pair, as in Cilium); proxy-ARP on the lxc
            // answers for it.
            vec![
                "ip",
                "-n",
                n,
                "link",
                "add",
                "cilium_host",
                "type",
                "veth",
                "peer",
                "name",
                "cilium_net",
            ],
            vec!["ip", "-n", n, "link", "set", "cilium_net", "up"],
            vec![
                "ip",
                "-n",
                n,
                "addr",
                "add",
                "10.244.0.201/32",
                "dev",
                "cilium_host",
            ],
            vec!["ip", "-n", n, "link", "set", "cilium_host", "up"],
            vec!["ip", "-n", n, "link", "set", lxc, "up"],
            vec!["ip", "-n", n, "route", "add", "10.244.0.213/32", "dev", lxc],
            vec![
                "ip",
                "-n",
                n,
                "addr",
                "add",
                "198.51.100.2/24",
                "dev",
                "eth0",
            ],
            vec!["ip", "-n", n, "link", "set", "eth0", "up"],
            vec!["ip", "-n", n, "route", "add", "default", "via", WORLD_GW],
            vec!["ip", "-n", w, "link", "set", "lo", "up"],
            vec![
                "ip",
                "-n",
                w,
                "addr",
                "add",
                "198.51.100.1/24",
                "dev",
                "eth0",
            ],
            vec![
                "ip",
                "-n",
                w,
                "addr",
                "add",
                "203.0.113.10/32",
                "dev",
                "eth0",
            ],
            vec!["ip", "-n", w, "link", "set", "eth0", "up"],
        ];
        for s in steps {
            sh(&s)?;
        }
        self.exec(n, &["sysctl", "-qw", "net.ipv4.ip_forward=1"])?;
        self.exec(
            n,
            &["sysctl", "-qw", &format!("net.ipv4.conf.{lxc}.proxy_arp=1")],
        )?;
        self.masquerade(true)?;
        Ok(())
    }

    /// Adds (or flushes) the node's MASQUERADE rule.
    pub fn masquerade(&self, on: bool) -> Result<(), String> {
        if on {
            self.exec(
                &self.node,
                &[
                    "iptables",
                    "-t",
                    "nat",
                    "-A",
                    "POSTROUTING",
                    "-s",
                    "10.244.0.0/16",
                    "-o",
                    "eth0",
                    "-j",
                    "MASQUERADE",
                ],
            )
            .map(drop)
        } else {
            self.exec(&self.node, &["iptables", "-t", "nat", "-F"])
                .map(drop)
        }
    }

    /// Pings the world from the pod (`count` echo requests every `interval` s).
    pub fn ping(&self, count: u32, interval: &str) -> Result<String, String> {
        self.exec(
            &self.pod,
            &[
                "ping",
                "-n",
                "-q",
                "-c",
                &count.to_string(),
                "-i",
                interval,
                "-W",
                "1",
                WORLD_IP,
            ],
        )
    }

    /// Like [`Topo::ping`] but a failure (no reply) is not an error.
    pub fn ping_lossy(&self, count: u32) {
        let _ = self.ping(count, "0.05");
    }

    /// Starts a background process in `ns`; killed (by PID) on drop.
    pub fn spawn(&mut self, ns: &str, args: &[&str]) -> Result<u32, String> {
        let child = Command::new("ip")
            .args(["netns", "exec", ns])
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("spawning {}: {e}", args.join(" ")))?;
        let pid = child.id();
        self.children.push(child);
        Ok(pid)
    }

    /// `python3 -m http.server 80` in the world, waits until it answers.
    pub fn http_server(&mut self) -> Result<(), String> {
        let world = self.world.clone();
        self.spawn(
            &world,
            &["python3", "-m", "http.server", "80", "--bind", WORLD_IP],
        )?;
        for _ in 0..50 {
            if self
                .exec(&world, &["sh", "-c", "exec 3<>/dev/tcp/203.0.113.10/80"])
                .is_ok()
                || self
                    .exec(
                        &world,
                        &[
                            "wget",
                            "-q",
                            "-T",
                            "1",
                            "-O",
                            "/dev/null",
                            "http://203.0.113.10/",
                        ],
                    )
                    .is_ok()
            {
                return Ok(());
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        Err("the world HTTP server did not start".into())
    }
}

/// A tcpdump writing to a pcap, stopped with SIGTERM so it flushes.
pub struct Tcpdump {
    child: Child,
    pub pcap: PathBuf,
    log: PathBuf,
}

impl Tcpdump {
    pub fn start(ns: &str, ifname: &str, filter: &str) -> Result<Tcpdump, String> {
        let base = std::env::temp_dir().join(format!("{ns}-{ifname}-{}", rand_hex(4)));
        let pcap = base.with_extension("pcap");
        let log = base.with_extension("log");
        let logf = std::fs::File::create(&log).map_err(|e| e.to_string())?;
        let child = Command::new("ip")
            .args([
                "netns",
                "exec",
                ns,
                "tcpdump",
                "--immediate-mode",
                "-i",
                ifname,
                "-n",
                "-U",
                "-w",
            ])
            .arg(&pcap)
            .arg(filter)
            .stdout(Stdio::null())
            .stderr(logf)
            .spawn()
            .map_err(|e| format!("spawning tcpdump: {e}"))?;
        let dump = Tcpdump { child, pcap, log };
        for _ in 0..100 {
            if std::fs::read_to_string(&dump.log).is_ok_and(|l| l.contains("listening on")) {
                return Ok(dump);
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Err("tcpdump did not start listening".into())
    }

    /// Stops tcpdump and returns the lines of its capture.
    pub fn finish(mut self) -> Result<String, String> {
        let pid = i32::try_from(self.child.id()).map_err(|e| e.to_string())?;
        std::thread::sleep(std::time::Duration::from_millis(300)); // let it write the tail
        // SAFETY: signalling our own child by PID.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let _ = self.child.wait();
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let out = sh(&["tcpdump", "-n", "-r", &self.pcap.display().to_string()])?;
        Ok(format!("{out}\n# tcpdump log:\n{log}"))
    }
}

impl Drop for Tcpdump {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.pcap);
        let _ = std::fs::remove_file(&self.log);
    }
}

impl Drop for Topo {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = tplab_ebpf::detach_all(&self.node_path(), &self.lxc);
        let _ = tplab_ebpf::cleanup_pin_dir(&self.pin_dir);
        for ns in [&self.pod, &self.node, &self.world] {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}
