//! The node agent (root): `tplab agent` driven over a pipe against a sandbox answers what
//! `tplab probe --json` and `ip -j` show in the same namespace, finds the pod from its
//! IP, answers malformed input with error answers and keeps serving; the engine gives
//! the same verdicts with its facts read in-process and through the agent.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use serde_json::{Value, json};
use tplab_testkit::Suite;

use crate::harness::{Failed, fail, tplab};

pub fn register(suite: Suite) -> Suite {
    suite
        .root_test(
            "agent::answers_equal_probe_and_iproute2",
            answers_equal_probe_and_iproute2,
        )
        .root_test("agent::malformed_input_gets_error_answers", malformed_input)
        .root_test(
            "agent::engine_verdicts_same_in_process_and_through_agent",
            same_verdicts,
        )
        .root_test(
            "agent::observe_streams_packets_and_detaches",
            observe_streams_packets,
        )
}

/// A sandbox brought up through the CLI, removed on drop.
pub struct Up {
    pub id: String,
    _guard: std::sync::MutexGuard<'static, ()>,
}

impl Up {
    pub fn new() -> Result<Up, Failed> {
        // `sandbox::sigkill_then_down_all_leaves_nothing` runs `down --all`: not meanwhile.
        let guard = crate::sandbox::SANDBOX_LOCK
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let out = tplab(["sandbox", "up", "--json"]).run();
        out.success()?;
        let id = out.json()?["id"]
            .as_str()
            .ok_or_else(|| fail("no id"))?
            .to_string();
        Ok(Up { id, _guard: guard })
    }

    pub fn netns(&self, role: &str) -> String {
        format!("/run/netns/tplab-{}-{role}", self.id)
    }

    pub fn exec(&self, role: &str, script: &str) -> crate::harness::Output {
        tplab([
            "sandbox",
            "exec",
            role,
            "--sandbox",
            &self.id,
            "--",
            "sh",
            "-c",
            script,
        ])
        .run()
    }

    pub fn probe(&self, role: &str, kind: &str) -> Result<Value, Failed> {
        let out = tplab(["probe", role, kind, "--json", "--sandbox", &self.id]).run();
        out.success()?;
        Ok(out.json()?["facts"].clone())
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        let _ = tplab(["sandbox", "down", &self.id]).run();
    }
}

/// A `tplab agent` process and its pipes; killed on drop.
struct Agent {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
}

