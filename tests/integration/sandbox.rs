//! The sandbox through the CLI (root): the seed's observations hold as fact checks,
//! and break with clear messages when the state is altered; runs killed by SIGTERM or
//! SIGKILL leave nothing behind (after `sandbox down --all` for SIGKILL).

use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tplab_testkit::Suite;

use crate::harness::{Failed, fail, tplab};

/// Sandbox tests share machine-wide state (and one uses `down --all`): one at a time.
pub static SANDBOX_LOCK: Mutex<()> = Mutex::new(());

pub fn register(suite: Suite) -> Suite {
    suite
        .root_test(
            "sandbox::seed_observations_hold_and_break",
            seed_observations,
        )
        .root_test("sandbox::sigterm_leaves_nothing", || killed_run("TERM"))
        .root_test("sandbox::sigkill_then_down_all_leaves_nothing", || {
            killed_run("KILL")
        })
        .root_test("sandbox::two_sandboxes_side_by_side", two_sandboxes)
        .root_test("sandbox::agent_commands_probe_and_trace", agent_probe_trace)
        .root_test(
            "sandbox::missing_netns_is_an_error_not_a_failure",
            missing_netns_is_an_error,
        )
}

const LAB: &str = "tests/fixtures/labs/seed-observations.md";

/// A sandbox brought up through the CLI, removed on drop.
struct Up {
    id: String,
}

impl Up {
    fn new() -> Result<Up, Failed> {
        let out = tplab(["sandbox", "up", "--json"]).run();
        out.success()?;
        let id = out.json()?["id"]
            .as_str()
            .ok_or_else(|| fail("no id"))?
            .to_string();
        Ok(Up { id })
    }

