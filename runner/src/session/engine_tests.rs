//! The engine against the test-double environment ([`SpyEnv`]): polling, captures,
//! skips and the three verdicts, without root or a kernel.
#![allow(clippy::float_cmp, reason = "points are small integers, exact in f64")]

use std::net::Ipv4Addr;

use tplab_ebpf::{Direction, PacketEvent, Proto};
use tplab_probe::{FactKind, Facts};
use tplab_report::{StepStatus, Verdict as ReportVerdict};

use super::plan::GradableKind;
use super::{Identity, Mode, Session};
use crate::check::Verdict;
use crate::env::spy::{Call, SpyEnv};
use crate::lab::{self, Lab};

pub(super) fn lab(body: &str) -> Lab {
    let text = format!(
        "---\nid: spy\ntitle: Spy\nenvironments: [sandbox]\nroles: [pod, node]\n---\n\n{body}"
    );
    let parsed = lab::parse("spy.md", text);
    let lab = parsed.lab.expect("the test lab parses");
    let errors: Vec<_> = parsed
        .diagnostics
        .iter()
        .chain(crate::lint::lint(&lab).iter())
        .filter(|d| d.is_error())
        .map(|d| d.render(false))
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    lab
}

pub(super) fn sandbox() -> SpyEnv {
    SpyEnv::new("sandbox")
        .role("pod")
        .role("node")
        .fact("gateway_ip", "10.244.0.201")
        .fact("pod_ip", "10.244.0.213")
        .fact("world_ip", "203.0.113.10")
        .fact("node_ip", "198.51.100.2")
}

pub(super) fn routes(gateway: &str) -> Facts {
    serde_json::from_value(serde_json::json!({
        "kind": "routes",
        "records": [{
            "family": "inet", "table": "main", "dst": "default", "gateway": gateway,
            "dev": "eth0", "scope": "universe", "protocol": "boot",
            "type": "unicast", "prefsrc": null, "metric": null,
        }]
    }))
    .expect("a routes fact")
}

/// The pod's ping to the world, seen leaving its eth0.
fn ping_leaving_the_pod() -> PacketEvent {
    PacketEvent {
        label: "pod:eth0".into(),
        ifname: "eth0".into(),
        ifindex: 2,
        netns_cookie: 1,
        dir: Direction::Egress,
        proto: Proto::Icmp,
        src: Ipv4Addr::new(10, 244, 0, 213),
        dst: Ipv4Addr::new(203, 0, 113, 10),
        sport: 0,
        dport: 0,
        icmp_type: Some(8),
        icmp_code: Some(0),
        icmp_id: Some(7),
        tcp_flags: 0,
        len: 98,
        ip_len: 84,
        ts_ns: 1,
    }
}

/// Verifies every gradable of `step` in order; returns the verdicts.
pub(super) async fn verify_step(session: &mut Session<'_>, step: usize) -> Vec<Verdict> {
    let mut verdicts = Vec::new();
    for g in session.gradables(step) {
        if matches!(g.kind, GradableKind::Question(_)) {
            continue;
        }
        verdicts.push(session.verify(step, &g).await.outcome.verdict);
    }
    session.recorder.settle(step);
    verdicts
}

pub(super) fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(f)
}

#[test]
fn polling_retries_until_the_state_is_right() {
    let lab = lab(
        "## Ping {#ping}\n\n```check\n- name: reaches the world\n  run: ping -c1 {{ world_ip }}\n  target: pod\n  timeout: 2s\n  interval: 10ms\n```\n",
    );
    let env = sandbox().on_exec(
        "ping",
        [
            SpyEnv::exited(1, ""),
            SpyEnv::exited(1, ""),
            SpyEnv::exited(0, "1 received"),
        ],
    );
    block_on(async {
        let mut s = Session::start(&lab, &env, Mode::Check, &Identity::default())
            .await
            .unwrap();
        let g = &s.gradables(0)[0];
        let e = s.verify(0, g).await;
        assert_eq!(e.outcome.verdict, Verdict::Pass, "{:?}", e.outcome);
        assert_eq!(e.attempts, 3);
    });
    let pings: Vec<_> = env
        .calls()
        .into_iter()
        .filter(|c| matches!(c, Call::Exec { script, .. } if script == "ping -c1 203.0.113.10"))
        .collect();
    assert_eq!(pings.len(), 3, "templates rendered, one call per attempt");
}