impl Agent {
    fn spawn(scan: &str) -> Result<Agent, Failed> {
        let mut child = crate::harness::command()
            .args(["agent", "--scan", scan])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| fail(format!("spawning tplab agent: {e}")))?;
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().ok_or_else(|| fail("no stdout"))?);
        Ok(Agent {
            child,
            stdin,
            stdout,
        })
    }

    /// Writes `line` (a newline is added) and reads the one answer line.
    fn send(&mut self, line: &str) -> Result<Value, Failed> {
        let stdin = self.stdin.as_mut().ok_or_else(|| fail("stdin closed"))?;
        writeln!(stdin, "{line}").map_err(|e| fail(format!("writing: {e}")))?;
        stdin.flush().map_err(|e| fail(e.to_string()))?;
        let mut answer = String::new();
        self.stdout
            .read_line(&mut answer)
            .map_err(|e| fail(format!("reading: {e}")))?;
        serde_json::from_str(&answer).map_err(|e| fail(format!("answer `{answer}`: {e}")))
    }

    /// Writes `line` and reads until its answer: the observations' lines before it too.
    fn send_streaming(&mut self, line: &str) -> Result<(Vec<Value>, Value), Failed> {
        let stdin = self.stdin.as_mut().ok_or_else(|| fail("stdin closed"))?;
        writeln!(stdin, "{line}").map_err(|e| fail(format!("writing: {e}")))?;
        stdin.flush().map_err(|e| fail(e.to_string()))?;
        let mut events = Vec::new();
        loop {
            let mut text = String::new();
            let n = self
                .stdout
                .read_line(&mut text)
                .map_err(|e| fail(format!("reading: {e}")))?;
            if n == 0 {
                return Err(fail("the agent's output ended"));
            }
            let v: Value =
                serde_json::from_str(&text).map_err(|e| fail(format!("line `{text}`: {e}")))?;
            if v.get("observed").is_some() {
                events.push(v);
            } else {
                return Ok((events, v));
            }
        }
    }

    fn batch(&mut self, id: &str, queries: &Value) -> Result<Value, Failed> {
        let a = self
            .send(&json!({"format": "tplab.facts/1", "id": id, "queries": queries}).to_string())?;
        if a["id"] != id || a.get("error").is_some() {
            return Err(fail(format!("batch {id}: {a}")));
        }
        Ok(a)
    }

    /// Closes stdin: the agent must end with status 0.
    fn finish(mut self) -> Result<(), Failed> {
        drop(self.stdin.take());
        let status = self.child.wait().map_err(|e| fail(e.to_string()))?;
        if status.success() {
            Ok(())
        } else {
            Err(fail(format!("the agent ended with {status}")))
        }
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn facts_of(answer: &Value, i: usize) -> Result<&Value, Failed> {
    let a = &answer["answers"][i];
    a.get("facts")
        .ok_or_else(|| fail(format!("answer {i} has no facts: {a}")))
}

fn ip_json(netns: &str, args: &[&str]) -> Result<Value, Failed> {
    let out = Command::new("ip")
        .args(["-n", netns, "-j"])
        .args(args)
        .output()
        .map_err(|e| fail(format!("ip: {e}")))?;
    serde_json::from_slice(&out.stdout).map_err(|e| fail(format!("ip -j {args:?}: {e}")))
}

fn answers_equal_probe_and_iproute2() -> Result<(), Failed> {
    let sb = Up::new()?;
    let mut agent = Agent::spawn(&format!("/run/netns/tplab-{}-", sb.id))?;
    let kinds = ["links", "addresses", "routes", "bpf"];
    // All of the step's probes in one request: the pod found by its IP, the node by path.
    let a = agent.batch(
        "step-1",
        &json!([
            {"id": "pod", "netns": {"pod_ip": "10.244.0.213"}, "kinds": kinds},
            {"id": "node", "netns": {"path": sb.netns("node")}, "kinds": kinds},
            {"id": "gw", "netns": {"pod_ip": "10.244.0.213"},
             "query": {"route": {"dst": "default", "gateway": "10.244.0.201"}}},
        ]),
    )?;
    let answers = a["answers"].as_array().map_or(0, Vec::len);
    if answers != 3 {
        return Err(fail(format!("3 answers expected: {a}")));
    }
    if a["answers"][0]["netns"] != sb.netns("pod") {
        return Err(fail(format!(
            "the pod's IP resolved to {}",
            a["answers"][0]["netns"]
        )));
    }
    for (i, role) in [(0, "pod"), (1, "node")] {
        let got = facts_of(&a, i)?;
        for (k, kind) in kinds.iter().enumerate() {
            let want = &sb.probe(role, kind)?[0];
            if &got[k] != want {
                return Err(fail(format!(
                    "{role} {kind}: agent and `tplab probe` differ:\n{}\n{want}",
                    got[k]
                )));
            }
        }
    }
    // Cross-checked with iproute2 in the pod's namespace.
    let pod = facts_of(&a, 0)?;
    let ns = format!("tplab-{}-pod", sb.id);
    let ip_addrs = ip_json(&ns, &["addr"])?;
    let mut want: Vec<String> = ip_addrs
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|l| {
            let name = l["ifname"].as_str().unwrap_or_default().to_string();
            l["addr_info"]
                .as_array()
                .into_iter()
                .flatten()
                .map(move |a| format!("{name} {}/{}", text(&a["local"]), a["prefixlen"]))
        })
        .collect();
    let mut got: Vec<String> = pod[1]["records"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| {
            format!(
                "{} {}/{}",
                text(&a["ifname"]),
                text(&a["address"]),
                a["prefix_len"]
            )
        })
        .collect();
    want.sort();
    got.sort();
    if want != got {
        return Err(fail(format!("addresses: ip -j {want:?}, agent {got:?}")));
    }
    let ip_routes = ip_json(&ns, &["route", "show", "table", "main"])?;
    let mut want: Vec<String> = ip_routes
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| format!("{} {}", text(&r["dst"]), text(&r["dev"])))
        .collect();
    let mut got: Vec<String> = pod[2]["records"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["table"] == "main" && r["family"] == "inet")
        .map(|r| {
            format!(
                "{} {}",
                text(&r["dst"]).trim_end_matches("/32"),
                text(&r["dev"])
            )
        })
        .collect();
    want.sort();
    got.sort();
    if want != got {
        return Err(fail(format!("routes: ip -j {want:?}, agent {got:?}")));
    }
    let links: Vec<String> = ip_json(&ns, &["link"])?
        .as_array()
        .into_iter()
        .flatten()
        .map(|l| format!("{} {}", text(&l["ifname"]), l["ifindex"]))
        .collect();
    let agent_links: Vec<String> = pod[0]["records"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|l| format!("{} {}", text(&l["name"]), l["ifindex"]))
        .collect();
    if links != agent_links {
        return Err(fail(format!(
            "links: ip -j {links:?}, agent {agent_links:?}"
        )));
    }
    // The query form: the default route the check would match.
    let gw = facts_of(&a, 2)?;
    if !gw[0]["records"].as_array().is_some_and(|r| {
        r.iter()
            .any(|r| r["dst"] == "default" && r["gateway"] == "10.244.0.201")
    }) {
        return Err(fail(format!("no default route in {gw}")));
    }
    // A second batch over the same session (the pod's namespace remembered, checked).
    let b = agent.batch(
        "step-2",
        &json!([
            {"id": "w", "netns": {"path": sb.netns("world")}, "kinds": ["addresses"]},
            {"id": "p", "netns": {"pod_ip": "10.244.0.213"}, "kinds": ["addresses"]},
        ]),
    )?;
    if !facts_of(&b, 0)?.to_string().contains("203.0.113.10") {
        return Err(fail(format!("the world's addresses: {b}")));
    }
    if b["answers"][1]["netns"] != sb.netns("pod") {
        return Err(fail(format!("the pod, second time: {}", b["answers"][1])));
    }
    agent.finish()
}

