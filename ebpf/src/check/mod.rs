//! Pure checks over eBPF facts: packet paths seen by the observer, entries of the CT map.

mod count;
mod ct;
mod flags;
mod live;
mod path;
mod settle;

pub use count::{CountExpr, CountOp, parse_duration};
pub use ct::{CT_ENTRY_FIELDS, CtQuery, find_ct_entry, find_ct_entry_in};
pub use flags::TcpFlags;
pub use live::{PathWatch, run_packets_check};
pub use path::{
    HopEvidence, HopSpec, Outcome, PACKET_FIELDS, PathQuery, SeenPacket, Verdict, captured,
    evaluate_path, evaluate_path_in, hops,
};
pub use settle::settled;

#[cfg(test)]
mod tests;
