//! Running a `packets` check live: observe, let the student's (or tplab's) traffic flow,
//! and evaluate as packets arrive until it passes or the query's window closes.
//!
//! [`PathWatch`] holds that logic once; drivers only feed it packets: the runner's async
//! loop over an environment's packet stream, and [`run_packets_check`] here.

use std::time::{Duration, Instant};

use tplab_vocab::Lang;

use super::path::{Outcome, PathQuery, evaluate_path_in};
use super::settle::settled;
use crate::error::EbpfError;
use crate::observer::{ObservePoint, Observer, PacketEvent};

/// The state of one `packets` check while its window is open.
pub struct PathWatch<'q> {
    query: &'q PathQuery,
    events: Vec<PacketEvent>,
    deadline: Instant,
    lang: Lang,
}

impl<'q> PathWatch<'q> {
    /// Opens the window now.
    pub fn new(query: &'q PathQuery) -> Self {
        Self {
            query,
            events: Vec::new(),
            deadline: Instant::now() + query.within,
            lang: Lang::En,
        }
    }

    /// The language of the verdict's sentences (English by default).
    #[must_use]
    pub fn lang(mut self, lang: Lang) -> Self {
        self.lang = lang;
        self
    }

    /// When the window closes.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Adds packets; true when the verdict is decided and no packet can change it: the
    /// path passes with only "at least" counts, or an "at most" hop (`absent`) already
    /// saw too many. The window may close then.
    pub fn feed(&mut self, events: impl IntoIterator<Item = PacketEvent>) -> bool {
        let before = self.events.len();
        self.events.extend(events);
        self.events.len() > before && settled(self.query, &self.events)
    }

    /// True once the window is closed.
    pub fn expired(&self) -> bool {
        Instant::now() >= self.deadline
    }

    /// The verdict over every packet seen, including the last ones drained at the end.
    pub fn finish(
        mut self,
        last: impl IntoIterator<Item = PacketEvent>,
    ) -> (Outcome, Vec<PacketEvent>) {
        self.events.extend(last);
        (
            evaluate_path_in(self.query, &self.events, self.lang),
            self.events,
        )
    }
}

/// Starts the observer on `points`, runs `trigger` (may do nothing when the student sends
/// the traffic), then evaluates as packets arrive until pass or `q.within` elapsed.
/// Returns the outcome and every event seen (evidence for the report).
pub fn run_packets_check<F: FnOnce()>(
    points: Vec<ObservePoint>,
    q: &PathQuery,
    trigger: F,
) -> Result<(Outcome, Vec<PacketEvent>), EbpfError> {
    let mut obs = Observer::start(points)?;
    let mut watch = PathWatch::new(q);
    trigger();
    // A synchronous caller has no runtime to wait on the channel: look every 10 ms.
    while !watch.feed(obs.drain()) && !watch.expired() {
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(watch.finish(obs.stop()))
}