fn text(v: &Value) -> String {
    v.as_str().map_or_else(|| v.to_string(), str::to_string)
}

fn malformed_input() -> Result<(), Failed> {
    let sb = Up::new()?;
    let mut agent = Agent::spawn(&format!("/run/netns/tplab-{}-", sb.id))?;
    let code = |a: &Value| a["error"]["code"].as_str().unwrap_or("none").to_string();
    for (line, want) in [
        ("{\"format\":\"tplab.facts/1\"", "bad_request"),
        ("[]", "bad_request"),
        ("{\"format\":\"tplab.facts/7\",\"queries\":[]}", "format"),
        ("{\"queries\":[]}", "bad_request"),
    ] {
        let a = agent.send(line)?;
        if code(&a) != want {
            return Err(fail(format!("`{line}` -> {a}, expected {want}")));
        }
    }
    let huge = format!(
        "{{\"format\":\"tplab.facts/1\",\"id\":\"{}\",\"queries\":[]}}",
        "x".repeat(tplab_probe::agent::MAX_LINE)
    );
    let a = agent.send(&huge)?;
    if code(&a) != "too_large" {
        return Err(fail(format!("a 1 MiB line -> {a}")));
    }
    // One batch, each bad query answered with its own error, the good one with facts.
    let a = agent.batch(
        "mixed",
        &json!([
            {"id": "1", "kinds": ["routez"]},
            {"id": "2", "netns": {"pod_ip": "10.9.9.9"}, "kinds": ["links"]},
            {"id": "3", "netns": {"pid": 0}, "kinds": ["links"]},
            {"id": "4", "query": {"route": {"dst": "default", "colour": "blue"}}},
            {"id": "5", "netns": {"path": sb.netns("pod")}, "kinds": ["routes"]},
        ]),
    )?;
    let codes: Vec<String> = (0..4).map(|i| code(&a["answers"][i])).collect();
    if codes != ["bad_request", "netns", "netns", "bad_request"] {
        return Err(fail(format!("per-query errors: {codes:?} in {a}")));
    }
    if !a["answers"][1]["error"]["message"]
        .as_str()
        .is_some_and(|m| m.contains("no network namespace of this node holds 10.9.9.9"))
    {
        return Err(fail(format!("the unknown pod IP: {}", a["answers"][1])));
    }
    facts_of(&a, 4)?;
    agent.finish()
}

