//! Realistic synthetic reports (the seed lab's steps, live-looking values, a sealed chain)
//! for tests, benchmarks and template work. Deterministic: same index, same report.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::json;

use crate::canonical::sha256_hex;
use crate::chain::EventChain;
use crate::schema::{
    CheckReport, CommandReport, EnvInfo, LabInfo, QuestionReport, Report, SCHEMA, StepReport,
    StepStatus, Student, Tool, Verdict,
};

/// A small lab file (front matter + prose) the fixtures claim to come from.
pub const LAB_MD: &str = "---\nid: ebpf-network-deep-dive\ntitle: eBPF Network Deep Dive\nlang: fr\nversion: \"1.2\"\n---\n\n# eBPF Network Deep Dive\n\n## Vu du Pod\n\nObservez la table de routage du Pod.\n\n## Vu du Node\n\n## Routage sur le Node\n\n## Vu depuis le Cilium-agent\n";

/// sha256 of [`LAB_MD`].
pub fn lab_sha256() -> String {
    sha256_hex(LAB_MD)
}

/// splitmix64: tiny, good enough to make per-student values differ.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn mac(&mut self) -> String {
        let b = self.next().to_be_bytes();
        // Locally administered unicast, like the kernel's random veth MACs.
        format!(
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            (b[0] & 0xfe) | 0x02,
            b[1],
            b[2],
            b[3],
            b[4],
            b[5]
        )
    }
}

/// The live values of one student's environment.
#[derive(Debug, Clone)]
pub struct Live {
    pub gw_mac: String,
    pub pod_mac: String,
    pub lxc: String,
    pub pod_ip: String,
    pub sport: u16,
    pub nonce: String,
}

impl Live {
    pub fn for_index(index: usize) -> Self {
        let mut rng = Rng(index as u64 ^ 0x5EED);
        let gw_mac = rng.mac();
        let pod_mac = rng.mac();
        let lxc = format!("lxc{:012x}", rng.next() & 0xffff_ffff_ffff);
        let sport = u16::try_from(32768 + rng.next() % 28000).unwrap_or(40000);
        let nonce = format!("{:016x}", rng.next());
        Self {
            gw_mac,
            pod_mac,
            lxc,
            // Sandbox addresses are the same for everyone: not evidence of copying.
            pod_ip: "10.244.0.213".into(),
            sport,
            nonce,
        }
    }
}

/// How a generated student did: index-driven so a class has a realistic spread.
fn outcome(index: usize, check: usize) -> Verdict {
    match (index * 7 + check * 3) % 23 {
        0 | 5 | 11 => Verdict::Fail,
        17 if check == 4 => Verdict::Error,
        19 if check >= 6 => Verdict::Skipped,
        _ => Verdict::Pass,
    }
}

fn start(index: usize) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 8, 0, 0)
        .single()
        .unwrap_or_default()
        + Duration::seconds(i64::try_from(index).unwrap_or(0) * 97)
}

#[allow(clippy::too_many_arguments)]
fn check(
    id: &str,
    name: &str,
    kind: &str,
    verdict: Verdict,
    points: f64,
    expected: &str,
    found_ok: &str,
    found_bad: &str,
    evidence: serde_json::Value,
) -> CheckReport {
    let (found, message) = match verdict {
        Verdict::Pass => (found_ok.to_owned(), String::new()),
        Verdict::Fail => (found_bad.to_owned(), format!("{name}: not as expected")),
        Verdict::Error => (
            String::new(),
            "checker could not run: netlink socket in netns tplab-node refused (EPERM)".to_owned(),
        ),
        Verdict::Skipped => (String::new(), "step not reached".to_owned()),
    };
    CheckReport {
        id: id.to_owned(),
        name: name.to_owned(),
        kind: kind.to_owned(),
        verdict,
        points: if verdict == Verdict::Pass {
            points
        } else {
            0.0
        },
        max_points: points,
        expected: expected.to_owned(),
        found,
        message,
        evidence: if verdict == Verdict::Pass {
            evidence
        } else {
            serde_json::Value::Null
        },
        attempts: if verdict == Verdict::Fail { 3 } else { 1 },
        evaluations: if verdict == Verdict::Fail { 9 } else { 1 },
        duration_ms: 12 + (id.len() as u64) * 3,
    }
}

