//! When a `packets` check's verdict can no longer change, so its window may close early.
//!
//! Packets only ever add up: a hop's count grows, and the first packet that anchors a
//! hop (later hops only count packets after it) never moves once seen. So a hop whose
//! expectation is "at least" stays satisfied, and one whose "at most" is exceeded stays
//! broken. Anything else (`== 0` still at zero, `== 2` at two) may still change.

use super::count::{CountExpr, CountOp};
use super::path::PathQuery;
use crate::observer::PacketEvent;

/// True when `events` already decide `q` for good: it passes and no packet can break it,
/// or it fails and no packet can mend it. The window need not stay open then.
pub fn settled(q: &PathQuery, events: &[PacketEvent]) -> bool {
    if q.validate().is_err() {
        return true;
    }
    let mut not_before = 0u64;
    for hop in &q.path {
        let src = hop.src.unwrap_or(q.src);
        let dst = hop.dst.unwrap_or(q.dst);
        let sport = hop.sport.or(q.sport);
        let dport = hop.dport.or(q.dport);
        let mut seen = events.iter().filter(|e| {
            e.label == hop.at
                && e.dir == hop.dir
                && e.proto == q.proto
                && e.ts_ns >= not_before
                && e.src == src
                && e.dst == dst
                && sport.is_none_or(|p| p == e.sport)
                && dport.is_none_or(|p| p == e.dport)
        });
        let first = seen.clone().next();
        let n = seen.by_ref().count() as u64;
        let expect = q.expect(hop);
        match first {
            Some(first) if at_least(expect) && expect.holds_count(n) => {
                not_before = first.ts_ns;
            }
            _ => return never_again(expect, n),
        }
    }
    true
}

/// "At least": once it holds, more packets keep it holding.
fn at_least(expect: CountExpr) -> bool {
    matches!(expect.op, CountOp::Ge | CountOp::Gt)
}

/// True when no count from `n` up satisfies `expect` (an "at most" already exceeded).
#[allow(clippy::cast_precision_loss)] // packet counts are far below 2^52
fn never_again(expect: CountExpr, n: u64) -> bool {
    match expect.op {
        CountOp::Le | CountOp::Lt => !expect.holds_count(n),
        CountOp::Eq => n as f64 > expect.value,
        CountOp::Ne | CountOp::Ge | CountOp::Gt => false,
    }
}
