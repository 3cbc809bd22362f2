//! The `cilium-agent` container's log, written from the sandbox's state in the agent's
//! own format: logrus' text formatter as Cilium 1.14–1.17 configures it (`time="…"` in
//! RFC 3339 with nanoseconds, `level`, `msg`, then the fields sorted by key, values
//! quoted only when they hold other characters than `[A-Za-z0-9-._/@^+]`). The messages
//! are the agent's (`Addressing information:`, `Program … attached to device … using
//! legacy tc`, `Successful endpoint creation`, …); the values are this sandbox's: its
//! config (the `cilium-config` data), node name and addresses, pod CIDR, each endpoint's
//! id, identity, IPv4 and lxc interface, and the datapath programs on it.

use std::fmt::Write as _;

use chrono::{DateTime, Duration, Utc};

use crate::objects::{self, Source};

/// One line of the log: when it was written, and its text (without the kubelet's
/// timestamp prefix).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub at: DateTime<Utc>,
    pub text: String,
}

fn needs_quoting(v: &str) -> bool {
    !v.chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '/' | '@' | '^' | '+'))
}

/// A value as logrus writes it: bare, or Go-quoted (`%q`).
fn value(v: &str) -> String {
    if v.is_empty() || !needs_quoting(v) {
        return v.to_string();
    }
    let mut out = String::with_capacity(v.len() + 2);
    out.push('"');
    for c in v.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Go's `time.RFC3339Nano`: trailing zeros of the fraction dropped.
pub fn rfc3339_nano(t: DateTime<Utc>) -> String {
    let base = t.format("%Y-%m-%dT%H:%M:%S").to_string();
    let nanos = t.timestamp_subsec_nanos();
    if nanos == 0 {
        return format!("{base}Z");
    }
    let frac = format!("{nanos:09}");
    format!("{base}.{}Z", frac.trim_end_matches('0'))
}

/// One logrus line: `time="…" level=info msg="…" k=v …` (fields sorted by key).
pub fn logfmt(at: DateTime<Utc>, level: &str, msg: &str, fields: &[(&str, String)]) -> String {
    let mut sorted: Vec<&(&str, String)> = fields.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    let mut line = format!(
        "time={} level={level} msg={}",
        value(&rfc3339_nano(at)),
        value(msg)
    );
    for (k, v) in sorted {
        line.push(' ');
        line.push_str(k);
        line.push('=');
        line.push_str(&value(v));
    }
    line
}

/// Builds the lines one after the other, a little later each time.
struct Writer {
    at: DateTime<Utc>,
    step: u32,
    lines: Vec<Line>,
}

impl Writer {
    fn info(&mut self, subsys: &str, msg: &str, fields: &[(&str, String)]) {
        self.step += 1;
        // Sub-millisecond steps that vary, so lines are ordered and look logged.
        self.at += Duration::microseconds(i64::from(180 + (self.step * 7919) % 1700));
        let mut all: Vec<(&str, String)> = fields.to_vec();
        all.push(("subsys", subsys.to_string()));
        self.lines.push(Line {
            at: self.at,
            text: logfmt(self.at, "info", msg, &all),
        });
    }

    fn pause(&mut self, millis: i64) {
        self.at += Duration::milliseconds(millis);
    }
}

#[allow(clippy::needless_pass_by_value)] // called with owned and Copy values alike
fn s(v: impl ToString) -> String {
    v.to_string()
}

/// The Cilium version the agent pod's image names (`quay.io/cilium/cilium:v1.16.5`).
fn cilium_version() -> String {
    objects::CILIUM_IMAGE
        .rsplit_once(":v")
        .map_or_else(|| "unknown".to_string(), |(_, v)| v.to_string())
}

fn memory_bytes() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

/// Startup: flags, banner, node addressing, datapath setup.
fn startup(w: &mut Writer, src: &Source<'_>) {
    let cfg = &src.state.config;
    let config = objects::config_data(&src.state.id);
    let mem = memory_bytes();
    w.info(
        "config",
        &format!(
            "Memory available for map entries (0.003% of {mem}B): {}B",
            mem * 3 / 100_000
        ),
        &[],
    );
    // Every flag with its value, sorted, as the agent prints its configuration.
    let mut flags: Vec<(String, String)> = config.clone().into_iter().collect();
    flags.push(("config-dir".into(), "/tmp/cilium/config-map".into()));
    flags.push(("k8s-api-server".into(), src.identity.server.clone()));
    flags.sort();
    flags.dedup_by(|a, b| a.0 == b.0);
    for (k, v) in &flags {
        w.info("daemon", &format!("  --{k}='{v}'"), &[]);
    }
    for art in [
        "     _ _ _",
        " ___|_| |_|_ _ _____",
        "|  _| | | | | |     |",
        "|___|_|_|_|___|_|_|_|",
    ] {
        w.info("daemon", art, &[]);
    }
    w.info(
        "daemon",
        &format!(
            "Cilium {} tplab-sandbox {} linux/{}",
            cilium_version(),
            env!("CARGO_PKG_VERSION"),
            std::env::consts::ARCH
        ),
        &[],
    );
    w.info("bpf", "Detected mounted BPF filesystem at /sys/fs/bpf", &[]);
    w.pause(40);
    w.info(
        "k8s-client",
        "Establishing connection to apiserver",
        &[("host", src.identity.server.clone())],
    );
    w.info("k8s-client", "Connected to apiserver", &[]);
    let node_ip = s(cfg.node_ip);
    let node = src.identity.node_name.clone();
    w.info(
        "mtu",
        "Inheriting MTU from external network interface",
        &[
            ("device", cfg.node_if.clone()),
            ("ipAddr", node_ip.clone()),
            ("mtu", s(cfg.mtu)),
        ],
    );
    w.info(
        "daemon",
        "Received own node information from API server",
        &[
            ("ipAddr.ipv4", node_ip.clone()),
            ("ipAddr.ipv6", "<nil>".into()),
            ("k8sNodeIP", node_ip.clone()),
            ("nodeName", node.clone()),
            ("v4Prefix", src.node_pod_cidr()),
            ("v6Prefix", "<nil>".into()),
        ],
    );
    let get = |k: &str| config.get(k).cloned().unwrap_or_default();
    w.info("daemon", "Addressing information:", &[]);
    w.info(
        "daemon",
        &format!("  Cluster-Name: {}", get("cluster-name")),
        &[],
    );
    w.info(
        "daemon",
        &format!("  Cluster-ID: {}", get("cluster-id")),
        &[],
    );
    w.info("daemon", &format!("  Local node-name: {node}"), &[]);
    w.info("daemon", "  Node-IPv6: <nil>", &[]);
    w.info("daemon", &format!("  External-Node IPv4: {node_ip}"), &[]);
    w.info(
        "daemon",
        &format!("  Internal-Node IPv4: {}", cfg.gateway_ip),
        &[],
    );
    w.info(
        "daemon",
        &format!("  IPv4 allocation prefix: {}", src.node_pod_cidr()),
        &[],
    );
    let native = get("ipv4-native-routing-cidr");
    if !native.is_empty() {
        w.info(
            "daemon",
            &format!("  IPv4 native routing prefix: {native}"),
            &[],
        );
    }
    w.info("daemon", "  Local IPv4 addresses:", &[]);
    w.info("daemon", &format!("  - {node_ip}"), &[]);
    w.info("daemon", &format!("  - {}", cfg.gateway_ip), &[]);
    w.pause(25);
    w.info(
        "datapath-loader",
        "Setting up BPF datapath",
        &[
            ("bpfClockSource", "ktime".into()),
            ("bpfInsnSet", "<nil>".into()),
        ],
    );
    w.info("iptables", "Iptables rules installed", &[]);
}

/// The programs the kernel has on `lxc` in the node netns, as the loader logs them:
/// (program name, `legacy tc` or `tcx`), ingress first. Read from the kernel (netlink
/// and `BPF_PROG_QUERY`), so the log names what is attached, however it is attached.
fn attached(src: &Source<'_>, lxc: &str) -> Vec<(String, &'static str)> {
    let node = std::path::PathBuf::from(format!("/run/netns/{}", src.state.node_netns));
    let Ok(facts) = tplab_probe::collect_many_sync(Some(&node), &[tplab_probe::FactKind::Bpf])
    else {
        return Vec::new();
    };
    let mut progs: Vec<tplab_probe::BpfProgram> = facts
        .into_iter()
        .filter_map(|f| match f {
            tplab_probe::Facts::Bpf(v) => Some(v),
            _ => None,
        })
        .flatten()
        .filter(|p| p.dev == lxc)
        .collect();
    progs.sort_by_key(|p| (p.direction != "ingress", p.order));
    progs
        .into_iter()
        .map(|p| {
            let mode = if p.attach == "tcx" {
                "tcx"
            } else {
                "legacy tc"
            };
            (p.prog_name.unwrap_or(p.name), mode)
        })
        .collect()
}

/// The endpoint id and security identity of pod `index` (the first pod has the
/// numbers the agent role's `cilium` commands print).
fn endpoint_numbers(src: &Source<'_>, index: usize, name: &str) -> (u16, u32) {
    let base = tplab_ebpf::CiliumCtx::new(
        std::path::PathBuf::new(),
        std::path::PathBuf::new(),
        String::new(),
        std::net::Ipv4Addr::UNSPECIFIED,
    );
    if index == 0 {
        return (base.endpoint_id, base.identity);
    }
    let h = src.identity.uid(&format!("endpoint/{name}"));
    let n = u32::from_str_radix(&h[..6], 16).unwrap_or(0);
    (
        u16::try_from(1 + n % 4094).unwrap_or(1),
        10_000 + (n >> 4) % 50_000,
    )
}

fn endpoint(w: &mut Writer, src: &Source<'_>, index: usize, pod: &tplab_sandbox::PodState) {
    let (ep, identity) = endpoint_numbers(src, index, &pod.name);
    let k8s = format!("default/{}", pod.name);
    let cid = src
        .identity
        .container_id(&format!("pod/default/{}", pod.name));
    let short: String = cid
        .trim_start_matches("containerd://")
        .chars()
        .take(10)
        .collect();
    let ip = s(pod.ip);
    let labels = format!(
        "k8s:io.kubernetes.pod.namespace=default,k8s:run={}",
        pod.name
    );
    let common = |rev: (u32, u32)| {
        vec![
            ("ciliumEndpointName", k8s.clone()),
            ("containerID", short.clone()),
            ("containerInterface", pod.if_name.clone()),
            ("datapathPolicyRevision", s(rev.0)),
            ("desiredPolicyRevision", s(rev.1)),
            ("endpointID", s(ep)),
            ("ipv4", ip.clone()),
            ("ipv6", String::new()),
            ("k8sPodName", k8s.clone()),
        ]
    };
    w.pause(120);
    w.info(
        "daemon",
        "Create endpoint request",
        &[
            ("addressing", format!("&{{{ip}  }}")),
            ("containerID", s(cid.trim_start_matches("containerd://"))),
            ("containerInterface", pod.if_name.clone()),
            ("interface", pod.lxc_name.clone()),
            ("k8sPodName", k8s.clone()),
            ("labels", "[]".into()),
            ("sync-build", "true".into()),
        ],
    );
    w.info("endpoint", "New endpoint", &common((0, 0)));
    let mut f = common((0, 0));
    f.push(("identityLabels", labels.clone()));
    w.info("endpoint", "Resolving identity labels (blocking)", &f);
    let mut f = common((0, 0));
    f.push(("identity", s(identity)));
    f.push(("identityLabels", labels));
    f.push(("oldIdentity", "no identity".into()));
    w.info("endpoint", "Identity of endpoint changed", &f);
    let mut f = common((0, 0));
    f.push(("identity", s(identity)));
    w.info("daemon", "Waiting for endpoint to be generated", &f);
    w.pause(60);
    for (p, mode) in attached(src, &pod.lxc_name) {
        w.info(
            "datapath-loader",
            &format!(
                "Program {p} attached to device {} using {mode}",
                pod.lxc_name
            ),
            &[],
        );
    }
    let mut f = common((0, 1));
    f.push(("identity", s(identity)));
    w.info("endpoint", "Rewrote endpoint BPF program", &f);
    let mut f = common((1, 1));
    f.push(("identity", s(identity)));
    w.info("daemon", "Successful endpoint creation", &f);
}

/// The `config` init container's log (`cilium-dbg build-config`): it reads the
/// `cilium-config` map and writes its pairs to `/tmp/cilium/config-map`.
pub fn build_config_lines(src: &Source<'_>) -> Vec<Line> {
    let mut w = Writer {
        at: src.state.created_at - Duration::seconds(2),
        step: 0,
        lines: Vec::new(),
    };
    let pairs = objects::config_data(&src.state.id).len();
    let source = format!("config-map:{}/cilium-config", objects::CILIUM_NAMESPACE);
    w.info("hive", "Starting", &[]);
    w.info(
        "k8s-client",
        "Establishing connection to apiserver",
        &[("host", src.identity.server.clone())],
    );
    w.info("k8s-client", "Connected to apiserver", &[]);
    w.info(
        "option-resolver",
        &format!("Reading configuration from {source}"),
        &[("configSource", source.clone())],
    );
    w.info(
        "option-resolver",
        &format!("Got {pairs} config pairs from source"),
        &[("configSource", source)],
    );
    w.info("hive", "Stopping", &[]);
    w.lines
}

/// The agent's whole log now (it grows as pods are added).
pub fn lines(src: &Source<'_>) -> Vec<Line> {
    let mut w = Writer {
        at: src.state.created_at,
        step: 0,
        lines: Vec::new(),
    };
    startup(&mut w, src);
    w.info(
        "daemon",
        "Daemon initialization completed",
        &[("bootstrapTime", "1.203417529s".into())],
    );
    for (i, pod) in src.state.pods.iter().enumerate() {
        endpoint(&mut w, src, i, pod);
    }
    w.lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::objects::fixture;

    #[test]
    fn logrus_quoting_and_order() {
        let t = DateTime::parse_from_rfc3339("2024-09-20T14:19:13.807794508Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            logfmt(
                t,
                "info",
                "Program cil_from_host attached to device cilium_host using legacy tc",
                &[
                    ("subsys", "datapath-loader".into()),
                    ("ipv6", String::new())
                ]
            ),
            "time=\"2024-09-20T14:19:13.807794508Z\" level=info msg=\"Program cil_from_host attached to device cilium_host using legacy tc\" ipv6= subsys=datapath-loader"
        );
        assert_eq!(value("<nil>"), "\"<nil>\"");
        assert_eq!(value("10.244.0.0/16"), "10.244.0.0/16");
        let t2 = DateTime::parse_from_rfc3339("2024-09-20T14:19:13.5Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(rfc3339_nano(t2), "2024-09-20T14:19:13.5Z");
    }

    #[test]
    fn states_the_sandboxs_facts() {
        let (st, id) = (fixture::state(), fixture::identity());
        let src = Source {
            state: &st,
            identity: &id,
            port: 6443,
            created: &[],
        };
        let text: Vec<String> = lines(&src).into_iter().map(|l| l.text).collect();
        let all = text.join("\n");
        for want in [
            "endpointID=762",
            "ipv4=10.244.0.213",
            "interface=lxcf4cd39e34601",
            &format!("  Local node-name: {}", id.node_name),
            "  --enable-bpf-masquerade='false'",
            "  --config-dir='/tmp/cilium/config-map'",
            "IPv4 allocation prefix: 10.244.0.128/25",
            "identity=42837",
        ] {
            assert!(all.contains(want), "{want} missing from\n{all}");
        }
        assert!(
            text.iter()
                .all(|l| l.starts_with("time=\"") && l.ends_with(|c: char| c != ' '))
        );
        let pairs = objects::config_data(&st.id).len();
        let init = build_config_lines(&src);
        assert!(
            init.iter().any(|l| l.text.contains(&format!("msg=\"Got {pairs} config pairs from source\" configSource=\"config-map:kube-system/cilium-config\""))),
            "{init:?}"
        );
        let times: Vec<_> = lines(&src).into_iter().map(|l| l.at).collect();
        assert!(times.windows(2).all(|w| w[0] < w[1]));
    }
}