fn cmd(target: &str, command: &str, stdout: String) -> CommandReport {
    CommandReport {
        target: target.to_owned(),
        command: command.to_owned(),
        by: "tplab".to_owned(),
        status: Some(0),
        stdout,
        stderr: String::new(),
        duration_ms: 4,
    }
}

fn step(id: &str, title: &str, line: usize, checks: Vec<CheckReport>) -> StepReport {
    StepReport {
        id: id.to_owned(),
        title: title.to_owned(),
        line,
        status: StepStatus::Pending,
        score: 0.0,
        max_score: 0.0,
        checks,
        questions: Vec::new(),
        commands: Vec::new(),
        captures: BTreeMap::new(),
        skipped: false,
        assists: Vec::new(),
    }
}

/// Step totals and status from its verdicts (what the runner does at the end of a step).
pub fn finish_step(step: &mut StepReport) {
    step.total();
    let verdicts: Vec<Verdict> = step
        .checks
        .iter()
        .map(|c| c.verdict)
        .chain(step.questions.iter().map(|q| q.verdict))
        .collect();
    step.status = if verdicts.contains(&Verdict::Skipped) {
        StepStatus::Pending
    } else if verdicts.contains(&Verdict::Fail) {
        StepStatus::Failed
    } else if verdicts.contains(&Verdict::Error) {
        StepStatus::Error
    } else {
        StepStatus::Passed
    };
}

