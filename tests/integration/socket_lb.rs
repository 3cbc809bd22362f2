//! Cilium's socket load-balancing in the sandbox (root): a lab with `services_lb: socket`
//! gets no `KUBE-*` rule for its Service; the pod's `connect()` to the `ClusterIP` is
//! rewritten by `cil_sock4_connect` on the sandbox's cgroup, so the backend on node 2
//! answers, the wire and conntrack show the pod→backend flow without any NAT, and
//! `getpeername()` still says `ClusterIP`. Checked with `iptables-save`, `bpftool -j cgroup
//! tree`, `bpftool -j map dump`, `conntrack -L`, the agent's `cilium service list`, the
//! lab's own packets check; and nothing is left after down, SIGTERM, or SIGKILL + down.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use tplab_testkit::Suite;

use crate::hardening_sandbox::{
    alive, announced_id, kill, run_as, sleeper, spawn_run, unique, wait_exit, wait_for,
};
use crate::harness::{Failed, ensure, fail, fixture, tplab};

const LAB: &str = "topology/socket-lb.md";

pub fn register(suite: Suite) -> Suite {
    suite
        .root_test(
            "socket_lb::connect_is_rewritten_to_the_backend_without_nat",
            connect_is_rewritten,
        )
        .root_test(
            "socket_lb::sigterm_and_sigkill_leave_no_cgroup_program_or_map",
            signals_leave_nothing,
        )
}