/// Verdict of every check, by step and name.
fn verdicts(report: &Value) -> Vec<(String, String, String)> {
    report["steps"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|s| {
            let step = text(&s["id"]);
            s["checks"]
                .as_array()
                .into_iter()
                .flatten()
                .map(move |c| (step.clone(), text(&c["name"]), text(&c["verdict"])))
        })
        .collect()
}

fn same_verdicts() -> Result<(), Failed> {
    const LAB: &str = "tests/fixtures/labs/seed-observations.md";
    let sb = Up::new()?;
    sb.exec("pod", "ping -c 2 -W 2 203.0.113.10").success()?;
    let inproc = tplab(["check", LAB, "--sandbox", &sb.id, "--json"]).run();
    let via_agent = tplab(["check", LAB, "--sandbox", &sb.id, "--json"])
        .env("TPLAB_FACTS_VIA", "agent")
        .run();
    let (a, b) = (verdicts(&inproc.json()?), verdicts(&via_agent.json()?));
    if a.is_empty() || a.iter().any(|(_, _, v)| v != "pass") {
        return Err(fail(format!("in-process verdicts: {a:?}")));
    }
    if a != b {
        return Err(fail(format!(
            "verdicts differ:\nin-process {a:?}\nagent      {b:?}"
        )));
    }
    // Broken state breaks both the same way (the default route deleted).
    sb.exec("pod", "ip route del default").success()?;
    let inproc = tplab(["check", LAB, "--sandbox", &sb.id, "--step", "pod", "--json"]).run();
    let via_agent = tplab(["check", LAB, "--sandbox", &sb.id, "--step", "pod", "--json"])
        .env("TPLAB_FACTS_VIA", "agent")
        .run();
    inproc.code(1)?;
    via_agent.code(1)?;
    let wrap = |v: Value| json!({ "steps": v });
    let (a, b) = (
        verdicts(&wrap(inproc.json()?)),
        verdicts(&wrap(via_agent.json()?)),
    );
    if a != b || !a.iter().any(|(_, _, v)| v == "fail") {
        return Err(fail(format!("after the route's deletion:\n{a:?}\n{b:?}")));
    }
    Ok(())
}

/// The TCX links process `pid` holds, from its fdinfo (kernel state): (link id, ifindex).
fn tcx_links_of(pid: u32) -> Vec<(u64, u64)> {
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/fdinfo")) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in dir.filter_map(Result::ok) {
        let Ok(text) = std::fs::read_to_string(entry.path()) else {
            continue;
        };
        let field = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name))
                .map(|v| v.trim().to_string())
        };
        if field("link_type:").as_deref() == Some("tcx") {
            let num = |name: &str| field(name).and_then(|v| v.parse().ok()).unwrap_or(0);
            out.push((num("link_id:"), num("ifindex:")));
        }
    }
    out.sort_unstable();
    out
}