#[test]
fn a_capture_feeds_later_steps() {
    let lab = lab(concat!(
        "## Route {#route}\n\n```check\n- name: default route\n  route: { dst: default }\n",
        "  target: pod\n  capture: { GW: gateway }\n```\n\n",
        "## Use it {#use}\n\n```check\n- name: the gateway answers\n  run: ping -c1 {{ GW }}\n  target: pod\n```\n",
    ));
    let env = sandbox()
        .on_probe("pod", FactKind::Routes, [Ok(routes("10.244.0.201"))])
        .on_exec("ping", [SpyEnv::exited(0, "")]);
    block_on(async {
        let mut s = Session::start(&lab, &env, Mode::Check, &Identity::default())
            .await
            .unwrap();
        assert_eq!(verify_step(&mut s, 0).await, [Verdict::Pass]);
        assert_eq!(s.vars.get("GW").map(String::as_str), Some("10.244.0.201"));
        assert_eq!(verify_step(&mut s, 1).await, [Verdict::Pass]);
    });
    assert!(env.calls().contains(&Call::Exec {
        role: "pod".into(),
        script: "ping -c1 10.244.0.201".into()
    }));
}

#[test]
fn wrong_state_fails_and_says_what_was_found() {
    let lab = lab(
        "## Route {#route}\n\n```check\n- name: default route via the gateway\n  route: { dst: default, gateway: \"{{ gateway_ip }}\" }\n  target: pod\n```\n",
    );
    let env = sandbox().on_probe("pod", FactKind::Routes, [Ok(routes("10.0.0.1"))]);
    block_on(async {
        let mut s = Session::start(&lab, &env, Mode::Check, &Identity::default())
            .await
            .unwrap();
        let g = &s.gradables(0)[0];
        let e = s.verify(0, g).await;
        assert_eq!(e.outcome.verdict, Verdict::Fail);
        assert!(
            e.outcome.expected.contains("10.244.0.201"),
            "{:?}",
            e.outcome
        );
        assert!(e.outcome.found.contains("10.0.0.1"), "{:?}", e.outcome);
        s.recorder.settle(0);
        assert_eq!(s.recorder.report.score, 0.0);
        assert_eq!(s.recorder.report.error_points, 0.0);
    });
}

#[test]
fn a_checker_failure_is_an_error_never_charged() {
    let lab = lab(
        "## Route {#route}\n\n```check\n- name: default route\n  route: { dst: default }\n  target: pod\n  points: 2\n```\n",
    );
    let env = sandbox().on_probe(
        "pod",
        FactKind::Routes,
        [Err("netlink: permission denied".to_string())],
    );
    block_on(async {
        let mut s = Session::start(&lab, &env, Mode::Check, &Identity::default())
            .await
            .unwrap();
        assert_eq!(verify_step(&mut s, 0).await, [Verdict::Error]);
        let r = &s.recorder.report;
        assert_eq!(r.steps[0].status, StepStatus::Error);
        assert_eq!(r.error_points, 2.0, "the points are set aside, not lost");
        assert!(r.steps[0].checks[0].message.contains("permission denied"));
    });
}

#[test]
fn unverified_steps_stay_skipped() {
    let lab = lab(concat!(
        "## One {#one}\n\n```check\n- name: ok\n  run: \"true\"\n  target: pod\n```\n\n",
        "## Two {#two}\n\n```check\n- name: never looked at\n  run: \"true\"\n  target: pod\n```\n",
    ));
    let env = sandbox().on_exec("true", [SpyEnv::exited(0, "")]);
    block_on(async {
        let mut s = Session::start(&lab, &env, Mode::Check, &Identity::default())
            .await
            .unwrap();
        verify_step(&mut s, 0).await;
        let r = &s.recorder.report;
        assert_eq!(r.steps[1].checks[0].verdict, ReportVerdict::Skipped);
        assert_eq!(r.steps[1].status, StepStatus::Pending);
        assert_eq!(r.score, 1.0);
    });
    // Step two's command was never run.
    assert_eq!(
        env.calls()
            .iter()
            .filter(|c| matches!(c, Call::Exec { .. }))
            .count(),
        1
    );
}

#[test]
fn packets_checks_stop_as_soon_as_the_path_is_seen() {
    let lab = lab(concat!(
        "## Path {#path}\n\n```check\n- name: the ping leaves the pod\n  packets:\n",
        "    proto: icmp\n    src: \"{{ pod_ip }}\"\n    dst: \"{{ world_ip }}\"\n    within: 30s\n",
        "    path:\n      - { at: \"pod:eth0\", dir: egress }\n```\n",
    ));
    let event = ping_leaving_the_pod();
    let env = sandbox().on_observe([Ok(vec![event])]);
    let start = std::time::Instant::now();
    block_on(async {
        let mut s = Session::start(&lab, &env, Mode::Check, &Identity::default())
            .await
            .unwrap();
        assert_eq!(verify_step(&mut s, 0).await, [Verdict::Pass]);
    });
    // Not a timing assertion on speed: the 30 s window must not have been waited out.
    assert!(start.elapsed() < std::time::Duration::from_secs(30));
    assert!(env.calls().contains(&Call::Observe {
        hops: vec!["pod:eth0".into()]
    }));
}

