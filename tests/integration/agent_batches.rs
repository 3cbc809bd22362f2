//! A step's reads through the node agent in one round trip (root): the agent's own log
//! (`TPLAB_AGENT_LOG=batches`) counts the requests it answered; `bpf_map` checks read
//! Cilium's CT maps through it, and a map of a layout tplab does not know is an error
//! verdict naming the Cilium version it reads.

use std::process::Command;

use serde_json::Value;
use tplab_testkit::Suite;

use crate::agent::Up;
use crate::harness::{Failed, fail, tplab};

pub fn register(suite: Suite) -> Suite {
    suite
        .root_test(
            "agent_batches::one_round_trip_per_step",
            one_round_trip_per_step,
        )
        .root_test(
            "agent_batches::seed_ct_checks_through_the_agent",
            seed_ct_checks,
        )
        .root_test(
            "agent_batches::foreign_ct_layout_is_an_error_verdict",
            foreign_layout,
        )
}

/// The agent's log lines: `(request id, answers)` per round trip.
fn round_trips(stderr: &str) -> Vec<(String, usize)> {
    stderr
        .lines()
        .filter_map(|l| l.strip_prefix("tplab agent: request "))
        .filter_map(|l| {
            let (id, rest) = l.split_once(": ")?;
            let n = rest.split_whitespace().next()?.parse().ok()?;
            Some((id.to_string(), n))
        })
        .collect()
}

