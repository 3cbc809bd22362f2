//! Roles, several sandboxes and pods at once, state, teardown.

use tplab_sandbox::{PodConfig, Role, Sandbox, SandboxConfig, SandboxGuard};
use tplab_testkit::{check, fail};

use crate::support::{R, fact, ip_json, leftovers, sandbox, test_id};

fn run(sb: &Sandbox, role: &Role, script: &str) -> Result<String, tplab_testkit::Failed> {
    let out = sb
        .std_command(role, script)
        .map_err(|e| fail(e.to_string()))?
        .output()
        .map_err(|e| fail(e.to_string()))?;
    check!(
        out.status.success(),
        "`{script}` as {role}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

pub fn roles_run_in_their_netns() -> R {
    let sb = sandbox()?;
    let inode = |p: &str| std::fs::metadata(p).map(|m| std::os::unix::fs::MetadataExt::ino(&m));
    for (role, ns) in [
        (Role::Pod, Some(fact(&sb, "pod_netns")?)),
        (Role::Node, Some(fact(&sb, "node_netns")?)),
        (Role::Agent, Some(fact(&sb, "node_netns")?)),
        (Role::World, Some(fact(&sb, "world_netns")?)),
        (Role::Local, None),
    ] {
        let out = run(
            &sb,
            &role,
            "echo $TPLAB_ROLE $TPLAB_SANDBOX; stat -L -c %i /proc/self/ns/net",
        )?;
        let mut words = out.split_whitespace();
        check!(
            words.next() == Some(role.name().as_str()),
            "TPLAB_ROLE in {out}"
        );
        check!(words.next() == Some(sb.id()), "TPLAB_SANDBOX in {out}");
        let got: u64 = words.next().and_then(|w| w.parse().ok()).unwrap_or(0);
        let want = match ns {
            Some(ns) => inode(&format!("/run/netns/{ns}")),
            None => inode("/proc/self/ns/net"),
        }
        .map_err(|e| fail(e.to_string()))?;
        check!(
            got == want,
            "role {role} runs in netns inode {got}, expected {want}"
        );
    }
    // The agent's bin dir comes first in its PATH (where the lead drops a `cilium` shim).
    let bin = sb
        .ensure_bin_dir(&Role::Agent)
        .map_err(|e| fail(e.to_string()))?;
    let shim = bin.join("cilium");
    std::fs::write(&shim, "#!/bin/sh\necho shim \"$@\"\n").map_err(|e| fail(e.to_string()))?;
    std::fs::set_permissions(&shim, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .map_err(|e| fail(e.to_string()))?;
    check!(
        run(&sb, &Role::Agent, "cilium bpf ct list global")?.trim() == "shim bpf ct list global",
        "shim not on PATH"
    );
    // Role commands see their own /sys (like ip netns exec).
    let sys = run(&sb, &Role::Node, "ls /sys/class/net")?;
    check!(
        sys.contains(&fact(&sb, "lxc_name")?),
        "/sys/class/net in node: {sys}"
    );
    Ok(())
}

pub fn two_sandboxes_are_independent() -> R {
    let a = sandbox()?;
    let b = sandbox()?;
    check!(a.id() != b.id(), "same id twice");
    for sb in [&a, &b] {
        let out = run(
            sb,
            &Role::Pod,
            "ping -c1 -W2 203.0.113.10 >/dev/null && wget -qO- -T 5 http://203.0.113.10/",
        )?;
        check!(
            out.contains("you came from 198.51.100.2"),
            "{}: {out}",
            sb.id()
        );
    }
    check!(
        a.facts()["lxc_name"] != b.facts()["lxc_name"],
        "lxc names should be random"
    );
    let ids: Vec<String> = Sandbox::list().into_iter().map(|s| s.id).collect();
    check!(
        ids.contains(&a.id().to_string()) && ids.contains(&b.id().to_string()),
        "list: {ids:?}"
    );
    let a_id = a.id().to_string();
    drop(a);
    check!(
        leftovers(&a_id).is_empty(),
        "leftovers of {a_id}: {:?}",
        leftovers(&a_id)
    );
    let out = run(&b, &Role::Pod, "wget -qO- -T 5 http://203.0.113.10/")?;
    check!(out.contains("hello"), "b broken after a's teardown: {out}");
    check!(b.status().healthy(), "b unhealthy: {:?}", b.status());
    Ok(())
}

pub fn second_pod_on_the_same_node() -> R {
    let mut sb = sandbox()?;
    let pod2 = PodConfig {
        name: "pod2".into(),
        ip: "10.244.0.214".parse().map_err(|_| fail("ip"))?,
        ..PodConfig::default()
    };
    sb.add_pod(&pod2)
        .map_err(|e| fail(format!("add_pod: {e}")))?;
    let role = Role::NamedPod("pod2".into());
    let ns = fact(&sb, "pod.pod2.netns")?;
    check!(
        sb.netns_path(&role).is_some_and(|p| p.ends_with(&ns)),
        "netns path of pod2"
    );
    let out = run(
        &sb,
        &role,
        "ping -c1 -W2 10.244.0.213 >/dev/null && wget -qO- -T 5 http://203.0.113.10/",
    )?;
    check!(out.contains("198.51.100.2"), "pod2 -> world: {out}");
    let routes = ip_json(&ns, "route show")?;
    check!(
        routes.to_string().contains("10.244.0.201"),
        "pod2 routes: {routes}"
    );
    // The state on disk knows the new pod: a later process can attach and use it.
    let again = Sandbox::attach(sb.id()).map_err(|e| fail(e.to_string()))?;
    check!(
        again.facts().get("pod.pod2.ip").map(String::as_str) == Some("10.244.0.214"),
        "attach lost pod2"
    );
    check!(sb.add_pod(&pod2).is_err(), "duplicate pod accepted");
    Ok(())
}

pub fn fixed_id_and_bad_config() -> R {
    let id = test_id("f");
    let sb = SandboxGuard::new(
        Sandbox::up_with_id(Some(&id), &SandboxConfig::default())
            .map_err(|e| fail(e.to_string()))?,
    );
    check!(sb.id() == id, "id {}", sb.id());
    check!(
        Sandbox::up_with_id(Some(&id), &SandboxConfig::default()).is_err(),
        "the same id twice"
    );
    check!(
        Sandbox::up_with_id(Some("Bad/Id"), &SandboxConfig::default()).is_err(),
        "bad id accepted"
    );
    let mut cfg = SandboxConfig::default();
    cfg.pods.clear();
    check!(Sandbox::up_blocking(&cfg).is_err(), "no pods accepted");
    let status = sb.status();
    check!(status.healthy(), "status {status:?}");
    drop(sb);
    check!(leftovers(&id).is_empty(), "leftovers {:?}", leftovers(&id));
    check!(Sandbox::attach(&id).is_err(), "attach after down");
    Ok(())
}

/// The async API as the runner uses it: `up` on a tokio runtime, tokio commands, guard.
pub fn async_up_and_tokio_commands() -> R {
    let rt = tokio::runtime::Runtime::new().map_err(|e| fail(e.to_string()))?;
    rt.block_on(async {
        let sb = SandboxGuard::new(
            Sandbox::up(SandboxConfig::default())
                .await
                .map_err(|e| fail(e.to_string()))?,
        );
        let out = sb
            .command(&Role::Pod, "wget -qO- -T 5 http://203.0.113.10/")
            .map_err(|e| fail(e.to_string()))?
            .output()
            .await
            .map_err(|e| fail(e.to_string()))?;
        check!(
            String::from_utf8_lossy(&out.stdout).contains("198.51.100.2"),
            "{out:?}"
        );
        let id = sb.id().to_string();
        drop(sb);
        check!(leftovers(&id).is_empty(), "leftovers {:?}", leftovers(&id));
        Ok(())
    })
}

/// Env var that turns this binary into the `down_all` child (see below).
pub const DOWN_ALL_CHILD_ENV: &str = "TPLAB_SANDBOX_TEST_DOWN_ALL";

/// The real `down_all`, run alone (the caller holds the suite's exclusive lock) and in a
/// child recorded as a made-up user (`SUDO_UID`), so it only ever sweeps this test's own
/// sandboxes, never those other people run on the machine.
pub fn down_all_removes_everything() -> R {
    let exe = std::env::current_exe().map_err(|e| fail(e.to_string()))?;
    let uid = 3_000_000 + std::process::id() % 1_000_000;
    let out = std::process::Command::new(exe)
        .env(DOWN_ALL_CHILD_ENV, "1")
        .env("SUDO_UID", uid.to_string())
        .output()
        .map_err(|e| fail(e.to_string()))?;
    check!(
        out.status.success(),
        "down_all child: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

/// Child mode of [`down_all_removes_everything`]: exits 0 on success.
pub fn down_all_child() -> ! {
    let code = match down_all_body() {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("{e:?}");
            1
        }
    };
    std::process::exit(code)
}

fn down_all_body() -> R {
    // Built, kept, and no longer held by this process (as after `tplab sandbox up`).
    let id = sandbox()?.keep().id().to_string();
    // A stray netns with the sandbox prefix but no state (as after a SIGKILL mid-create).
    let stray = format!("tplab-{}-stray", test_id("s"));
    std::process::Command::new("ip")
        .args(["netns", "add", &stray])
        .status()
        .map_err(|e| fail(e.to_string()))?;
    let report = tplab_sandbox::down_all(tplab_sandbox::DownOptions::default());
    check!(report.errors.is_empty(), "errors: {report}");
    check!(report.sandboxes.contains(&id), "report: {report}");
    check!(
        report.netns.contains(&stray),
        "stray netns not removed: {report}"
    );
    check!(leftovers(&id).is_empty(), "leftovers {:?}", leftovers(&id));
    check!(
        !std::path::Path::new(&format!("/run/netns/{stray}")).exists(),
        "stray remains"
    );
    Ok(())
}
