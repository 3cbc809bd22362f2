//! The node's iptables: MASQUERADE for pod traffic leaving the uplink, plus kube-proxy-like
//! KUBE-* chains so the seed's `iptables-save | grep -c KUBE` has something to count.
//! Everything goes through ONE `iptables-restore` run inside the node netns.

use std::fmt::Write as _;
use std::io::Write;
use std::process::{Child, Command, Stdio};

use crate::config::SandboxConfig;
use crate::error::{Result, SandboxError};
use crate::nftgen::GenWatch;

const KUBE_FILTER: &str = r#":KUBE-FIREWALL - [0:0]
:KUBE-FORWARD - [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-EXTERNAL-SERVICES - [0:0]
:KUBE-NODEPORTS - [0:0]
-A INPUT -m comment --comment "kubernetes health check service ports" -j KUBE-NODEPORTS
-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES
-A INPUT -j KUBE-FIREWALL
-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD
-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A OUTPUT -j KUBE-FIREWALL
-A KUBE-FIREWALL ! -s 127.0.0.0/8 -d 127.0.0.0/8 -m comment --comment "block incoming localnet connections" -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP
-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
"#;

const KUBE_NAT_CHAINS: &str = ":KUBE-SERVICES - [0:0]
:KUBE-POSTROUTING - [0:0]
:KUBE-MARK-MASQ - [0:0]
:KUBE-NODEPORTS - [0:0]
";

const KUBE_NAT_RULES: &str = r#"-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING
-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000
-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0
-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully
-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS
"#;

/// The `iptables-restore` input for `cfg`.
pub fn rules(cfg: &SandboxConfig) -> String {
    let mut out =
        String::from("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n");
    if cfg.kube_rules {
        out.push_str(KUBE_FILTER);
    }
    out.push_str("COMMIT\n*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n");
    if cfg.kube_rules {
        out.push_str(KUBE_NAT_CHAINS);
        out.push_str(KUBE_NAT_RULES);
    }
    let _ = write!(
        out,
        "-A POSTROUTING -s {} -o {} -m comment --comment \"cilium masquerade non-cluster\" -j MASQUERADE\nCOMMIT\n",
        cfg.pod_cidr_text(),
        cfg.node_if
    );
    out
}

/// A running `iptables-restore`, started early so it overlaps the netlink work.
pub(crate) struct Restore {
    child: Child,
    netns: String,
    watch: Option<GenWatch>,
    commits: usize,
}

/// Starts `iptables-restore` in the node netns and feeds it the rules.
pub(crate) fn start(cfg: &SandboxConfig, netns: &str) -> Result<Restore> {
    let mut cmd = Command::new("iptables-restore");
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .env("PATH", crate::roles::BASE_PATH);
    let path = tplab_netns::path_of(netns);
    // Subscribed before the spawn so no commit event can be missed; optional (fallback:
    // wait for the exit).
    let watch = GenWatch::open(&path).ok();
    let ns_file = tplab_netns::prepare_std_command(&mut cmd, &path)?;
    let spawn_err = |message: String| SandboxError::Iptables {
        netns: netns.to_string(),
        message,
    };
    let mut child = cmd
        .spawn()
        .map_err(|e| spawn_err(format!("cannot start iptables-restore: {e}")))?;
    drop(ns_file);
    let text = rules(cfg);
    let written = child
        .stdin
        .take()
        .map(|mut stdin| stdin.write_all(text.as_bytes()));
    if let Some(Err(e)) = written {
        let _ = child.kill();
        let _ = child.wait();
        return Err(spawn_err(format!("writing the rules: {e}")));
    }
    Ok(Restore {
        child,
        netns: netns.to_string(),
        watch,
        commits: text.lines().filter(|l| l.trim() == "COMMIT").count(),
    })
}

impl Restore {
    /// Waits for the rules to be committed: every `COMMIT` seen as an nftables generation
    /// from our child, or the child's exit, whichever comes first. A child still closing
    /// its sockets is reaped on a background thread.
    pub(crate) fn finish(mut self) -> Result<()> {
        if let Some(watch) = self.watch.take() {
            let pid = self.child.id();
            let mut seen = 0;
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
            loop {
                seen += watch.poll_commits(pid, 2);
                if seen >= self.commits {
                    let mut child = self.child;
                    // Closing sockets is slow (RCU); reap and close off the critical path.
                    std::thread::spawn(move || {
                        let _ = child.wait();
                        drop(watch);
                    });
                    return Ok(());
                }
                let running = matches!(self.child.try_wait(), Ok(None));
                if !running || std::time::Instant::now() >= deadline {
                    break;
                }
            }
        }
        let out = self
            .child
            .wait_with_output()
            .map_err(|e| SandboxError::io("waiting for iptables-restore", e))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(SandboxError::Iptables {
                netns: self.netns,
                message: format!(
                    "{}: {}",
                    out.status,
                    String::from_utf8_lossy(&out.stderr).trim()
                ),
            })
        }
    }

    /// Stops it (build failed elsewhere).
    pub(crate) fn abort(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