fn output(program: &str, args: &[&str]) -> Result<String, Failed> {
    let out = Command::new(program)
        .args(args)
        .output()
        .map_err(|e| fail(format!("{program}: {e}")))?;
    ensure(
        out.status.success(),
        format!(
            "{program} {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        ),
    )?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn json_of(program: &str, args: &[&str]) -> Result<Value, Failed> {
    serde_json::from_str(&output(program, args)?).map_err(|e| fail(format!("{program}: {e}")))
}

fn cgroup_root() -> Result<PathBuf, Failed> {
    tplab_sandbox::cgroup2_root().ok_or_else(|| fail("no cgroup2 mounted"))
}

fn cgroup_of(id: &str) -> Result<PathBuf, Failed> {
    tplab_sandbox::cgroup_dir(id).map_err(|e| fail(e.to_string()))
}

fn pins_of(id: &str) -> PathBuf {
    tplab_ebpf::pin_dir_for(id)
}

/// Program names `bpftool -j cgroup tree` shows attached to the cgroup of `id`.
fn cgroup_programs(id: &str) -> Result<Vec<(String, String)>, Failed> {
    let root = cgroup_root()?;
    let tree = json_of(
        "bpftool",
        &["-j", "cgroup", "tree", &root.to_string_lossy()],
    )?;
    let suffix = format!("/{}/{id}", tplab_sandbox::CGROUP_PARENT);
    Ok(tree
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["cgroup"].as_str().is_some_and(|p| p.ends_with(&suffix)))
        .flat_map(|c| c["programs"].as_array().cloned().unwrap_or_default())
        .map(|p| {
            (
                p["attach_type"].as_str().unwrap_or_default().to_string(),
                p["name"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect())
}

/// Nothing of sandbox `id` left: netns, cgroup (and so its programs), pins.
fn nothing_left(id: &str) -> Result<(), Failed> {
    let netns = output("ip", &["netns", "list"])?;
    ensure(
        !netns.contains(&format!("tplab-{id}-")),
        format!("netns left:\n{netns}"),
    )?;
    let cgroup = cgroup_of(id)?;
    ensure(!cgroup.exists(), format!("{} left", cgroup.display()))?;
    ensure(
        cgroup_programs(id)?.is_empty(),
        "programs left on the cgroup",
    )?;
    let pins = pins_of(id);
    ensure(!pins.exists(), format!("{} left", pins.display()))
}

struct Up {
    id: String,
    facts: Value,
}

impl Up {
    fn new() -> Result<Up, Failed> {
        let lab = fixture(LAB).to_string_lossy().into_owned();
        let out = tplab(["sandbox", "up", "--json", "--lab", &lab]).run();
        out.success()?;
        let json = out.json()?;
        let id = json["id"]
            .as_str()
            .ok_or_else(|| fail("no id"))?
            .to_string();
        Ok(Up {
            id,
            facts: json["facts"].clone(),
        })
    }

    fn fact(&self, key: &str) -> Result<String, Failed> {
        self.facts[key]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| fail(format!("no fact {key} in {}", self.facts)))
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
}

impl Drop for Up {
    fn drop(&mut self) {
        let _ = tplab(["sandbox", "down", &self.id]).run();
    }
}

fn connect_is_rewritten() -> Result<(), Failed> {
    let _l = crate::sandbox::SANDBOX_LOCK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let sb = Up::new()?;
    let node1 = format!("tplab-{}-node", sb.id);
    let (cluster_ip, web_ip, pod_ip) = (
        sb.fact("service.web.cluster_ip")?,
        sb.fact("pod.web.ip")?,
        sb.fact("pod_ip")?,
    );
    // No kube-proxy rule at all for the Service.
    let nat = output(
        "ip",
        &["netns", "exec", &node1, "iptables-save", "-t", "nat"],
    )?;
    ensure(
        !nat.contains("KUBE-SVC-") && !nat.contains(&cluster_ip),
        format!("kube-proxy rules for a socket-LB Service:\n{nat}"),
    )?;
    // The four programs on the sandbox's cgroup, Cilium's names (bpftool's hook names).
    let progs = cgroup_programs(&sb.id)?;
    for (hook, name) in [
        ("cgroup_inet4_connect", "cil_sock4_connect"),
        ("cgroup_udp4_sendmsg", "cil_sock4_sendmsg"),
        ("cgroup_udp4_recvmsg", "cil_sock4_recvmsg"),
        ("cgroup_inet4_getpeername", "cil_sock4_getpeername"),
    ] {
        ensure(
            progs
                .iter()
                .any(|(h, n)| h == hook && name.starts_with(n.as_str())),
            format!("no {name} on {hook}: {progs:?}"),
        )?;
    }
    // The Service in the pinned map: its frontend slot and one backend slot.
    let map = pins_of(&sb.id).join("tc/globals/cilium_lb4_services_v2");
    let dump = json_of(
        "bpftool",
        &["-j", "map", "dump", "pinned", &map.to_string_lossy()],
    )?;
    let octets: Vec<String> = cluster_ip
        .split('.')
        .map(|o| format!("0x{:02x}", o.parse::<u8>().unwrap_or(0)))
        .collect();
    let entries = dump.as_array().cloned().unwrap_or_default();
    let frontends = entries
        .iter()
        .filter(|e| {
            e["key"].as_array().is_some_and(|k| {
                k.iter()
                    .take(4)
                    .map(|b| b.as_str().unwrap_or(""))
                    .eq(octets.iter().map(String::as_str))
            })
        })
        .count();
    ensure(
        frontends == 2,
        format!("{cluster_ip}: {frontends} slots in the map (want 2):\n{dump}"),
    )?;
    // A real request to the ClusterIP, answered by the backend on node 2, which saw the
    // pod's own address.
    let out = sb.exec("pod", &format!("curl -s -m 5 http://{cluster_ip}/"));
    out.success()?;
    out.stdout_has(&format!("hello from pod web ({web_ip})"))?;
    out.stdout_has(&format!("you came from {pod_ip}"))?;
    // The application still sees the ClusterIP as its peer (getpeername4).
    let out = sb.exec(
        "pod",
        &format!(
            "python3 -c 'import socket; s=socket.create_connection((\"{cluster_ip}\", 80), 5); print(s.getpeername())'"
        ),
    );
    out.success()?
        .stdout_has(&format!("('{cluster_ip}', 80)"))?;
    // Conntrack on node 1: the pod→backend flow, never the ClusterIP, no NAT.
    let ct = output(
        "ip",
        &[
            "netns",
            "exec",
            &node1,
            "conntrack",
            "-L",
            "-p",
            "tcp",
            "--orig-dst",
            &web_ip,
        ],
    )?;
    ensure(
        ct.contains(&format!("src={pod_ip} dst={web_ip}"))
            && ct.contains(&format!("src={web_ip} dst={pod_ip} sport=8080")),
        format!("no plain pod→backend flow in node 1's conntrack:\n{ct}"),
    )?;
    let all = output("ip", &["netns", "exec", &node1, "conntrack", "-L"])?;
    ensure(
        !all.contains(&cluster_ip),
        format!("conntrack has the ClusterIP (a NAT entry):\n{all}"),
    )?;
    // The agent's view, read from the map.
    let out = sb.exec("agent", "cilium service list");
    out.success()?
        .stdout_has(&format!("{cluster_ip}:80/TCP"))?
        .stdout_has(&format!("1 => {web_ip}:8080/TCP (active)"))?;
    // The lab's own checks: the packets check (no DNAT hop: addressed to the backend at
    // pod:eth0, the ClusterIP never on the wire), no kube-proxy rule, the service list.
    let lab = fixture(LAB);
    tplab([
        "check",
        &lab.to_string_lossy(),
        "--sandbox",
        &sb.id,
        "--step",
        "service",
    ])
    .run()
    .success()?;
    let id = sb.id.clone();
    drop(sb);
    nothing_left(&id)
}

/// A lab of one pod step running `sleep <duration>`, on a socket-LB sandbox.
fn write_lab(dir: &Path, duration: &str) -> Result<PathBuf, Failed> {
    let md = format!(
        "---\nid: socklb-hold\ntitle: Hold on\nenvironments: [sandbox]\nroles: [pod]\n\
         sandbox:\n  pods:\n    web: {{ serve: 8080 }}\n  services:\n    - {{ name: web, port: 80, target_port: 8080, backends: [web] }}\n  services_lb: socket\n---\n\
         \n## Wait {{#wait}}\n\n```sh {{target=pod}}\nsleep {duration}\n```\n\n\
         ```check\n- name: nothing to check\n  run: \"true\"\n```\n"
    );
    let path = dir.join("lab.md");
    std::fs::write(&path, md).map_err(|e| fail(e.to_string()))?;
    Ok(path)
}

fn signals_leave_nothing() -> Result<(), Failed> {
    for sig in ["TERM", "KILL"] {
        let uid = 3_100_000 + unique();
        let duration = format!("902.{}", unique());
        let dir = crate::harness::tempdir();
        let lab = write_lab(dir.path(), &duration)?;
        let mut child = spawn_run(uid, &lab, "sandbox", dir.path())?;
        let result = (|| {
            let pid = sleeper(&duration)?;
            let id = announced_id(dir.path()).ok_or_else(|| fail("no sandbox announced"))?;
            // The lab's command runs in the sandbox's cgroup.
            let cg = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default();
            let want = format!("0::/{}/{id}", tplab_sandbox::CGROUP_PARENT);
            ensure(
                cg.lines().any(|l| l == want),
                format!("the lab command is not in {want}:\n{cg}"),
            )?;
            ensure(
                !cgroup_programs(&id)?.is_empty(),
                "no program on the cgroup",
            )?;
            kill(child.id(), sig);
            let status = wait_exit(&mut child)?;
            if sig == "TERM" {
                ensure(
                    status.code() == Some(143),
                    format!("tplab exited {status:?}, not 143"),
                )?;
            } else {
                // A SIGKILL leaves it all; `down` (by id) sweeps it.
                ensure(cgroup_of(&id)?.exists(), "SIGKILL left no cgroup to sweep?")?;
                run_as(uid, &["sandbox", "down", &id, "--force"]).success()?;
            }
            ensure(
                wait_for(Duration::from_secs(3), || (!alive(pid)).then_some(())).is_some(),
                format!("{sig}: the lab command outlived the sandbox"),
            )?;
            nothing_left(&id).map_err(|e| fail(format!("after SIG{sig}: {e:?}")))
        })();
        let _ = child.kill();
        let _ = child.wait();
        if let Some(id) = announced_id(dir.path()) {
            let _ = run_as(uid, &["sandbox", "down", &id, "--force"]);
        }
        result?;
    }
    Ok(())
}
