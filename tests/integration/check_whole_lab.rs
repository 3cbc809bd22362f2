//! `tplab check` of a whole lab (root): its `packets` checks that only watch are observed
//! together, after the other checks, in one window — the student is told so, and the
//! verdicts still come in the lab's order; traffic sent meanwhile passes both at once.
//! `--step` keeps that step's own window (no such note).

use std::process::{Command, Stdio};

use tplab_testkit::Suite;

use crate::harness::{Failed, ensure, fail, tplab};

const LAB: &str = "tests/fixtures/labs/whole-lab-packets.md";
const NOTE: &str = "observing the traffic of 2 packets checks at once, up to 3 s";

pub fn register(suite: Suite) -> Suite {
    suite.root_test(
        "check_whole_lab::packets_windows_observed_together",
        packets_together,
    )
}

/// A sandbox brought up through the CLI, removed on drop.
struct Up(String);

impl Drop for Up {
    fn drop(&mut self) {
        let _ = tplab(["sandbox", "down", &self.0]).run();
    }
}

/// `needles` appear in `text` in this order.
fn in_order(text: &str, needles: &[&str]) -> Result<(), Failed> {
    let mut rest = text;
    for n in needles {
        let at = rest
            .find(n)
            .ok_or_else(|| fail(format!("{n:?} missing (or out of order) in:\n{text}")))?;
        rest = &rest[at + n.len()..];
    }
    Ok(())
}

fn packets_together() -> Result<(), Failed> {
    let _l = crate::sandbox::SANDBOX_LOCK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let out = tplab(["sandbox", "up", "--json"]).run();
    out.success()?;
    let up = Up(out.json()?["id"]
        .as_str()
        .ok_or_else(|| fail("no id"))?
        .to_string());

    // Nobody sends traffic: both fail, reported in the lab's order, after one note.
    let quiet = tplab(["check", LAB, "--sandbox", &up.0]).run();
    quiet.code(1)?.stdout_has(NOTE)?;
    in_order(
        &quiet.stdout,
        &[
            "The ping leaves the pod",
            "✘ the ping leaves the pod",
            "The ping leaves the node NATed",
            "✔ default route via the gateway on eth0",
            "✘ the ping leaves the node NATed",
        ],
    )?;
    ensure(
        quiet.stdout.matches(NOTE).count() == 1,
        format!("one note for one window:\n{}", quiet.stdout),
    )?;

    // One step: its own window, no note.
    let step = tplab(["check", LAB, "--sandbox", &up.0, "--step", "nated"]).run();
    step.code(1)?
        .stdout_has("✘ the ping leaves the node NATed")?;
    ensure(
        !step.stdout.contains("observing the traffic"),
        format!("`--step` printed the whole-lab note:\n{}", step.stdout),
    )?;

    // A ping running meanwhile is seen by both checks of the one window.
    let mut ping = Command::new(crate::harness::bin())
        .args(["sandbox", "exec", "pod", "--sandbox", &up.0, "--"])
        .args(["ping", "-c", "15", "-i", "0.2", "-w", "4", "203.0.113.10"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| fail(format!("spawning the ping: {e}")))?;
    let busy = tplab(["check", LAB, "--sandbox", &up.0]).run();
    let _ = ping.kill();
    let _ = ping.wait();
    busy.success()?.stdout_has(NOTE)?;
    in_order(
        &busy.stdout,
        &[
            "✔ the ping leaves the pod",
            "✔ default route via the gateway on eth0",
            "✔ the ping leaves the node NATed",
        ],
    )?;
    Ok(())
}
