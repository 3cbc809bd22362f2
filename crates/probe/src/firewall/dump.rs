//! The `nf_tables` dumps over a netfilter netlink socket. Chains and rules come from two
//! dumps, so a ruleset change between them (or during one: `NLM_F_DUMP_INTR`) would mix
//! two generations; the ruleset generation id is read around both and the pair retried
//! until it is stable.
//!
//! Only GET messages are sent, never `NFT_MSG_GETRULE_RESET` (it zeroes the counters).

use crate::error::ProbeError;

pub const SUBSYS_NFTABLES: u16 = 10;
pub const MSG_NEWCHAIN: u16 = 3;
const MSG_GETCHAIN: u16 = 4;
pub const MSG_NEWRULE: u16 = 6;
const MSG_GETRULE: u16 = 7;
const MSG_NEWGEN: u16 = 15;
const MSG_GETGEN: u16 = 16;
const NFTA_GEN_ID: u16 = 1;

const NLM_F_REQUEST: u16 = 1;
const NLM_F_ACK: u16 = 4;
const NLM_F_DUMP: u16 = 0x300;
const NLM_F_DUMP_INTR: u16 = 0x10;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
pub const HDR: usize = 16;

const ACTION: &str = "dumping nf_tables rules (needs CAP_NET_ADMIN)";
const ATTEMPTS: usize = 10;

/// Chain messages then rule messages of one generation of the ruleset.
pub fn consistent(netns: &str) -> Result<Vec<Vec<u8>>, ProbeError> {
    let mut sock = Sock::open(netns)?;
    for _ in 0..ATTEMPTS {
        let before = sock.generation()?;
        let (mut msgs, intr_chains) = sock.dump(MSG_GETCHAIN)?;
        let (rules, intr_rules) = sock.dump(MSG_GETRULE)?;
        let after = sock.generation()?;
        if !intr_chains && !intr_rules && before == after {
            msgs.extend(rules);
            return Ok(msgs);
        }
    }
    Err(decode_error(
        netns,
        "the ruleset kept changing during the dump",
    ))
}

struct Sock<'a> {
    nl: netlink_sys::Socket,
    netns: &'a str,
    seq: u32,
    buf: Vec<u8>,
}

/// One parsed netlink header plus its whole message.
struct Msg<'b> {
    kind: u16,
    flags: u16,
    seq: u32,
    whole: &'b [u8],
}

impl<'a> Sock<'a> {
    /// Must run on the thread that entered the netns: the socket binds to it for life.
    fn open(netns: &'a str) -> Result<Self, ProbeError> {
        let net = |e| ProbeError::netlink(netns, ACTION, None, e);
        let mut sock =
            netlink_sys::Socket::new(netlink_sys::protocols::NETLINK_NETFILTER).map_err(net)?;
        sock.bind_auto().map_err(net)?;
        sock.connect(&netlink_sys::SocketAddr::new(0, 0))
            .map_err(net)?;
        Ok(Sock {
            nl: sock,
            netns,
            seq: 0,
            buf: Vec::with_capacity(256 * 1024),
        })
    }

    fn send(&mut self, msg: u16, flags: u16) -> Result<u32, ProbeError> {
        self.seq = self.seq.wrapping_add(1);
        let mut req = Vec::with_capacity(HDR + 4);
        req.extend(20u32.to_ne_bytes());
        req.extend(((SUBSYS_NFTABLES << 8) | msg).to_ne_bytes());
        req.extend((NLM_F_REQUEST | flags).to_ne_bytes());
        req.extend(self.seq.to_ne_bytes());
        req.extend(0u32.to_ne_bytes());
        // nfgenmsg: NFPROTO_UNSPEC (every family), NFNETLINK_V0, res_id 0.
        req.extend([0u8, 0, 0, 0]);
        self.nl
            .send(&req, 0)
            .map_err(|e| ProbeError::netlink(self.netns, ACTION, None, e))?;
        Ok(self.seq)
    }

