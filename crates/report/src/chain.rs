//! Hash chain over a session's events (tamper evidence, honestly scoped: see docs/grading.md).
//!
//! `anchor = sha256(lab_sha256 "\n" student_id "\n" nonce)` (absent values are empty strings);
//! `hash_n = sha256(prev_n || canonical_json({seq, at, kind, data}))` with `prev_0 = anchor`
//! and `prev_n = hash_{n-1}`. The runner ends the chain with a `seal` event whose data holds
//! [`report_digest`], so editing a verdict or a score after the fact breaks the chain.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::canonical::{canonical_json, sha256_hex};
use crate::schema::{Event, Report};

/// Kind of the last event: binds the chain to the report's content.
pub const SEAL: &str = "seal";

/// Why a chain does not verify.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ChainError {
    #[error("event #{index}: seq is {found}, expected {expected} (events removed or reordered)")]
    Sequence {
        index: usize,
        expected: u64,
        found: u64,
    },
    #[error(
        "event #{index} ({kind}): prev does not match the previous hash (events removed, inserted or edited)"
    )]
    BrokenLink { index: usize, kind: String },
    #[error(
        "event #{index} ({kind}): hash does not match its content (event edited after the fact)"
    )]
    BadHash { index: usize, kind: String },
    #[error(
        "first event does not start from this report's anchor (lab sha256, student id or nonce changed)"
    )]
    Anchor,
    #[error("no events: this report carries no hash chain")]
    Empty,
    #[error("no `seal` event: the chain does not cover the report's verdicts")]
    Unsealed,
    #[error(
        "the seal does not match the report: steps, scores or identity edited after the session"
    )]
    SealMismatch,
    #[error("event #{index} ({kind}): timestamp is not serialisable")]
    Timestamp { index: usize, kind: String },
}

/// First `prev` of a chain: binds it to the lab version, the student and the nonce.
pub fn anchor(lab_sha256: &str, student_id: Option<&str>, nonce: Option<&str>) -> String {
    sha256_hex(format!(
        "{lab_sha256}\n{}\n{}",
        student_id.unwrap_or(""),
        nonce.unwrap_or("")
    ))
}

/// Digest of everything in a report except its `events` (what the seal commits to).
pub fn report_digest(report: &Report) -> String {
    let mut value = serde_json::to_value(report).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut value {
        map.remove("events");
    }
    sha256_hex(canonical_json(&value))
}

/// The hash of one event given its predecessor's hash.
pub fn event_hash(
    prev: &str,
    seq: u64,
    at: &DateTime<Utc>,
    kind: &str,
    data: &Value,
) -> Option<String> {
    let body =
        json!({ "seq": seq, "at": serde_json::to_value(at).ok()?, "kind": kind, "data": data });
    Some(sha256_hex(format!("{prev}{}", canonical_json(&body))))
}

/// Builds a chain while the session runs.
#[derive(Debug, Clone)]
pub struct EventChain {
    events: Vec<Event>,
    head: String,
}

impl EventChain {
    /// Starts a chain anchored to the lab's sha256, the student id and the instructor nonce.
    pub fn new(lab_sha256: &str, student_id: Option<&str>, nonce: Option<&str>) -> Self {
        Self {
            events: Vec::new(),
            head: anchor(lab_sha256, student_id, nonce),
        }
    }

    /// Appends an event stamped now.
    pub fn push(&mut self, kind: &str, data: Value) -> &Event {
        self.push_at(Utc::now(), kind, data)
    }

    /// Appends an event with an explicit timestamp (replays, fixtures).
    pub fn push_at(&mut self, at: DateTime<Utc>, kind: &str, data: Value) -> &Event {
        let seq = self.events.len() as u64;
        // A DateTime<Utc> always serialises; the fallback keeps this infallible.
        let hash = event_hash(&self.head, seq, &at, kind, &data).unwrap_or_default();
        let event = Event {
            seq,
            at,
            kind: kind.to_owned(),
            data,
            prev: std::mem::replace(&mut self.head, hash.clone()),
            hash,
        };
        self.events.push(event);
        &self.events[self.events.len() - 1]
    }

    /// Ends the chain with a `seal` event committing to the report's content.
    /// Call it after the report's steps and totals are final.
    pub fn seal(&mut self, report: &Report) {
        let data = json!({
            "report_sha256": report_digest(report),
            "score": report.score,
            "max_score": report.max_score,
        });
        self.push(SEAL, data);
    }

    /// Seals the chain against the final report and stores the events in it: the last call
    /// the runner makes before writing `report.json`.
    pub fn finish(mut self, report: &mut Report) {
        self.seal(report);
        report.events = self.events;
    }

    pub fn events(&self) -> &[Event] {
        &self.events
    }

    /// Continues a chain saved unsealed (a resumed session): appends after its last event.
    pub fn resume(
        lab_sha256: &str,
        student_id: Option<&str>,
        nonce: Option<&str>,
        events: Vec<Event>,
    ) -> Self {
        let head = events
            .last()
            .map_or_else(|| anchor(lab_sha256, student_id, nonce), |e| e.hash.clone());
        Self { events, head }
    }

    pub fn into_events(self) -> Vec<Event> {
        self.events
    }
}

/// Checks the links and hashes of a chain (not its anchor nor its seal).
pub fn verify(events: &[Event]) -> Result<(), ChainError> {
    for (index, event) in events.iter().enumerate() {
        let expected = index as u64;
        if event.seq != expected {
            return Err(ChainError::Sequence {
                index,
                expected,
                found: event.seq,
            });
        }
        if index > 0 && event.prev != events[index - 1].hash {
            return Err(ChainError::BrokenLink {
                index,
                kind: event.kind.clone(),
            });
        }
        let hash = event_hash(&event.prev, event.seq, &event.at, &event.kind, &event.data)
            .ok_or_else(|| ChainError::Timestamp {
                index,
                kind: event.kind.clone(),
            })?;
        if hash != event.hash {
            return Err(ChainError::BadHash {
                index,
                kind: event.kind.clone(),
            });
        }
    }
    Ok(())
}

/// Full check of a report's chain: links, anchor (lab sha, student, nonce) and seal.
pub fn verify_report(report: &Report) -> Result<(), ChainError> {
    verify(&report.events)?;
    let first = report.events.first().ok_or(ChainError::Empty)?;
    let expected = anchor(
        &report.lab.sha256,
        report.student.id.as_deref(),
        report.student.nonce.as_deref(),
    );
    if first.prev != expected {
        return Err(ChainError::Anchor);
    }
    let last = report.events.last().ok_or(ChainError::Unsealed)?;
    if last.kind != SEAL {
        return Err(ChainError::Unsealed);
    }
    let sealed = last.data.get("report_sha256").and_then(Value::as_str);
    if sealed != Some(report_digest(report).as_str()) {
        return Err(ChainError::SealMismatch);
    }
    Ok(())
}