/// The report of generated student number `index` (student id `s{index:04}`), sealed.
pub fn student_report(index: usize) -> Report {
    let live = Live::for_index(index);
    let student = format!("s{index:04}");
    let v = |n| outcome(index, n);
    let t0 = start(index);

    let mut pod = step(
        "vu-du-pod",
        "Vu du Pod",
        10,
        vec![
            check(
                "vu-du-pod/1",
                "default route via the gateway",
                "route",
                v(0),
                2.0,
                "default via 10.244.0.201 dev eth0 in netns pod",
                "default via 10.244.0.201 dev eth0",
                "no default route",
                json!({"route": {"dst": "0.0.0.0/0", "gateway": "10.244.0.201", "dev": "eth0", "table": "main"}}),
            ),
            check(
                "vu-du-pod/2",
                "gateway neighbour learnt",
                "neighbour",
                v(1),
                1.0,
                "10.244.0.201 lladdr <gateway MAC> REACHABLE|STALE on eth0",
                &format!("10.244.0.201 lladdr {} STALE", live.gw_mac),
                "no neighbour entry for 10.244.0.201",
                json!({"neighbour": {"ip": "10.244.0.201", "mac": live.gw_mac, "dev": "eth0", "state": "STALE"}}),
            ),
        ],
    );
    pod.commands = vec![
        cmd(
            "pod",
            "route -n",
            "Kernel IP routing table\nDestination     Gateway         Genmask         Flags Metric Ref    Use Iface\n0.0.0.0         10.244.0.201    0.0.0.0         UG    0      0        0 eth0\n10.244.0.201    0.0.0.0         255.255.255.255 UH    0      0        0 eth0\n".into(),
        ),
        cmd(
            "pod",
            "arp -an",
            format!("? (10.244.0.201) at {} [ether]  on eth0\n", live.gw_mac),
        ),
    ];
    pod.captures.insert("GW_MAC".into(), live.gw_mac.clone());
    pod.captures.insert("POD_MAC".into(), live.pod_mac.clone());
    let q_ok = v(2) == Verdict::Pass;
    pod.questions.push(QuestionReport {
        id: "gw-mac".into(),
        prompt: "Quelle est l'adresse MAC de la gateway du Pod ?".into(),
        answers: if q_ok {
            vec![live.gw_mac.clone()]
        } else {
            vec![
                "ff:ff:ff:ff:ff:ff".into(),
                "<script>alert(1)</script>".into(),
            ]
        },
        verdict: if q_ok { Verdict::Pass } else { Verdict::Fail },
        points: if q_ok { 2.0 } else { 0.0 },
        max_points: 2.0,
        expected: live.gw_mac.clone(),
    });
    finish_step(&mut pod);

    let mut node = step(
        "vu-du-node",
        "Vu du Node",
        40,
        vec![
            check(
                "vu-du-node/1",
                "the gateway MAC is the lxc veth peer",
                "link",
                v(3),
                2.0,
                "a link on the node whose MAC is GW_MAC",
                &format!("{} ({}) peer of pod eth0", live.lxc, live.gw_mac),
                "no link with that MAC",
                json!({"link": {"name": live.lxc, "mac": live.gw_mac, "peer": "eth0@pod", "ifindex": 25}}),
            ),
            check(
                "vu-du-node/2",
                "a BPF program is attached on lxc ingress",
                "tc",
                v(4),
                2.0,
                "a BPF program on ingress of the lxc interface (tc or tcx)",
                "tcx ingress: from-container (id 13245)",
                "no BPF program attached",
                json!({"attached": [{"dev": live.lxc, "hook": "tcx/ingress", "name": "from_container", "id": 13245}]}),
            ),
        ],
    );
    node.commands.push(cmd(
        "node",
        &format!("ip a | grep -A1 -B1 {}", live.gw_mac),
        format!(
            "25: {}@if24: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500\n    link/ether {} brd ff:ff:ff:ff:ff:ff\n",
            live.lxc, live.gw_mac
        ),
    ));
    node.captures.insert("LXC".into(), live.lxc.clone());
    finish_step(&mut node);

    let mut routing = step(
        "routage-sur-le-node",
        "Routage sur le Node",
        70,
        vec![
            check(
                "routage-sur-le-node/1",
                "the node routes to the world via eth0",
                "route",
                v(5),
                1.0,
                "default via 192.0.2.1 dev eth0",
                "default via 192.0.2.1 dev eth0",
                "default via 192.0.2.1 dev eth1",
                json!({"route": {"dst": "0.0.0.0/0", "gateway": "192.0.2.1", "dev": "eth0"}}),
            ),
            check(
                "routage-sur-le-node/2",
                "iptables masquerades pod traffic",
                "command",
                v(6),
                1.0,
                "a MASQUERADE rule for 10.244.0.0/16 (iptables-save)",
                "-A POSTROUTING -s 10.244.0.0/16 ! -o cilium_host -j MASQUERADE",
                "no MASQUERADE rule",
                json!({"rule": "-A POSTROUTING -s 10.244.0.0/16 ! -o cilium_host -j MASQUERADE"}),
            ),
        ],
    );
    finish_step(&mut routing);

    let mut agent = step(
        "vu-depuis-le-cilium-agent",
        "Vu depuis le Cilium-agent",
        100,
        vec![
            check(
                "vu-depuis-le-cilium-agent/1",
                "conntrack shows the masqueraded flow",
                "conntrack",
                v(7),
                3.0,
                "tcp 10.244.0.213 -> 203.0.113.10:80 with SNAT to the node's address",
                "tcp src=10.244.0.213 dst=203.0.113.10 sport=.. dport=80, reply dst=198.51.100.7",
                "flow not NATed",
                json!({"conntrack": {"proto": "tcp", "orig": {"src": live.pod_ip, "dst": "203.0.113.10", "sport": live.sport, "dport": 80}, "reply": {"src": "203.0.113.10", "dst": "198.51.100.7", "sport": 80, "dport": live.sport}, "state": "TIME_WAIT", "nat": "snat"}}),
            ),
            check(
                "vu-depuis-le-cilium-agent/2",
                "packets took the expected path",
                "packets",
                v(8),
                2.0,
                "pod eth0 -> node lxc (ingress) -> node eth0 (egress, after NAT)",
                "3 hops observed",
                "packets never reached node eth0",
                json!({"path": [
                    {"netns": "pod", "dev": "eth0", "dir": "egress", "src": format!("{}:{}", live.pod_ip, live.sport), "dst": "203.0.113.10:80"},
                    {"netns": "node", "dev": live.lxc, "dir": "ingress", "src": format!("{}:{}", live.pod_ip, live.sport), "dst": "203.0.113.10:80"},
                    {"netns": "node", "dev": "eth0", "dir": "egress", "src": format!("198.51.100.7:{}", live.sport), "dst": "203.0.113.10:80"}
                ]}),
            ),
        ],
    );
    agent.commands.push(cmd(
        "agent",
        "cilium bpf ct list global | grep 203.0.113.10",
        format!(
            "TCP OUT {}:{} -> 203.0.113.10:80 expires=17755044 RxPackets=4 TxPackets=6 Flags=0x0013\n",
            live.pod_ip, live.sport
        ),
    ));
    finish_step(&mut agent);

    let mut report = Report {
        schema: SCHEMA.to_owned(),
        tool: Tool {
            name: "tplab".into(),
            version: "0.1.0".into(),
        },
        lab: LabInfo {
            id: "ebpf-network-deep-dive".into(),
            title: "eBPF Network Deep Dive".into(),
            version: "1.2".into(),
            sha256: lab_sha256(),
            path: "labs/ebpf-network-deep-dive/lab.md".into(),
            lang: None,
        },
        student: Student {
            id: Some(student),
            nonce: Some(live.nonce.clone()),
        },
        env: EnvInfo {
            name: "sandbox".into(),
            facts: BTreeMap::from([
                ("pod_ip".to_owned(), live.pod_ip.clone()),
                ("gateway".to_owned(), "10.244.0.201".to_owned()),
                ("lxc".to_owned(), live.lxc.clone()),
            ]),
        },
        mode: "run".into(),
        started_at: t0,
        finished_at: t0 + Duration::seconds(1800),
        steps: vec![pod, node, routing, agent],
        score: 0.0,
        max_score: 0.0,
        error_points: 0.0,
        events: Vec::new(),
    };
    report.total();
    reseal(&mut report);
    report
}