/// Link ids `bpftool -j link show` lists.
fn bpftool_link_ids() -> Result<Vec<u64>, Failed> {
    let out = Command::new("bpftool")
        .args(["-j", "link", "show"])
        .output()
        .map_err(|e| fail(format!("bpftool: {e}")))?;
    let v: Value =
        serde_json::from_slice(&out.stdout).map_err(|e| fail(format!("bpftool: {e}")))?;
    Ok(v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|l| l["id"].as_u64())
        .collect())
}

fn observe_streams_packets() -> Result<(), Failed> {
    let sb = Up::new()?;
    let node = format!("tplab-{}-node", sb.id);
    let links = ip_json(&node, &["link"])?;
    let lxc = links
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|l| l["ifname"].as_str())
        .find(|n| n.starts_with("lxc"))
        .ok_or_else(|| fail("no lxc on the node"))?
        .to_string();
    let mut agent = Agent::spawn(&format!("/run/netns/tplab-{}-", sb.id))?;
    let pid = agent.child.id();
    let start = json!({"format": "tplab.facts/1", "id": "s", "queries": [{"id": "o", "observe": {
    "id": "obs1",
    "points": [
        {"netns": {"pod_ip": "10.244.0.213"}, "ifname": "eth0", "label": "pod:eth0"},
        {"netns": {"path": sb.netns("node")}, "ifname": lxc, "label": "node:lxc"},
    ]}}]});
    let (_, answer) = agent.send_streaming(&start.to_string())?;
    if answer["answers"][0]["observing"] != "obs1" {
        return Err(fail(format!("observe: {answer}")));
    }
    // Four TCX links (two points, both hooks) held by the agent, listed by bpftool.
    let held = tcx_links_of(pid);
    let listed = bpftool_link_ids()?;
    if held.len() != 4 || held.iter().any(|(id, _)| !listed.contains(id)) {
        return Err(fail(format!(
            "agent's TCX links {held:?}, bpftool lists {listed:?}"
        )));
    }
    sb.exec("pod", "ping -c 2 -i 0.2 -W 2 203.0.113.10")
        .success()?;
    let stop = json!({"format": "tplab.facts/1", "id": "u", "queries": [{"id": "x", "unobserve": "obs1"}]});
    let (lines, answer) = agent.send_streaming(&stop.to_string())?;
    if answer["answers"][0]["observing"] != "obs1" {
        return Err(fail(format!("unobserve: {answer}")));
    }
    // The ping's requests, seen leaving the pod and entering the lxc, before the answer.
    let events: Vec<&Value> = lines
        .iter()
        .flat_map(|l| l["events"].as_array().into_iter().flatten())
        .collect();
    let seen = |label: &str, dir: &str| {
        events.iter().any(|e| {
            e["label"] == label
                && e["dir"] == dir
                && e["proto"] == "icmp"
                && e["src"] == "10.244.0.213"
                && e["dst"] == "203.0.113.10"
        })
    };
    if !seen("pod:eth0", "egress") || !seen("node:lxc", "ingress") {
        return Err(fail(format!("events: {events:?}")));
    }
    if lines.last().is_none_or(|l| l["end"] != true) {
        return Err(fail(format!("no end line before the answer: {lines:?}")));
    }
    // Detached: the agent holds no TCX link and bpftool lists none of them.
    let after = bpftool_link_ids()?;
    if !tcx_links_of(pid).is_empty() || held.iter().any(|(id, _)| after.contains(id)) {
        return Err(fail(format!(
            "links left: {:?} (held {held:?})",
            tcx_links_of(pid)
        )));
    }
    // An observation left running goes with the agent's end of input.
    let (_, answer) = agent.send_streaming(&start.to_string())?;
    if answer["answers"][0]["observing"] != "obs1" {
        return Err(fail(format!("observe again: {answer}")));
    }
    let held = tcx_links_of(pid);
    agent.finish()?;
    let after = bpftool_link_ids()?;
    if held.len() != 4 || held.iter().any(|(id, _)| after.contains(id)) {
        return Err(fail(format!(
            "after the end: held {held:?}, listed {after:?}"
        )));
    }
    Ok(())
}
