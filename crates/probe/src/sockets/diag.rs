//! The `sock_diag` dump (`NETLINK_SOCK_DIAG`, what `ss` reads): one `inet_diag` request
//! per family and protocol, on a netlink socket opened by the calling thread, so in
//! its network namespace. Messages are the rust-netlink `netlink-packet-sock-diag` types.

use netlink_packet_core::{
    NLM_F_DUMP, NLM_F_REQUEST, NetlinkHeader, NetlinkMessage, NetlinkPayload,
};
use netlink_packet_sock_diag::SockDiagMessage;
use netlink_packet_sock_diag::constants::{AF_INET, AF_INET6, IPPROTO_TCP, IPPROTO_UDP};
use netlink_packet_sock_diag::inet::{
    ExtensionFlags, InetRequest, InetResponse, SocketId, StateFlags,
};
use netlink_sys::{Socket as NlSocket, SocketAddr, protocols::NETLINK_SOCK_DIAG};

use super::Socket;
use crate::error::ProbeError;
use crate::links::Link;
use crate::session::name_of;

const ACTION: &str = "dumping sockets (sock_diag)";

/// Every TCP and UDP socket (IPv4 and IPv6) of the calling thread's namespace.
pub(super) fn dump(netns: &str, links: &[Link]) -> Result<Vec<Socket>, ProbeError> {
    let net = |e| ProbeError::netlink(netns, ACTION, None, e);
    let mut sock = NlSocket::new(NETLINK_SOCK_DIAG).map_err(net)?;
    sock.bind_auto().map_err(net)?;
    sock.connect(&SocketAddr::new(0, 0)).map_err(net)?;
    let mut out = Vec::new();
    let mut seq = 0;
    for family in [AF_INET, AF_INET6] {
        for protocol in [IPPROTO_TCP, IPPROTO_UDP] {
            seq += 1;
            request(&sock, seq, family, protocol).map_err(net)?;
            for r in responses(netns, &sock)? {
                out.push(record(protocol, &r, links));
            }
        }
    }
    Ok(out)
}

fn request(sock: &NlSocket, seq: u32, family: u8, protocol: u8) -> std::io::Result<()> {
    let mut header = NetlinkHeader::default();
    header.flags = NLM_F_REQUEST | NLM_F_DUMP;
    header.sequence_number = seq;
    let socket_id = if family == AF_INET6 {
        SocketId::new_v6()
    } else {
        SocketId::new_v4()
    };
    let mut packet = NetlinkMessage::new(
        header,
        SockDiagMessage::InetRequest(InetRequest {
            family,
            protocol,
            extensions: ExtensionFlags::empty(),
            states: StateFlags::all(),
            socket_id,
        })
        .into(),
    );
    packet.finalize();
    let mut buf = vec![0; packet.buffer_len()];
    packet.serialize(&mut buf);
    sock.send(&buf, 0).map(|_| ())
}

/// Reads the answers to one dump request until `NLMSG_DONE`.
fn responses(netns: &str, sock: &NlSocket) -> Result<Vec<InetResponse>, ProbeError> {
    let decode = |detail: String| ProbeError::Decode {
        netns: netns.to_string(),
        action: ACTION.into(),
        detail,
    };
    let mut out = Vec::new();
    let mut buf: Vec<u8> = Vec::with_capacity(64 * 1024);
    loop {
        buf.clear();
        let n = sock
            .recv(&mut buf, 0)
            .map_err(|e| ProbeError::netlink(netns, ACTION, None, e))?;
        if n == 0 {
            return Err(decode(
                "the socket closed before the end of the dump".into(),
            ));
        }
        let mut rest = buf.get(..n).unwrap_or_default();
        while !rest.is_empty() {
            let msg = NetlinkMessage::<SockDiagMessage>::deserialize(rest)
                .map_err(|e| decode(e.to_string()))?;
            let len = msg.header.length as usize;
            match msg.payload {
                NetlinkPayload::Done(_) => return Ok(out),
                NetlinkPayload::Error(e) => {
                    let source = e.to_io();
                    return Err(ProbeError::netlink(netns, ACTION, None, source));
                }
                NetlinkPayload::InnerMessage(SockDiagMessage::InetResponse(r)) => out.push(*r),
                _ => {}
            }
            if len == 0 {
                break;
            }
            rest = rest.get(((len + 3) & !3)..).unwrap_or_default();
        }
    }
}

/// The kernel's TCP states (`include/net/tcp_states.h`) by number.
fn state_name(proto: u8, state: u8) -> String {
    let name = match state {
        1 => "ESTABLISHED",
        2 => "SYN_SENT",
        3 | 12 => "SYN_RECV",
        4 => "FIN_WAIT1",
        5 => "FIN_WAIT2",
        6 => "TIME_WAIT",
        // A UDP socket is "closed" until connected: `ss` says unconnected.
        7 if proto == IPPROTO_UDP => "UNCONN",
        7 => "CLOSE",
        8 => "CLOSE_WAIT",
        9 => "LAST_ACK",
        10 => "LISTEN",
        11 => "CLOSING",
        other => return other.to_string(),
    };
    name.into()
}

fn record(protocol: u8, r: &InetResponse, links: &[Link]) -> Socket {
    let h = &r.header;
    let id = &h.socket_id;
    Socket {
        proto: if protocol == IPPROTO_TCP {
            "tcp"
        } else {
            "udp"
        }
        .into(),
        family: if h.family == AF_INET6 {
            "inet6"
        } else {
            "inet"
        }
        .into(),
        state: state_name(protocol, h.state),
        local_address: id.source_address.to_string(),
        local_port: id.source_port,
        remote_address: id.destination_address.to_string(),
        remote_port: id.destination_port,
        dev: (id.interface_id != 0).then(|| name_of(links, id.interface_id)),
        inode: h.inode,
        uid: h.uid,
        process: Vec::new(),
        pid: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn udp_close_is_unconnected_as_ss_says() {
        assert_eq!(state_name(IPPROTO_UDP, 7), "UNCONN");
        assert_eq!(state_name(IPPROTO_TCP, 7), "CLOSE");
        assert_eq!(state_name(IPPROTO_TCP, 10), "LISTEN");
        assert_eq!(state_name(IPPROTO_TCP, 99), "99");
    }

    #[test]
    fn dumps_an_own_listener_in_the_current_namespace() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let all = dump("test", &[]).unwrap();
        let mine = all
            .iter()
            .find(|s| s.proto == "tcp" && s.local_port == port)
            .unwrap_or_else(|| panic!("port {port} not in {all:?}"));
        assert_eq!(mine.state, "LISTEN");
        assert_eq!(mine.local_address, "127.0.0.1");
        assert_eq!(mine.family, "inet");
    }
}