/// Rebuilds the chain of a report from its steps (what an honest runner would have written).
pub fn reseal(report: &mut Report) {
    let mut chain = EventChain::new(
        &report.lab.sha256,
        report.student.id.as_deref(),
        report.student.nonce.as_deref(),
    );
    let mut at = report.started_at;
    chain.push_at(
        at,
        "session",
        json!({"mode": report.mode, "env": report.env.name}),
    );
    for step in &report.steps {
        for c in &step.checks {
            at += Duration::seconds(30);
            chain.push_at(
                at,
                "check",
                json!({"step": step.id, "check": c.id, "verdict": c.verdict, "points": c.points}),
            );
        }
        for q in &step.questions {
            at += Duration::seconds(20);
            chain.push_at(
                at,
                "answer",
                json!({"step": step.id, "question": q.id, "answers": q.answers, "verdict": q.verdict}),
            );
        }
    }
    // The seal's timestamp is the session end, so it is stable across reseals.
    let mut sealed = chain;
    let data = json!({
        "report_sha256": crate::chain::report_digest(report),
        "score": report.score,
        "max_score": report.max_score,
    });
    sealed.push_at(report.finished_at, crate::chain::SEAL, data);
    report.events = sealed.into_events();
}

/// One file of a generated class, and what `tplab grade` must say about it.
#[derive(Debug, Clone)]
pub struct ClassFile {
    pub name: String,
    pub bytes: Vec<u8>,
    /// Expected flag names (`broken_chain`, `copied_evidence`, ...); empty for honest reports.
    pub expect: Vec<&'static str>,
    /// The file must fail to load.
    pub unreadable: bool,
}

