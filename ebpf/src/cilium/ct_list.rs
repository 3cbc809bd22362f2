//! `cilium bpf ct list global`, from the CT maps, in Cilium 1.16's line shape (one
//! `Packets`/`Bytes` pair; the seed's older agent printed `RxPackets … TxBytes`).

use std::fmt::Write as _;

use crate::ct::{CtDirection, CtEntry};

/// One line (trailing space included, as Cilium prints it). `remaining` adds Cilium's
/// `-d` column: the seconds left before the entry expires.
pub fn format_ct_entry_with(e: &CtEntry, remaining: Option<i64>) -> String {
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
    if e.service {
        s.push_str("service ");
    }
    let _ = write!(s, "expires={}", e.expires);
    if let Some(left) = remaining {
        let _ = write!(s, " (remaining: {left} sec(s))");
    }
    let _ = write!(
        s,
        " Packets={} Bytes={} RxFlagsSeen=0x{:02x} LastRxReport={} \
         TxFlagsSeen=0x{:02x} LastTxReport={} Flags=0x{:04x} [ ",
        e.packets,
        e.bytes,
        e.rx_flags_seen,
        e.last_rx_report,
        e.tx_flags_seen,
        e.last_tx_report,
        e.flags
    );
    for name in e.flag_names() {
        s.push_str(&name);
        s.push(' ');
    }
    let _ = write!(
        s,
        "] RevNAT={} SourceSecurityID={} IfIndex={} BackendID={} ",
        e.rev_nat, e.source_security_id, e.ifindex, e.backend_id
    );
    s
}

/// One line without the remaining time.
pub fn format_ct_entry(e: &CtEntry) -> String {
    format_ct_entry_with(e, None)
}

/// The whole listing; `now` (seconds of `CLOCK_MONOTONIC`) adds the `-d` column.
pub fn format_ct_list(entries: &[CtEntry], now: Option<u32>) -> String {
    entries.iter().fold(String::new(), |mut out, e| {
        let left = now.map(|n| i64::from(e.expires) - i64::from(n));
        out.push_str(&format_ct_entry_with(e, left));
        out.push('\n');
        out
    })
}
