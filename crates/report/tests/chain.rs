//! The hash chain: verifies as written, survives a JSON round trip, and catches edits.

mod common;

use serde_json::json;
use tplab_report::chain::{anchor, event_hash, verify, verify_report};
use tplab_report::fixture::student_report;
use tplab_report::{ChainError, EventChain, Report};

fn roundtrip(r: &Report) -> Report {
    serde_json::from_str(&serde_json::to_string_pretty(r).unwrap()).unwrap()
}

#[test]
fn a_runner_built_chain_verifies_after_a_round_trip() {
    let mut report = student_report(1);
    let mut chain = EventChain::new(
        &report.lab.sha256,
        Some("s0001"),
        report.student.nonce.as_deref(),
    );
    chain.push("session", json!({"mode": "run"}));
    chain.push(
        "check",
        json!({"check": "vu-du-pod/1", "verdict": "pass", "ratio": 0.1}),
    );
    chain.seal(&report);
    report.events = chain.into_events();
    let back = roundtrip(&report);
    verify(&back.events).expect("links verify");
    verify_report(&back).expect("anchored and sealed");
    assert_eq!(
        back.events[0].prev,
        anchor(
            &report.lab.sha256,
            Some("s0001"),
            report.student.nonce.as_deref()
        )
    );
}

#[test]
fn finish_seals_and_stores_the_chain() {
    let mut report = student_report(6);
    report.events.clear();
    let mut chain = EventChain::new(
        &report.lab.sha256,
        report.student.id.as_deref(),
        report.student.nonce.as_deref(),
    );
    chain.push("session", json!({"mode": "auto"}));
    chain.finish(&mut report);
    assert_eq!(report.events.len(), 2);
    assert_eq!(report.events[1].kind, "seal");
    verify_report(&roundtrip(&report)).expect("finished chain verifies");
}

#[test]
fn editing_a_verdict_breaks_the_seal() {
    let mut r = roundtrip(&student_report(2));
    r.steps[1].checks[0].points += 1.0;
    assert_eq!(verify_report(&r), Err(ChainError::SealMismatch));
}

#[test]
fn editing_an_event_breaks_its_hash() {
    let mut r = student_report(2);
    r.events[2].data["verdict"] = json!("pass");
    r.events[2].data["points"] = json!(99);
    assert!(matches!(
        verify_report(&r),
        Err(ChainError::BadHash { index: 2, .. })
    ));
}

#[test]
fn removing_an_event_is_seen() {
    let mut r = student_report(2);
    r.events.remove(3);
    assert!(matches!(
        verify(&r.events),
        Err(ChainError::Sequence { index: 3, .. })
    ));
}

#[test]
fn rehashing_from_the_middle_still_breaks_the_next_link() {
    let mut r = student_report(2);
    let e = &mut r.events[3];
    e.data = json!({"forged": true});
    // A forger recomputes this event's hash but not the following ones.
    e.hash = event_hash(&e.prev, e.seq, &e.at, &e.kind, &e.data).unwrap();
    assert!(matches!(
        verify(&r.events),
        Err(ChainError::BrokenLink { index: 4, .. })
    ));
}

#[test]
fn another_student_or_nonce_breaks_the_anchor() {
    let mut r = student_report(4);
    r.student.id = Some("s9999".into());
    assert_eq!(verify_report(&r), Err(ChainError::Anchor));
    let mut r = student_report(4);
    r.student.nonce = Some("forged".into());
    assert_eq!(verify_report(&r), Err(ChainError::Anchor));
}

#[test]
fn a_report_without_events_or_seal_does_not_verify() {
    let mut r = student_report(5);
    r.events.clear();
    assert_eq!(verify_report(&r), Err(ChainError::Empty));
    r.events = {
        let mut c = EventChain::new(
            &r.lab.sha256,
            r.student.id.as_deref(),
            r.student.nonce.as_deref(),
        );
        c.push("session", json!({}));
        c.into_events()
    };
    assert_eq!(verify_report(&r), Err(ChainError::Unsealed));
}