/// A class of `count` (>= 100) students with the cases grading must catch: reports edited
/// after the fact (3), two pairs sharing live values, one from another lab version, one
/// student who submitted twice, and one truncated upload (the last file).
pub fn class(count: usize) -> Vec<ClassFile> {
    assert!(count >= 100, "the scenario uses indices up to 99");
    let mut files = Vec::with_capacity(count + 1);
    for i in 0..count {
        let mut r = student_report(i);
        let mut expect = Vec::new();
        match i {
            10 | 20 | 30 => {
                // Edited after the session: every failure turned into a pass.
                for step in &mut r.steps {
                    for c in &mut step.checks {
                        if c.verdict != Verdict::Pass {
                            c.verdict = Verdict::Pass;
                            c.points = c.max_points;
                        }
                    }
                    finish_step(step);
                }
                r.steps[0].checks[0].found = "default via 10.244.0.201 dev eth0 (edited)".into();
                r.total();
                expect.push("broken_chain");
            }
            40 | 41 | 60 | 61 => {
                if i % 2 == 1 {
                    // Copied the evidence of student i-1; the chain is rebuilt so it verifies.
                    let donor = student_report(i - 1);
                    r.steps = donor.steps;
                    r.env = donor.env;
                    r.total();
                    reseal(&mut r);
                }
                expect.push("copied_evidence");
            }
            77 => {
                r.lab.sha256 = sha256_hex("another version of the lab");
                r.lab.version = "1.1".into();
                reseal(&mut r);
                expect.push("other_lab_version");
            }
            _ => {}
        }
        let json = serde_json::to_vec_pretty(&r).unwrap_or_default();
        let name = format!("s{i:04}.json");
        if i == count - 1 {
            let cut = json.len() / 2;
            files.push(ClassFile {
                name,
                bytes: json[..cut].to_vec(),
                expect,
                unreadable: true,
            });
        } else {
            files.push(ClassFile {
                name,
                bytes: json,
                expect,
                unreadable: false,
            });
        }
    }
    // Student 5 ran the lab again later and submitted both reports.
    let mut again = student_report(5);
    again.started_at += Duration::hours(2);
    again.finished_at += Duration::hours(2);
    reseal(&mut again);
    files[5].expect.push("duplicate_student");
    files.push(ClassFile {
        name: "s0005-retry.json".into(),
        bytes: serde_json::to_vec_pretty(&again).unwrap_or_default(),
        expect: vec!["duplicate_student"],
        unreadable: false,
    });
    files
}

/// A lab file whose title and headings carry XML/HTML-special characters (`<`, `&`, quotes).
pub const EDGE_LAB_MD: &str = "---\nid: edge-lab\ntitle: \"Routes <edge> & NAT \\\"live\\\"\"\nlang: en\nversion: \"2\"\n---\n\n# Routes <edge> & NAT\n\n## Pod <eth0> & gateway\n\n## Node & lxc\n\n## NAT <masquerade>\n\n## Agent & conntrack\n";

/// sha256 of [`EDGE_LAB_MD`].
pub fn edge_lab_sha256() -> String {
    sha256_hex(EDGE_LAB_MD)
}