/// What a check's outcome says and keeps as evidence (what reports and `check --json`
/// show), for fact, absent and packets checks passing and failing: its shape must not
/// change.
#[test]
fn outcomes_keep_their_words_and_evidence() {
    let lab = lab(concat!(
        "## Shapes {#shapes}\n\n```check\n",
        "- name: route\n  route: { dst: default, gateway: 10.244.0.201 }\n  target: pod\n",
        "- name: no route\n  route: { dst: default, gateway: 10.0.0.9 }\n  target: pod\n",
        "- name: absent\n  route: { dst: 192.0.2.0/24, absent: true }\n  target: pod\n",
        "- name: path\n  packets:\n",
        "    proto: icmp\n    src: \"{{ pod_ip }}\"\n    dst: \"{{ world_ip }}\"\n    within: 1s\n",
        "    path:\n      - { at: \"pod:eth0\", dir: egress }\n",
        "- name: nat\n  packets:\n",
        "    proto: icmp\n    src: \"{{ pod_ip }}\"\n    dst: \"{{ world_ip }}\"\n    within: 1s\n",
        "    path:\n      - { at: \"pod:eth0\", dir: egress }\n",
        "      - { at: \"node:eth0\", dir: egress, src: \"{{ node_ip }}\" }\n",
        "```\n",
    ));
    let event = ping_leaving_the_pod();
    let env = sandbox()
        .on_probe("pod", FactKind::Routes, [Ok(routes("10.244.0.201"))])
        .on_observe([Ok(vec![event])]);
    let got: Vec<serde_json::Value> = block_on(async {
        let mut s = Session::start(&lab, &env, Mode::Check, &Identity::default())
            .await
            .unwrap();
        let mut got = Vec::new();
        for g in s.gradables(0) {
            let o = s.verify(0, &g).await.outcome;
            got.push(serde_json::json!({
                "verdict": format!("{:?}", o.verdict), "expected": o.expected, "found": o.found,
                "message": o.message, "evidence": o.evidence, "captures": o.captures,
            }));
        }
        got
    });
    // Recorded from the runner before the checkers shared one outcome type.
    let want: Vec<serde_json::Value> =
        serde_json::from_str(include_str!("testdata/outcomes.json")).unwrap();
    let text = serde_json::to_string_pretty(&got).unwrap();
    assert_eq!(got, want, "{text}");
}

#[test]
fn attempts_count_requests_and_one_per_watch_session() {
    let lab = lab(
        "## One {#one}\n\n```check\n- name: the flag exists\n  run: test -e /flag\n  target: pod\n```\n",
    );
    let answers = [1, 1, 1, 1, 0].map(|code| SpyEnv::exited(code, ""));
    let env = sandbox().on_exec("test -e /flag", answers);
    block_on(async {
        let mut s = Session::start(&lab, &env, Mode::Run, &Identity::default())
            .await
            .unwrap();
        let g = &s.gradables(0)[0];
        // Check now, twice: two attempts.
        s.verify(0, g).await;
        s.verify(0, g).await;
        // One watch session re-checking three times until it passes: one attempt.
        s.recorder.watch_started();
        for _ in 0..3 {
            s.verify_once(0, g).await;
        }
        let c = &s.recorder.report.steps[0].checks[0];
        assert_eq!(c.verdict, ReportVerdict::Pass);
        assert_eq!(
            c.attempts, 3,
            "failed twice, then passed in a watch session"
        );
        assert_eq!(c.evaluations, 5);
    });
}

#[test]
fn a_skipped_step_is_skipped_and_its_error_stays_an_error() {
    let lab = lab(
        "## Route {#route}\n\n```check\n- name: default route\n  route: { dst: default }\n  target: pod\n  points: 2\n```\n",
    );
    let env = sandbox().on_probe(
        "pod",
        FactKind::Routes,
        [Err("netlink: permission denied".to_string())],
    );
    block_on(async {
        let mut s = Session::start(&lab, &env, Mode::Run, &Identity::default())
            .await
            .unwrap();
        verify_step(&mut s, 0).await;
        s.recorder.hint_shown(0, 1, 2);
        s.recorder.skip_step(0);
        s.recorder.settle(0);
        let r = &s.recorder.report;
        assert_eq!(r.steps[0].status, StepStatus::Skipped);
        assert!(r.steps[0].skipped);
        assert_eq!(r.steps[0].checks[0].verdict, ReportVerdict::Error);
        assert_eq!(r.error_points, 2.0);
        assert_eq!(r.steps[0].assists[0].kind, tplab_report::AssistKind::Hint);
        assert_eq!(
            (r.steps[0].assists[0].index, r.steps[0].assists[0].of),
            (1, 2)
        );
    });
}