/// `(step, check name, verdict, message)` of a `check --json` output.
fn verdicts(out: &Value) -> Vec<(String, String, String, String)> {
    let steps = out
        .as_array()
        .cloned()
        .or_else(|| out["steps"].as_array().cloned())
        .unwrap_or_default();
    steps
        .iter()
        .flat_map(|s| {
            let step = s["id"].as_str().unwrap_or_default().to_string();
            s["checks"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(move |c| {
                    (
                        step.clone(),
                        c["name"].as_str().unwrap_or_default().to_string(),
                        c["verdict"].as_str().unwrap_or_default().to_string(),
                        c["message"].as_str().unwrap_or_default().to_string(),
                    )
                })
        })
        .collect()
}

fn traffic(sb: &Up) -> Result<(), Failed> {
    sb.exec(
        "pod",
        "ping -c 1 -W 2 203.0.113.10 && wget -q -O /dev/null http://203.0.113.10/",
    )
    .success()?;
    Ok(())
}

fn one_round_trip_per_step() -> Result<(), Failed> {
    const LAB: &str = "tests/fixtures/labs/agent-batches.md";
    let sb = Up::new()?;
    traffic(&sb)?;
    let out = tplab(["check", LAB, "--sandbox", &sb.id, "--json"])
        .env("TPLAB_FACTS_VIA", "agent")
        .env("TPLAB_AGENT_LOG", "batches")
        .run();
    out.success()?;
    let v = verdicts(&out.json()?);
    if v.len() != 11 || v.iter().any(|(_, _, verdict, _)| verdict != "pass") {
        return Err(fail(format!("verdicts through the agent: {v:?}")));
    }
    // Three steps, three requests; the two `bpf_map` checks share one CT map read.
    let trips = round_trips(&out.stderr);
    let answers: Vec<usize> = trips.iter().map(|(_, n)| *n).collect();
    if answers != [4, 4, 2] {
        return Err(fail(format!(
            "round trips {trips:?}, expected one per step (4, 4 and 2 answers)\n{}",
            out.stderr
        )));
    }
    // The same verdicts read in-process.
    let inproc = tplab(["check", LAB, "--sandbox", &sb.id, "--json"]).run();
    if verdicts(&inproc.json()?) != v {
        return Err(fail(format!(
            "in-process {:?}\nagent {v:?}",
            verdicts(&inproc.json()?)
        )));
    }
    Ok(())
}

fn seed_ct_checks() -> Result<(), Failed> {
    let sb = Up::new()?;
    traffic(&sb)?;
    let out = tplab([
        "check",
        "labs/ebpf-network-deep-dive",
        "--sandbox",
        &sb.id,
        "--step",
        "agent-ct",
        "--json",
    ])
    .env("TPLAB_FACTS_VIA", "agent")
    .env("TPLAB_AGENT_LOG", "batches")
    .run();
    let v = verdicts(&out.json()?);
    for name in ["TCP OUT", "ICMP OUT"] {
        if !v.iter().any(|(step, n, verdict, _)| {
            step == "agent-ct" && n.contains(name) && verdict == "pass"
        }) {
            return Err(fail(format!(
                "no passing {name} check: {v:?}\n{}",
                out.stderr
            )));
        }
    }
    if round_trips(&out.stderr).is_empty() {
        return Err(fail(format!("the agent answered nothing: {}", out.stderr)));
    }
    // Cross-checked with bpftool: the maps the agent read hold entries.
    let root = format!("/run/tplab/bpf/{}/tc/globals", sb.id);
    for map in ["cilium_ct4_global", "cilium_ct_any4_global"] {
        let dump = Command::new("bpftool")
            .args(["-j", "map", "dump", "pinned", &format!("{root}/{map}")])
            .output()
            .map_err(|e| fail(format!("bpftool: {e}")))?;
        let entries: Value = serde_json::from_slice(&dump.stdout)
            .map_err(|e| fail(format!("bpftool map dump {map}: {e}")))?;
        if entries.as_array().is_none_or(Vec::is_empty) {
            return Err(fail(format!("bpftool shows {map} empty")));
        }
    }
    Ok(())
}

/// Puts a map of another layout (8-byte keys and values) where the sandbox's ICMP CT
/// map is pinned, and pins the real one back (by id: the datapath program keeps it
/// alive meanwhile; bpffs does not rename pins) on drop.
struct ForeignMap {
    pin: String,
    id: u64,
}

fn bpftool(args: &[&str]) -> Result<String, Failed> {
    let out = Command::new("bpftool")
        .args(args)
        .output()
        .map_err(|e| fail(format!("bpftool: {e}")))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(fail(format!(
            "bpftool {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        )))
    }
}

impl ForeignMap {
    fn install(pin: String) -> Result<ForeignMap, Failed> {
        let shown: Value = serde_json::from_str(&bpftool(&["-j", "map", "show", "pinned", &pin])?)
            .map_err(|e| fail(format!("bpftool map show: {e}")))?;
        let id = shown["id"]
            .as_u64()
            .ok_or_else(|| fail(format!("no map id in {shown}")))?;
        std::fs::remove_file(&pin).map_err(|e| fail(format!("unpinning {pin}: {e}")))?;
        let guard = ForeignMap { pin, id };
        bpftool(&[
            "map",
            "create",
            &guard.pin,
            "type",
            "hash",
            "key",
            "8",
            "value",
            "8",
            "entries",
            "16",
            "name",
            "foreign_ct",
        ])?;
        Ok(guard)
    }
}

impl Drop for ForeignMap {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.pin);
        let _ = bpftool(&["map", "pin", "id", &self.id.to_string(), &self.pin]);
    }
}

fn foreign_layout() -> Result<(), Failed> {
    const LAB: &str = "tests/fixtures/labs/agent-batches.md";
    let sb = Up::new()?;
    traffic(&sb)?;
    let pin = format!("/run/tplab/bpf/{}/tc/globals/cilium_ct_any4_global", sb.id);
    let foreign = ForeignMap::install(pin)?;
    for via in ["agent", "inproc"] {
        let out = tplab(["check", LAB, "--sandbox", &sb.id, "--step", "ct", "--json"])
            .env("TPLAB_FACTS_VIA", via)
            .run();
        let v = verdicts(&serde_json::json!({ "steps": out.json()? }));
        let ct: Vec<_> = v
            .iter()
            .filter(|(_, n, _, _)| n.contains("OUT entry"))
            .collect();
        if ct.len() != 2
            || ct.iter().any(|(_, _, verdict, message)| {
                verdict != "error" || !message.contains("Cilium 1.16")
            })
        {
            return Err(fail(format!(
                "{via}: a foreign CT layout must be an error naming Cilium 1.16: {v:?}"
            )));
        }
        // Not charged to the student: the route check still passes, the run is no failure.
        if !v
            .iter()
            .any(|(_, n, verdict, _)| n.contains("default route") && verdict == "pass")
        {
            return Err(fail(format!("{via}: {v:?}")));
        }
        if out.code == 1 {
            return Err(fail(format!("{via}: an error verdict exited as a failure")));
        }
    }
    drop(foreign);
    // Put back: the checks pass again.
    let out = tplab(["check", LAB, "--sandbox", &sb.id, "--step", "ct"])
        .env("TPLAB_FACTS_VIA", "agent")
        .run();
    out.success()?;
    Ok(())
}
