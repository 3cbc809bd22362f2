//! A step's reads in one batch ([`crate::check::prefetch`]), against the test double:
//! how many batches the engine asks, and that every check is still judged right.

use std::net::Ipv4Addr;

use tplab_ebpf::{CtDirection, CtEntry, Proto};
use tplab_probe::{FactKind, Facts};

use super::engine_tests::{block_on, lab, routes, sandbox, verify_step};
use super::{Identity, Mode, Session};
use crate::check::Verdict;
use crate::env::spy::{Call, SpyEnv};

fn ping_entry() -> CtEntry {
    CtEntry {
        proto: Proto::Icmp,
        direction: CtDirection::Out,
        related: false,
        service: false,
        src: Ipv4Addr::new(10, 244, 0, 213),
        dst: Ipv4Addr::new(203, 0, 113, 10),
        sport: 7,
        dport: 0,
        expires: 100,
        packets: 2,
        bytes: 196,
        rx_flags_seen: 0,
        last_rx_report: 0,
        tx_flags_seen: 0,
        last_tx_report: 0,
        flags: 0,
        rev_nat: 0,
        source_security_id: 0,
        ifindex: 0,
        backend_id: 0,
    }
}

fn no_routes() -> Facts {
    serde_json::from_value(serde_json::json!({"kind": "routes", "records": []})).unwrap()
}

/// The kernel-fact batches the engine asked, and its single probes.
fn batches(env: &SpyEnv) -> (Vec<usize>, usize) {
    let calls = env.calls();
    let batches = calls
        .iter()
        .filter_map(|c| match c {
            Call::ProbeBatch { queries } => Some(queries.len()),
            _ => None,
        })
        .collect();
    let single = calls
        .iter()
        .filter(|c| matches!(c, Call::Probe { .. }))
        .count();
    (batches, single)
}

const FOUR_READS: &str = concat!(
    "## Reads {#reads}\n\n```check\n",
    "- name: default route\n  route: { dst: default, gateway: \"{{ gateway_ip }}\" }\n  target: pod\n",
    "- name: no route to the test net\n  route: { dst: 192.0.2.0/24, absent: true }\n  target: pod\n",
    "- name: the node's default route\n  route: { dst: default }\n  target: node\n",
    "- name: the ping in the CT map\n  bpf_map: { proto: icmp, src: \"{{ pod_ip }}\", dst: \"{{ world_ip }}\", direction: out }\n",
    "```\n",
);

fn four_reads_env() -> SpyEnv {
    sandbox()
        .on_probe("pod", FactKind::Routes, [Ok(routes("10.244.0.201"))])
        .on_probe("node", FactKind::Routes, [Ok(routes("198.51.100.1"))])
        .on_datapath_ct([Ok(vec![ping_entry()])])
}

#[test]
fn a_steps_fact_checks_are_read_in_one_batch() {
    let lab = lab(FOUR_READS);
    let env = four_reads_env();
    block_on(async {
        let mut s = Session::start(&lab, &env, Mode::Check, &Identity::default())
            .await
            .unwrap();
        assert_eq!(verify_step(&mut s, 0).await, [Verdict::Pass; 4]);
    });
    assert_eq!(batches(&env), (vec![3], 0), "{:?}", env.calls());
    let ct = env
        .calls()
        .iter()
        .filter(|c| **c == Call::DatapathCt)
        .count();
    assert_eq!(ct, 1, "the CT map read once, with the batch");
}

#[test]
fn each_evaluation_of_a_step_reads_again() {
    let lab = lab(FOUR_READS);
    let env = four_reads_env();
    block_on(async {
        let mut s = Session::start(&lab, &env, Mode::Check, &Identity::default())
            .await
            .unwrap();
        verify_step(&mut s, 0).await;
        // Watch mode: one attempt each, a fresh batch per round.
        for _ in 0..2 {
            for g in s.gradables(0) {
                assert_eq!(s.verify_once(0, &g).await.outcome.verdict, Verdict::Pass);
            }
        }
    });
    assert_eq!(batches(&env), (vec![3, 3, 3], 0));
}

