//! Legacy tc `bpf` filters on the clsact hooks, from the netlink filter dump.

use futures::TryStreamExt;
use netlink_packet_route::tc::{TcAttribute, TcFilterBpfOption, TcMessage, TcOption};

use crate::bpf::{BpfProgram, tag_hex};
use crate::error::ProbeError;
use crate::session::Session;

pub async fn collect(
    s: &mut Session,
    ifindex: u32,
    dev: &str,
) -> Result<Vec<BpfProgram>, ProbeError> {
    let mut out = Vec::new();
    let Ok(index) = i32::try_from(ifindex) else {
        return Ok(out);
    };
    for direction in ["ingress", "egress"] {
        let mut req = s.handle.traffic_filter(index).get();
        req = if direction == "ingress" {
            req.ingress()
        } else {
            req.egress()
        };
        let msgs: Vec<TcMessage> = match req.execute().try_collect().await {
            Ok(m) => m,
            // No clsact/ingress qdisc on this link: nothing attached (not a failure).
            Err(rtnetlink::Error::NetlinkError(e))
                if matches!(e.raw_code().abs(), libc::EINVAL | libc::ENOENT) =>
            {
                Vec::new()
            }
            Err(e) => {
                return Err(ProbeError::rtnl(
                    &s.netns,
                    "dumping tc filters",
                    Some(dev),
                    e,
                ));
            }
        };
        let mut order = 0;
        for m in &msgs {
            if let Some(p) = from_message(m, ifindex, dev, direction, order) {
                out.push(p);
                order += 1;
            }
        }
    }
    Ok(out)
}

fn from_message(
    m: &TcMessage,
    ifindex: u32,
    dev: &str,
    direction: &str,
    order: u32,
) -> Option<BpfProgram> {
    let is_bpf = m
        .attributes
        .iter()
        .any(|a| matches!(a, TcAttribute::Kind(k) if k == "bpf"));
    let opts = m.attributes.iter().find_map(|a| match a {
        TcAttribute::Options(o) => Some(o),
        _ => None,
    });
    // The first message per priority is the filter "head" without options: skip it.
    let opts = opts.filter(|o| !o.is_empty())?;
    if !is_bpf {
        return None;
    }
    let chain = m.attributes.iter().find_map(|a| match a {
        TcAttribute::Chain(c) => Some(*c),
        _ => None,
    });
    let mut p = BpfProgram {
        dev: dev.to_string(),
        ifindex,
        direction: direction.to_string(),
        attach: "tc".into(),
        name: String::new(),
        prog_name: None,
        id: 0,
        tag: String::new(),
        direct_action: Some(false),
        pref: Some((m.header.info >> 16) as u16),
        handle: Some(format!(
            "{:#x}",
            (u32::from(m.header.handle.major) << 16) | u32::from(m.header.handle.minor)
        )),
        chain,
        order,
    };
    for o in opts {
        if let TcOption::Bpf(b) = o {
            match b {
                TcFilterBpfOption::ProgName(n) => p.name.clone_from(n),
                TcFilterBpfOption::ProgId(i) => p.id = *i,
                TcFilterBpfOption::ProgTag(t) => p.tag = tag_hex(t),
                TcFilterBpfOption::Flags(f) => p.direct_action = Some(f.bits() & 1 != 0),
                _ => {}
            }
        }
    }
    Some(p)
}