/// A report of [`EDGE_LAB_MD`] that exercises every export edge at once: every verdict
/// (pass, fail, error, skipped) in a check, a passed and a failed question; ids as the runner
/// writes them (`check-1` in every step, `transcript-1`); ANSI colour and title sequences,
/// BEL, lone CR, NUL and a bidi override in found values, messages, answers and command
/// output; `<`, `&` and quotes in the lab title, step titles, check names and prompts.
/// Sealed, so it grades clean against [`EDGE_LAB_MD`].
pub fn edge_report(index: usize) -> Report {
    let mut r = student_report(index);
    r.lab = LabInfo {
        id: "edge-lab".into(),
        title: "Routes <edge> & NAT \"live\"".into(),
        version: "2".into(),
        sha256: edge_lab_sha256(),
        path: "labs/edge-lab/lab.md".into(),
        lang: None,
    };
    r.student.id = Some(format!("edge-{index:02}"));
    let titles = [
        "Pod <eth0> & gateway",
        "Node & lxc",
        "NAT <masquerade>",
        "Agent & conntrack",
    ];
    let verdicts = [
        Verdict::Pass,
        Verdict::Fail,
        Verdict::Error,
        Verdict::Skipped,
    ];
    let mut n = 0;
    for (si, step) in r.steps.iter_mut().enumerate() {
        titles[si].clone_into(&mut step.title);
        for (ci, c) in step.checks.iter_mut().enumerate() {
            // The runner numbers checks and transcripts within their step.
            c.id = if si == 0 && ci == 0 {
                "transcript-1".into()
            } else {
                format!("check-{}", ci + usize::from(si != 0))
            };
            c.name = format!("{} <{}> & co", c.name, c.kind);
            c.verdict = verdicts[n % verdicts.len()];
            n += 1;
            c.points = if c.verdict == Verdict::Pass {
                c.max_points
            } else {
                0.0
            };
            match c.verdict {
                Verdict::Pass => {
                    c.found = format!("\u{1b}[32m{}\u{1b}[0m", c.found);
                }
                Verdict::Fail => {
                    c.found =
                        "\u{1b}[31mno route\u{1b}[0m to 203.0.113.10 <via> & \"nothing\"\u{7}"
                            .into();
                    c.message =
                        "progress 50%\rfailed: \u{1b}]0;pwned\u{7}route missing\u{0}\u{202e}txt"
                            .into();
                    c.evidence = serde_json::Value::Null;
                }
                Verdict::Error => {
                    c.found = String::new();
                    c.message =
                        "checker could not run: \u{1b}[1mEPERM\u{1b}[0m on netns <node>".into();
                    c.evidence = serde_json::Value::Null;
                }
                Verdict::Skipped => {
                    c.found = String::new();
                    c.message = "step not reached".into();
                    c.evidence = serde_json::Value::Null;
                }
            }
        }
    }
    let live = Live::for_index(index);
    r.steps[0].questions = vec![
        QuestionReport {
            id: "question-1".into(),
            prompt: "Which MAC answers for the <gateway> & why?".into(),
            answers: vec![live.gw_mac.clone()],
            verdict: Verdict::Pass,
            points: 2.0,
            max_points: 2.0,
            expected: live.gw_mac.clone(),
        },
        QuestionReport {
            id: "question-2".into(),
            prompt: "Which interface holds the gateway IP?".into(),
            answers: vec![
                "\u{1b}[31meth0\u{1b}[0m".into(),
                "<script>alert(1)</script> & co".into(),
            ],
            verdict: Verdict::Fail,
            points: 0.0,
            max_points: 1.0,
            expected: "cilium_host".into(),
        },
    ];
    r.steps[0].commands[0]
        .stdout
        .push_str("\u{1b}[31mred\u{1b}[0m <tag> & \r\n");
    for step in &mut r.steps {
        finish_step(step);
    }
    r.total();
    reseal(&mut r);
    r
}

/// The lab file of [`other_lab_report`].
pub const OTHER_LAB_MD: &str =
    "---\nid: other-lab\ntitle: Another lab\nlang: en\nversion: \"9\"\n---\n\n## One\n";

/// A report of another lab (its own id, title and sha256), every point ×4: graded against
/// [`LAB_MD`] it is flagged `other_lab_version`, and its grade (up to 64) exceeds the lab's
/// Points Possible (16).
pub fn other_lab_report(index: usize) -> Report {
    let mut r = student_report(index);
    r.lab = LabInfo {
        id: "other-lab".into(),
        title: "Another lab".into(),
        version: "9".into(),
        sha256: sha256_hex(OTHER_LAB_MD),
        path: "labs/other-lab/lab.md".into(),
        lang: None,
    };
    for step in &mut r.steps {
        for c in &mut step.checks {
            c.points *= 4.0;
            c.max_points *= 4.0;
        }
        for q in &mut step.questions {
            q.points *= 4.0;
            q.max_points *= 4.0;
        }
        finish_step(step);
    }
    r.total();
    reseal(&mut r);
    r
}
