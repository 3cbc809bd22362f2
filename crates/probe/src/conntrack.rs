//! Conntrack entries of the namespace, dumped over ctnetlink (`conntrack -L`).

use serde::{Deserialize, Serialize};

use crate::error::ProbeError;
use crate::{ctparse, ctproc};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConntrackEntry {
    /// `ipv4` or `ipv6`.
    pub family: String,
    /// `tcp`, `udp`, `icmp`... (the number when unnamed).
    pub proto: String,
    pub src: String,
    pub dst: String,
    pub sport: Option<u16>,
    pub dport: Option<u16>,
    pub icmp_type: Option<u8>,
    pub icmp_code: Option<u8>,
    pub icmp_id: Option<u16>,
    pub reply_src: String,
    /// After SNAT/MASQUERADE: the translated source (e.g. the node's IP).
    pub reply_dst: String,
    pub reply_sport: Option<u16>,
    pub reply_dport: Option<u16>,
    pub reply_icmp_type: Option<u8>,
    pub reply_icmp_id: Option<u16>,
    /// TCP state (`ESTABLISHED`, `TIME_WAIT`...); absent for other protocols.
    pub state: Option<String>,
    pub snat: bool,
    pub dnat: bool,
    pub assured: bool,
    pub seen_reply: bool,
    /// `IPS_*` status bits set (from procfs: derived from the tuples and flags).
    pub status: Vec<String>,
    pub mark: u32,
    pub zone: u16,
    /// Seconds left.
    pub timeout: Option<u32>,
    /// Kernel conntrack id (only known when read over ctnetlink).
    pub id: Option<u32>,
}

const NFNL_SUBSYS_CTNETLINK: u16 = 1;
const IPCTNL_MSG_CT_GET: u16 = 1;
const NLM_F_REQUEST: u16 = 1;
const NLM_F_DUMP: u16 = 0x300;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const HDR: usize = 16;

/// Where conntrack entries are read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConntrackSource {
    /// procfs when the kernel exposes it (fast), else ctnetlink.
    #[default]
    Auto,
    /// `/proc/thread-self/net/nf_conntrack` only.
    Procfs,
    /// A ctnetlink dump only (exact status bits and ids).
    Netlink,
}

/// Conntrack entries (all families) of the calling thread's netns.
pub fn collect(netns: &str, source: ConntrackSource) -> Result<Vec<ConntrackEntry>, ProbeError> {
    if source != ConntrackSource::Netlink {
        match std::fs::read_to_string(ctproc::PATH) {
            Ok(text) => return Ok(ctproc::parse(&text)),
            Err(e)
                if source == ConntrackSource::Procfs
                    || e.kind() == std::io::ErrorKind::PermissionDenied =>
            {
                return Err(ct_error(netns, e));
            }
            // No procfs view (CONFIG_NF_CONNTRACK_PROCFS=n, module not loaded): ask netlink.
            Err(_) => {}
        }
    }
    dump(netns)
}

/// Dumps every conntrack entry over ctnetlink.
fn dump(netns: &str) -> Result<Vec<ConntrackEntry>, ProbeError> {
    let action = "dumping conntrack";
    let net = |e| ProbeError::netlink(netns, action, None, e);
    let mut sock =
        netlink_sys::Socket::new(netlink_sys::protocols::NETLINK_NETFILTER).map_err(net)?;
    sock.bind_auto().map_err(net)?;
    sock.connect(&netlink_sys::SocketAddr::new(0, 0))
        .map_err(net)?;

    let seq: u32 = 1;
    let mut req = Vec::with_capacity(HDR + 4);
    req.extend(u32::try_from(HDR + 4).unwrap_or(20).to_ne_bytes());
    req.extend(((NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET).to_ne_bytes());
    req.extend((NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
    req.extend(seq.to_ne_bytes());
    req.extend(0u32.to_ne_bytes());
    // nfgenmsg: AF_UNSPEC (every family), NFNETLINK_V0, res_id 0.
    req.extend([0u8, 0, 0, 0]);
    sock.send(&req, 0).map_err(net)?;

    let mut out = Vec::new();
    let mut buf: Vec<u8> = Vec::with_capacity(256 * 1024);
    loop {
        buf.clear();
        let n = sock.recv(&mut buf, 0).map_err(net)?;
        if n == 0 {
            return Err(decode(
                netns,
                "the socket closed before the end of the dump",
            ));
        }
        let mut rest = &buf[..n];
        while rest.len() >= HDR {
            let len = u32::from_ne_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
            let kind = u16::from_ne_bytes([rest[4], rest[5]]);
            if len < HDR || len > rest.len() {
                return Err(decode(netns, "truncated netlink message"));
            }
            let payload = &rest[HDR..len];
            match kind {
                NLMSG_DONE => return Ok(out),
                NLMSG_ERROR => {
                    let code = payload
                        .get(..4)
                        .map_or(0, |b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]));
                    if code == 0 {
                        return Ok(out);
                    }
                    return Err(ct_error(netns, std::io::Error::from_raw_os_error(-code)));
                }
                _ if kind >> 8 == NFNL_SUBSYS_CTNETLINK && payload.len() >= 4 => {
                    if let Some(e) = ctparse::entry(payload[0], &payload[4..]) {
                        out.push(e);
                    }
                }
                _ => {}
            }
            rest = rest.get(((len + 3) & !3)..).unwrap_or_default();
        }
    }
}

fn decode(netns: &str, detail: &str) -> ProbeError {
    ProbeError::Decode {
        netns: netns.to_string(),
        action: "dumping conntrack".into(),
        detail: detail.into(),
    }
}

fn ct_error(netns: &str, e: std::io::Error) -> ProbeError {
    match e.raw_os_error() {
        Some(libc::EOPNOTSUPP | libc::EPROTONOSUPPORT | libc::ENOENT) => {
            ProbeError::ConntrackUnavailable {
                netns: netns.to_string(),
                source: e,
            }
        }
        _ => ProbeError::netlink(netns, "dumping conntrack", None, e),
    }
}

/// The `conntrack` collector of the kind table (`kinds.rs`).
#[allow(clippy::unused_async, reason = "the kind table's collectors are async")]
pub(crate) async fn collect_for(
    s: &mut crate::session::Session,
    _query: Option<&crate::query::ConntrackQuery>,
) -> Result<Vec<ConntrackEntry>, ProbeError> {
    collect(&s.netns, ConntrackSource::Auto)
}
