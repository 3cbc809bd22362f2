//! `cilium bpf ct list global`, from the sandbox's pinned CT map.

use std::fmt::Write as _;

use crate::ct::{CtDirection, CtEntry};

/// One line in the seed's shape (trailing space included, as Cilium prints it).
pub fn format_ct_entry(e: &CtEntry) -> String {
    let dir = match e.direction {
        CtDirection::Out => "OUT",
        CtDirection::In => "IN",
    };
    let mut s = format!(
        "{} {dir} {}:{} -> {}:{} ",
        e.proto.cilium_name(),
        e.src,
        e.sport,
        e.dst,
        e.dport
    );
    if e.related {
        s.push_str("related ");
    }
    let _ = write!(
        s,
        "expires={} RxPackets={} RxBytes={} RxFlagsSeen=0x{:02x} LastRxReport={} \
         TxPackets={} TxBytes={} TxFlagsSeen=0x{:02x} LastTxReport={} Flags=0x{:04x} [ ",
        e.expires,
        e.rx_packets,
        e.rx_bytes,
        e.rx_flags_seen,
        e.last_rx_report,
        e.tx_packets,
        e.tx_bytes,
        e.tx_flags_seen,
        e.last_tx_report,
        e.flags
    );
    for name in e.flag_names() {
        s.push_str(name);
        s.push(' ');
    }
    let _ = write!(
        s,
        "] RevNAT={} SourceSecurityID={} IfIndex={} ",
        e.rev_nat, e.source_security_id, e.ifindex
    );
    s
}

/// The whole listing.
pub fn format_ct_list(entries: &[CtEntry]) -> String {
    entries.iter().fold(String::new(), |mut out, e| {
        out.push_str(&format_ct_entry(e));
        out.push('\n');
        out
    })
}