#[test]
fn a_command_check_ends_the_batch_and_runs_before_the_reads_after_it() {
    let lab = lab(concat!(
        "## Mixed {#mixed}\n\n```check\n",
        "- name: default route\n  route: { dst: default }\n  target: pod\n",
        "- name: the node's default route\n  route: { dst: default }\n  target: node\n",
        "- name: ping\n  run: ping -c1 {{ world_ip }}\n  target: pod\n",
        "- name: the ping in the CT map\n  bpf_map: { proto: icmp, src: \"{{ pod_ip }}\", dst: \"{{ world_ip }}\" }\n",
        "- name: still the default route\n  route: { dst: default }\n  target: pod\n",
        "```\n",
    ));
    let env = four_reads_env().on_exec("ping", [SpyEnv::exited(0, "1 received")]);
    block_on(async {
        let mut s = Session::start(&lab, &env, Mode::Check, &Identity::default())
            .await
            .unwrap();
        assert_eq!(verify_step(&mut s, 0).await, [Verdict::Pass; 5]);
    });
    let order: Vec<&str> = env
        .calls()
        .iter()
        .filter_map(|c| match c {
            Call::ProbeBatch { .. } => Some("batch"),
            Call::Exec { .. } => Some("exec"),
            Call::DatapathCt => Some("ct"),
            _ => None,
        })
        .collect();
    assert_eq!(order, ["batch", "exec", "batch", "ct"]);
    assert_eq!(batches(&env), (vec![2, 1], 0));
}

#[test]
fn a_value_captured_in_the_step_is_read_once_known() {
    let lab = lab(concat!(
        "## Capture {#capture}\n\n```check\n",
        "- name: default route\n  route: { dst: default }\n  target: pod\n  capture: { GW: gateway }\n",
        "- name: the node's route to it\n  route: { dst: \"{{ GW }}\" }\n  target: node\n",
        "- name: no route to the test net\n  route: { dst: 192.0.2.0/24, absent: true }\n  target: pod\n",
        "```\n",
    ));
    let node_route = serde_json::from_value(serde_json::json!({
        "kind": "routes",
        "records": [{
            "family": "inet", "table": "main", "dst": "10.244.0.201/32", "gateway": null,
            "dev": "cilium_host", "scope": "link", "protocol": "boot",
            "type": "unicast", "prefsrc": null, "metric": null,
        }]
    }))
    .unwrap();
    let env = sandbox()
        .on_probe("pod", FactKind::Routes, [Ok(routes("10.244.0.201"))])
        .on_probe("node", FactKind::Routes, [Ok(node_route)]);
    block_on(async {
        let mut s = Session::start(&lab, &env, Mode::Check, &Identity::default())
            .await
            .unwrap();
        assert_eq!(verify_step(&mut s, 0).await, [Verdict::Pass; 3]);
    });
    // The first batch cannot hold the read needing GW; the second holds only it.
    assert_eq!(batches(&env), (vec![2, 1], 0), "{:?}", env.calls());
}

#[test]
fn a_polling_check_first_uses_the_batch_then_reads_live() {
    let lab = lab(concat!(
        "## Poll {#poll}\n\n```check\n",
        "- name: default route\n  route: { dst: default }\n  target: pod\n  timeout: 2s\n  interval: 10ms\n",
        "- name: the node's default route\n  route: { dst: default }\n  target: node\n",
        "```\n",
    ));
    let env = sandbox()
        .on_probe(
            "pod",
            FactKind::Routes,
            [Ok(no_routes()), Ok(no_routes()), Ok(routes("10.244.0.201"))],
        )
        .on_probe("node", FactKind::Routes, [Ok(routes("198.51.100.1"))]);
    block_on(async {
        let mut s = Session::start(&lab, &env, Mode::Check, &Identity::default())
            .await
            .unwrap();
        let g = &s.gradables(0)[0];
        let e = s.verify(0, g).await;
        assert_eq!(e.outcome.verdict, Verdict::Pass, "{:?}", e.outcome);
        assert_eq!(e.attempts, 3);
    });
    assert_eq!(batches(&env), (vec![2], 2), "{:?}", env.calls());
}

#[test]
fn a_failed_batch_is_an_error_for_each_of_its_checks() {
    let lab = lab(FOUR_READS);
    let env = sandbox()
        .on_probe(
            "pod",
            FactKind::Routes,
            [Err("the node agent: it exited".into())],
        )
        .on_probe("node", FactKind::Routes, [Ok(routes("198.51.100.1"))])
        .on_datapath_ct([Err("no such map".into())]);
    block_on(async {
        let mut s = Session::start(&lab, &env, Mode::Check, &Identity::default())
            .await
            .unwrap();
        assert_eq!(
            verify_step(&mut s, 0).await,
            [
                Verdict::Error,
                Verdict::Error,
                Verdict::Pass,
                Verdict::Error
            ]
        );
        let r = &s.recorder.report;
        assert!(r.steps[0].checks[0].message.contains("it exited"));
        assert!(r.steps[0].checks[3].message.contains("no such map"));
    });
}