    /// Receives datagrams, handing each message of our sequence to `each` until it
    /// returns `true` (finished).
    fn recv_until(
        &mut self,
        seq: u32,
        mut each: impl FnMut(&Msg<'_>) -> Result<bool, ProbeError>,
    ) -> Result<(), ProbeError> {
        loop {
            self.buf.clear();
            let n = self
                .nl
                .recv(&mut self.buf, 0)
                .map_err(|e| ProbeError::netlink(self.netns, ACTION, None, e))?;
            if n == 0 {
                return Err(decode_error(
                    self.netns,
                    "the socket closed before the end of the dump",
                ));
            }
            let mut rest = self.buf.get(..n).unwrap_or_default();
            while !rest.is_empty() {
                let Some(msg) = header(rest) else {
                    return Err(decode_error(self.netns, "truncated netlink message"));
                };
                let len = msg.whole.len();
                if msg.seq == seq && each(&msg)? {
                    return Ok(());
                }
                rest = rest.get(((len + 3) & !3)..).unwrap_or_default();
            }
        }
    }

    /// One dump: the reply messages and whether the kernel flagged it interrupted.
    fn dump(&mut self, msg: u16) -> Result<(Vec<Vec<u8>>, bool), ProbeError> {
        let seq = self.send(msg, NLM_F_DUMP)?;
        let netns = self.netns;
        let mut out = Vec::new();
        let mut interrupted = false;
        self.recv_until(seq, |m| {
            interrupted |= m.flags & NLM_F_DUMP_INTR != 0;
            match m.kind {
                NLMSG_DONE => Ok(true),
                NLMSG_ERROR => error_code(netns, m).map(|()| true),
                _ => {
                    out.push(m.whole.to_vec());
                    Ok(false)
                }
            }
        })?;
        Ok((out, interrupted))
    }

    /// The ruleset generation id (bumped by every committed change).
    fn generation(&mut self) -> Result<u32, ProbeError> {
        let seq = self.send(MSG_GETGEN, NLM_F_ACK)?;
        let netns = self.netns;
        let mut id = None;
        self.recv_until(seq, |m| match m.kind {
            NLMSG_ERROR => error_code(netns, m).map(|()| true),
            k if k == (SUBSYS_NFTABLES << 8) | MSG_NEWGEN => {
                let attrs = m.whole.get(HDR + 4..).unwrap_or_default();
                id = crate::ctparse::attrs(attrs)
                    .find(|(k, _)| *k == NFTA_GEN_ID)
                    .and_then(|(_, v)| Some(u32::from_be_bytes(v.get(..4)?.try_into().ok()?)));
                Ok(false)
            }
            _ => Ok(false),
        })?;
        id.ok_or_else(|| decode_error(netns, "no ruleset generation id in the reply"))
    }
}

fn header(buf: &[u8]) -> Option<Msg<'_>> {
    let len = usize::try_from(u32::from_ne_bytes(buf.get(..4)?.try_into().ok()?)).ok()?;
    if len < HDR {
        return None;
    }
    Some(Msg {
        kind: u16::from_ne_bytes(buf.get(4..6)?.try_into().ok()?),
        flags: u16::from_ne_bytes(buf.get(6..8)?.try_into().ok()?),
        seq: u32::from_ne_bytes(buf.get(8..12)?.try_into().ok()?),
        whole: buf.get(..len)?,
    })
}

/// `NLMSG_ERROR`: 0 is an ACK, a negative errno a failure.
fn error_code(netns: &str, m: &Msg<'_>) -> Result<(), ProbeError> {
    let code = m
        .whole
        .get(HDR..HDR + 4)
        .and_then(|b| b.try_into().ok())
        .map_or(0, i32::from_ne_bytes);
    if code == 0 {
        return Ok(());
    }
    let e = std::io::Error::from_raw_os_error(-code);
    Err(match -code {
        libc::EOPNOTSUPP | libc::EPROTONOSUPPORT => ProbeError::FirewallUnavailable {
            netns: netns.to_string(),
            source: e,
        },
        _ => ProbeError::netlink(netns, ACTION, None, e),
    })
}

fn decode_error(netns: &str, detail: &str) -> ProbeError {
    ProbeError::Decode {
        netns: netns.to_string(),
        action: ACTION.into(),
        detail: detail.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nlmsgerr(errno: i32) -> Vec<u8> {
        let mut m = 36u32.to_ne_bytes().to_vec();
        m.extend(NLMSG_ERROR.to_ne_bytes());
        m.extend(0u16.to_ne_bytes());
        m.extend(1u32.to_ne_bytes());
        m.extend(0u32.to_ne_bytes());
        m.extend((-errno).to_ne_bytes());
        m.extend([0; 16]); // the echoed request header
        m
    }

    #[test]
    fn kernel_errors_keep_their_meaning() {
        let eperm = nlmsgerr(libc::EPERM);
        let e = error_code("ns1", &header(&eperm).unwrap()).unwrap_err();
        assert!(matches!(e, ProbeError::Permission { .. }), "{e:?}");
        assert!(e.to_string().contains("CAP_NET_ADMIN"), "{e}");
        let nosupp = nlmsgerr(libc::EOPNOTSUPP);
        let e = error_code("ns1", &header(&nosupp).unwrap()).unwrap_err();
        assert!(matches!(e, ProbeError::FirewallUnavailable { .. }), "{e:?}");
        assert!(std::error::Error::source(&e).is_some(), "source kept");
        assert!(error_code("ns1", &header(&nlmsgerr(0)).unwrap()).is_ok());
    }

    #[test]
    fn bad_headers_are_rejected() {
        let m = nlmsgerr(libc::EPERM);
        for cut in 0..HDR {
            assert!(header(&m[..cut]).is_none());
        }
        let mut lying = m.clone();
        lying[..4].copy_from_slice(&1000u32.to_ne_bytes());
        assert!(header(&lying).is_none());
        lying[..4].copy_from_slice(&3u32.to_ne_bytes());
        assert!(header(&lying).is_none());
        let h = header(&m).unwrap();
        assert_eq!((h.kind, h.seq, h.whole.len()), (NLMSG_ERROR, 1, 36));
    }
}