    fn exec(&self, role: &str, script: &str) -> crate::harness::Output {
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

    fn check(&self, step: &str) -> crate::harness::Output {
        tplab(["check", LAB, "--sandbox", &self.id, "--step", step]).run()
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        let _ = tplab(["sandbox", "down", &self.id]).run();
    }
}

fn lock() -> std::sync::MutexGuard<'static, ()> {
    SANDBOX_LOCK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn seed_observations() -> Result<(), Failed> {
    let _l = lock();
    let sb = Up::new()?;
    sb.exec("pod", "ping -c 2 -W 2 203.0.113.10").success()?;
    for step in ["pod", "node", "routing"] {
        sb.check(step).success()?;
    }
    let lxc = sb
        .exec("node", "ip -o link | grep -o 'lxc[0-9a-f]*' | head -1")
        .stdout
        .trim()
        .to_string();

    // Route deleted: the default-route check fails and says what it found instead.
    sb.exec("pod", "ip route del default").success()?;
    sb.check("pod")
        .code(1)?
        .stdout_has("✘ default route via the gateway on eth0")?
        .stdout_has("expected: ")?;
    sb.exec("pod", "ip route add default via 10.244.0.201 dev eth0")
        .success()?;

    // ARP answering off on the lxc: the pod cannot learn the gateway MAC any more.
    // (The gateway IP is local to the node, on cilium_host, so the kernel answers for it
    // whatever proxy_arp says; arp_ignore=8 is what actually stops the replies.)
    let conf = format!("/proc/sys/net/ipv4/conf/{lxc}");
    sb.exec(
        "node",
        &format!("echo 0 > {conf}/proxy_arp; echo 8 > {conf}/arp_ignore"),
    )
    .success()?;
    sb.exec(
        "pod",
        "ip neigh flush dev eth0; ping -c 1 -W 1 203.0.113.10 || true",
    )
    .success()?;
    sb.check("pod")
        .code(1)?
        .stdout_has("✘ the gateway's MAC is known (ARP)")?
        .stdout_has("✘ the pod reaches the \"internet\"")?;
    sb.exec(
        "node",
        &format!("echo 1 > {conf}/proxy_arp; echo 0 > {conf}/arp_ignore"),
    )
    .success()?;
    // The entry was FAILED: resolution restarts with the next packet (about a second).
    sb.exec("pod", "ping -c 3 -W 3 203.0.113.10").success()?;

    // Filter detached: no BPF program on the lxc's ingress any more.
    sb.exec("node", &format!("tc filter del dev {lxc} ingress"))
        .success()?;
    sb.check("node")
        .code(1)?
        .stdout_has("✘ a BPF program on the lxc's ingress")?;

    // Cilium's NAT rule removed: new flows leave un-translated, replies never come back.
    sb.exec("node", "iptables -t nat -F CILIUM_POST_nat && conntrack -F")
        .success()?;
    sb.exec("pod", "ping -c 1 -W 1 203.0.113.10 || true")
        .success()?;
    sb.check("routing")
        .code(1)?
        .stdout_has("✘ the kernel's conntrack shows the ping source-NATed to the node")?;
    Ok(())
}

/// Network namespaces of one sandbox id still present.
fn leftovers(id: &str) -> Vec<String> {
    let mut left: Vec<String> = tplab_netns::list()
        .into_iter()
        .filter(|n| n.starts_with(&format!("tplab-{id}-")))
        .collect();
    for path in [
        format!("/run/tplab/sandboxes/{id}.json"),
        format!("/run/tplab/sandboxes/{id}.lock"),
        format!("/run/tplab/bpf/{id}"),
    ] {
        if std::path::Path::new(&path).exists() {
            left.push(path);
        }
    }
    left
}

fn killed_run(signal: &str) -> Result<(), Failed> {
    let _l = lock();
    // A made-up owner (the uid behind sudo), so `down --all` below only ever sweeps this
    // test's sandbox, never those other people run on the machine.
    let uid = 3_000_000 + crate::hardening_sandbox::unique();
    let down_all = || crate::hardening_sandbox::run_as(uid, &["sandbox", "down", "--all"]);
    let mut child = crate::hardening_sandbox::tplab_cmd(uid, &["run", "--auto", LAB])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| fail(e.to_string()))?;
    // Learn the sandbox id from the first line on stderr, then kill at a random point.
    let mut stderr = std::io::BufReader::new(child.stderr.take().expect("piped"));
    let mut line = String::new();
    std::io::BufRead::read_line(&mut stderr, &mut line).map_err(|e| fail(e.to_string()))?;
    let id = line
        .split_whitespace()
        .skip_while(|w| *w != "sandbox")
        .nth(1)
        .ok_or_else(|| fail(format!("no sandbox id in {line:?}")))?
        .to_string();
    let delay = Duration::from_millis(
        u64::from(std::process::id() % 7) * 60
            + u64::from(Instant::now().elapsed().subsec_nanos() % 200),
    );
    std::thread::sleep(delay);
    let pid = child.id().to_string();
    Command::new("kill")
        .args([&format!("-{signal}"), &pid])
        .status()
        .map_err(|e| fail(e.to_string()))?;
    let _ = child.wait();
    if signal == "KILL" {
        down_all().success()?;
    }
    let mut left = leftovers(&id);
    // Nothing of tplab's in the kernel either (programs go once their netns is gone).
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let progs = Command::new("bpftool")
            .args(["prog", "show"])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        let ours: Vec<&str> = progs
            .lines()
            // Kernel names keep 15 bytes; bpftool prints BTF's whole name when it can.
            .filter(|l| l.contains("cil_from_contai") || l.contains("cil_to_contai"))
            .collect();
        if ours.is_empty() {
            break;
        }
        if Instant::now() > deadline {
            left.push(format!("bpftool prog: {ours:?}"));
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    if !left.is_empty() {
        let _ = down_all();
        return Err(fail(format!(
            "after SIG{signal} at {delay:?}, left behind: {left:?}"
        )));
    }
    Ok(())
}

fn two_sandboxes() -> Result<(), Failed> {
    let _l = lock();
    let a = Up::new()?;
    let b = Up::new()?;
    if a.id == b.id {
        return Err(fail("two sandboxes got the same id"));
    }
    for sb in [&a, &b] {
        sb.exec("pod", "ping -c 1 -W 2 203.0.113.10").success()?;
        sb.check("routing").success()?;
    }
    // Breaking one leaves the other intact.
    a.exec("pod", "ip route del default").success()?;
    a.check("pod").code(1)?;
    b.check("pod").success()?;
    Ok(())
}

fn agent_probe_trace() -> Result<(), Failed> {
    let _l = lock();
    let sb = Up::new()?;
    sb.exec(
        "pod",
        "ping -c 2 -W 2 203.0.113.10 && wget -qO- http://203.0.113.10/",
    )
    .success()?;
    // The seed's agent commands, typed in the agent role, answered from the real BPF map.
    let ct = sb.exec("agent", "cilium bpf ct list global | grep 203.0.113.10");
    ct.success()?
        .stdout_has("ICMP OUT 10.244.0.213:")?
        .stdout_has("TCP OUT 10.244.0.213:")?
        .stdout_has("-> 203.0.113.10:80")?;
    sb.exec("agent", "cilium bpf nat list")
        .code(1)?
        .stderr_has("cilium_snat_v4_external")?;
    sb.exec("agent", "cilium config view | grep -i masq")
        .success()?
        .stdout_has("enable-bpf-masquerade")?
        .stdout_has("false")?;
    sb.exec("agent", "cilium help")
        .success()?
        .stdout_has("not Cilium")?;
    // tplab probe agrees with iproute2 on the pod's default route.
    let probe = tplab(["probe", "pod", "routes", "--json", "--sandbox", &sb.id]).run();
    let facts = probe.success()?.json()?;
    let ip = sb.exec("pod", "ip -j route show default");
    let ip: serde_json::Value =
        serde_json::from_str(&ip.stdout).map_err(|e| fail(e.to_string()))?;
    let gw = ip[0]["gateway"].as_str().unwrap_or_default().to_string();
    let routes = facts["facts"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|f| f["kind"] == "routes");
    let found = facts["format"] == "tplab.facts/1"
        && routes
            .and_then(|f| f["records"].as_array())
            .into_iter()
            .flatten()
            .any(|r| r["dst"] == "default" && r["gateway"] == gw.as_str());
    if !found || gw != "10.244.0.201" {
        return Err(fail(format!(
            "probe and ip -j disagree: gateway {gw:?}, probe {facts:#}"
        )));
    }
    // A live trace shows the hops and the SNAT on the node's eth0.
    tplab([
        "trace",
        "--sandbox",
        &sb.id,
        "--to",
        "203.0.113.10",
        "--duration",
        "3",
        "--run",
        "ping -c 2 -i 0.3 203.0.113.10",
    ])
    .run()
    .success()?
    .stdout_has("pod:eth0")?
    .stdout_has("NAT: source 10.244.0.213 -> 198.51.100.2")?;
    Ok(())
}

fn missing_netns_is_an_error() -> Result<(), Failed> {
    let _l = lock();
    let sb = Up::new()?;
    // The pod's namespace disappears under tplab: the checker cannot look.
    tplab_netns::delete(&format!("tplab-{}-pod", sb.id)).map_err(|e| fail(e.to_string()))?;
    let out = sb.check("pod");
    out.code(3)?
        .stdout_has("⚠ default route via the gateway on eth0")?
        .stdout_has("does not exist")?;
    if out.stdout.contains("✘") {
        return Err(fail(format!(
            "an unreadable namespace was charged to the student:\n{}",
            out.stdout
        )));
    }
    // The report keeps these out of the score and flags them.
    let dir = crate::harness::tempdir();
    tplab([
        "check",
        LAB,
        "--sandbox",
        &sb.id,
        "--step",
        "pod",
        "--report",
        dir.path().to_str().unwrap_or_default(),
    ])
    .run();
    let r: tplab_report::Report = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("report.json"))
            .map_err(|e| fail(e.to_string()))?,
    )
    .map_err(|e| fail(e.to_string()))?;
    if r.error_points < 5.0
        || r.steps[0]
            .checks
            .iter()
            .any(|c| c.verdict == tplab_report::Verdict::Fail)
    {
        return Err(fail(format!(
            "errors not flagged as such: error_points {} {:?}",
            r.error_points, r.steps[0].checks
        )));
    }
    Ok(())
}
