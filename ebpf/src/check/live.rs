//! Running a `packets` check live: observe, let the student's (or tplab's) traffic flow,
//! and evaluate until it passes or the query's window closes.

use std::time::{Duration, Instant};

use super::path::{Outcome, PathQuery, evaluate_path};
use crate::error::EbpfError;
use crate::observer::{ObservePoint, Observer, PacketEvent};

/// Starts the observer on `points`, runs `trigger` (may do nothing when the student sends
/// the traffic), then re-evaluates every 100 ms until pass or `q.within` elapsed.
/// Returns the outcome and every event seen (evidence for the report).
pub fn run_packets_check<F: FnOnce()>(
    points: Vec<ObservePoint>,
    q: &PathQuery,
    trigger: F,
) -> Result<(Outcome, Vec<PacketEvent>), EbpfError> {
    let mut obs = Observer::start(points)?;
    let start = Instant::now();
    trigger();
    let mut events = Vec::new();
    loop {
        events.extend(obs.drain());
        let outcome = evaluate_path(q, &events);
        if outcome.is_pass() || start.elapsed() >= q.within {
            events.extend(obs.stop());
            // Re-evaluate with the final drain so late events are not missed.
            return Ok((evaluate_path(q, &events), events));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
