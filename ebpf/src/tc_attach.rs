//! Legacy tc filter creation over netlink, like `tc filter add dev X ingress pref 1 handle 1
//! bpf da fd N name NAME`. aya would name the filter after the program; we name it as
//! Cilium 1.16's loader does (`<program>-<device>`, e.g. `cil_from_container-lxc…`).

use std::os::fd::RawFd;

use futures::StreamExt;
use netlink_packet_core::{
    NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST, NetlinkMessage, NetlinkPayload,
};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::tc::{
    TcAttribute, TcBpfFlags, TcFilterBpfOption, TcHandle, TcMessage, TcOption,
};

/// `ETH_P_ALL` in network order, as `tc ... protocol all` sends it.
const PROTO_ALL_BE: u16 = 0x0003u16.to_be();

/// Adds a direct-action bpf filter (`pref 1 handle 0x1`) on the clsact hook of `ifindex`.
pub(crate) async fn add_bpf_filter(
    ifindex: u32,
    egress: bool,
    prog_fd: RawFd,
    name: &str,
) -> Result<(), String> {
    let (conn, mut handle, _) = rtnetlink::new_connection().map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    let mut msg = TcMessage::with_index(i32::try_from(ifindex).map_err(|e| e.to_string())?);
    msg.header.parent = TcHandle {
        major: 0xffff,
        minor: if egress {
            TcHandle::MIN_EGRESS
        } else {
            TcHandle::MIN_INGRESS
        },
    };
    msg.header.handle = TcHandle { major: 0, minor: 1 };
    msg.header.info = u32::from(TcHandle {
        major: 1,
        minor: PROTO_ALL_BE,
    });
    msg.attributes.push(TcAttribute::Kind("bpf".into()));
    msg.attributes.push(TcAttribute::Options(vec![
        TcOption::Bpf(TcFilterBpfOption::ProgFd(
            u32::try_from(prog_fd).map_err(|e| e.to_string())?,
        )),
        TcOption::Bpf(TcFilterBpfOption::ProgName(name.to_string())),
        TcOption::Bpf(TcFilterBpfOption::Flags(TcBpfFlags::DirectAction)),
    ]));
    let mut req = NetlinkMessage::from(RouteNetlinkMessage::NewTrafficFilter(msg));
    req.header.flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
    let mut resp = handle.request(req).map_err(|e| e.to_string())?;
    while let Some(m) = resp.next().await {
        if let NetlinkPayload::Error(e) = m.payload
            && e.code.is_some()
        {
            return Err(std::io::Error::from(e).to_string());
        }
    }
    Ok(())
}
