//! Issue 15, items 1, 2 and 6: roles bound to the student's network namespaces (typed
//! checks read inside them, cross-checked with iproute2), setup and cleanup blocks and
//! the teardown of what a lab creates (on finish and on signals), requirements checked
//! before starting (exit 3), and the shipped `labs/netns-basics`.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tplab_testkit::Suite;

use crate::harness::{Failed, bin, command, ensure, fail, tempdir, tplab};

pub fn register(suite: Suite) -> Suite {
    suite
        .test("lifecycle::blocks_run_in_order", blocks_run_in_order)
        .test(
            "lifecycle::failing_setup_is_an_error",
            failing_setup_is_an_error,
        )
        .test("lifecycle::missing_tool_exits_3", missing_tool_exits_3)
        .test(
            "lifecycle::lint_rejects_bad_lifecycle",
            lint_rejects_bad_lifecycle,
        )
        .root_test("lifecycle::root_required_exits_3", root_required_exits_3)
        .root_test(
            "lifecycle::typed_checks_read_inside_the_namespace",
            typed_checks_read_inside_the_namespace,
        )
        .root_test(
            "lifecycle::signals_remove_what_the_lab_creates",
            signals_remove_what_the_lab_creates,
        )
        .root_test("labs::netns_basics_is_solvable_on_local", netns_basics)
}

/// A unique token for names this test creates (namespaces, files).
fn token(what: &str) -> String {
    format!("{what}{}", std::process::id())
}

fn write_lab(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("lab.md");
    std::fs::write(&path, text).expect("write lab");
    path
}

/// Named namespaces, as iproute2 lists them.
fn netns_names() -> Result<Vec<String>, Failed> {
    let out = std::process::Command::new("ip")
        .args(["-j", "netns", "list"])
        .output()
        .map_err(|e| fail(format!("ip netns list: {e}")))?;
    let text = String::from_utf8_lossy(&out.stdout);
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    let list: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| fail(format!("ip -j netns list: {e}")))?;
    Ok(list
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| n["name"].as_str().map(str::to_string))
        .collect())
}

fn ip(args: &[&str]) -> Result<String, Failed> {
    let out = std::process::Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| fail(format!("ip {args:?}: {e}")))?;
    ensure(
        out.status.success(),
        format!("ip {args:?}: {}", String::from_utf8_lossy(&out.stderr)),
    )?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Removes a namespace the test made, whatever happens.
struct NetnsGuard(String);

impl Drop for NetnsGuard {
    fn drop(&mut self) {
        let _ = std::process::Command::new("ip")
            .args(["netns", "delete", &self.0])
            .stderr(Stdio::null())
            .status();
    }
}

fn blocks_run_in_order() -> Result<(), Failed> {
    let dir = tempdir();
    let log = dir.path().join("order.log");
    let lab = format!(
        "---\nid: order\ntitle: Order\nenvironments: [local]\nroles: [local]\n---\n\n\
         ```sh {{setup}}\necho lab-setup >> {log}\n```\n\n\
         ```sh {{cleanup}}\necho lab-cleanup >> {log}\n```\n\n\
         ## One {{#one}}\n\n```sh {{setup}}\necho step-setup >> {log}\n```\n\n\
         ```sh {{cleanup}}\necho step-cleanup >> {log}\n```\n\n\
         ```sh {{target=local}}\necho solution >> {log}\n```\n\n\
         ```check\n- run: grep -q solution {log}\n```\n",
        log = log.display()
    );
    let path = write_lab(dir.path(), &lab);
    for mode in [&["run", "--auto"][..], &["test"][..]] {
        let _ = std::fs::remove_file(&log);
        let mut args: Vec<&std::ffi::OsStr> = mode.iter().map(std::ffi::OsStr::new).collect();
        args.push(path.as_os_str());
        let out = tplab(args).run();
        out.success()?;
        // Hidden blocks are not shown to the student.
        ensure(
            !out.stdout.contains("step-setup"),
            format!("a hidden setup was shown:\n{}", out.stdout),
        )?;
        let text = std::fs::read_to_string(&log).map_err(|e| fail(e.to_string()))?;
        ensure(
            text == "lab-setup\nstep-setup\nsolution\nstep-cleanup\nlab-cleanup\n",
            format!("{mode:?}: lifecycle order:\n{text}"),
        )?;
    }
    Ok(())
}

fn failing_setup_is_an_error() -> Result<(), Failed> {
    let dir = tempdir();
    let lab = "---\nid: broken-setup\ntitle: T\nenvironments: [local]\nroles: [local]\n---\n\n\
               ## One {#one}\n\n```sh {setup}\necho no disk >&2; exit 4\n```\n\n\
               ```check\n- run: \"false\"\n```\n";
    let path = write_lab(dir.path(), lab);
    let reports = dir.path().join("reports");
    for args in [
        vec!["test".as_ref(), path.as_os_str()],
        vec![
            "run".as_ref(),
            "--auto".as_ref(),
            "--report".as_ref(),
            reports.as_os_str(),
            path.as_os_str(),
        ],
    ] {
        tplab(args).run().code(3)?.stderr_has(
            "the step's setup at line 11 failed: exited with 4 instead of 0: no disk",
        )?;
    }
    // The student was charged with nothing: no check was judged.
    ensure(
        !reports.join("report.json").exists()
            || !std::fs::read_to_string(reports.join("report.json"))
                .unwrap_or_default()
                .contains("\"fail\""),
        "a failing setup charged a check",
    )?;
    Ok(())
}

fn missing_tool_exits_3() -> Result<(), Failed> {
    let dir = tempdir();
    let lab = "---\nid: needs-tool\ntitle: T\nenvironments: [local]\nroles: [local]\n\
               requires:\n  tools: [tplab-no-such-tool, sh]\n---\n\n## One {#one}\n\n\
               ```check\n- run: \"true\"\n  before: any\n```\n";
    let path = write_lab(dir.path(), lab);
    for cmd in ["test", "check", "run"] {
        tplab([cmd.as_ref(), path.as_os_str()])
            .run()
            .code(3)?
            .stderr_has("lab `needs-tool` cannot start on this machine")?
            .stderr_has("programs not found: tplab-no-such-tool")?;
    }
    Ok(())
}

fn lint_rejects_bad_lifecycle() -> Result<(), Failed> {
    let head = "---\nid: t\ntitle: T\nenvironments: [local]\nroles: [local]\n";
    let cases = [
        // `shown` belongs to setup and cleanup blocks.
        (
            format!("{head}---\n\n## S\n\n```sh {{target=local shown}}\ntrue\n```\n"),
            "bad-attribute-value",
            "lab.md:10:21",
        ),
        (
            format!("{head}---\n\n## S\n\n```sh {{setup solution}}\ntrue\n```\n"),
            "bad-attribute-value",
            "lab.md:10:14",
        ),
        // A role bound to a namespace must be declared.
        (
            format!("{head}netns:\n  red: \"red-{{{{ session_id }}}}\"\n---\n\n## S\n\n```check\n- run: \"true\"\n```\n"),
            "unknown-role",
            "lab.md:7:3",
        ),
        (
            format!("{head}requires:\n  tools: [\"ip link\"]\n---\n\n## S\n\n```check\n- run: \"true\"\n```\n"),
            "front-matter-invalid",
            "lab.md:7:",
        ),
        // Namespace roles exist only on `local`.
        (
            "---\nid: t\ntitle: T\nenvironments: [sandbox]\nroles: [pod, red]\nnetns: { red: r }\n---\n\n## S\n\n```check\n- run: \"true\"\n```\n".to_string(),
            "unknown-role",
            "lab.md:5:",
        ),
    ];
    for (text, code, at) in cases {
        let dir = tempdir();
        let path = write_lab(dir.path(), &text);
        tplab(["lint".as_ref(), path.as_os_str()])
            .run()
            .code(1)?
            .stderr_has(&format!("[{code}]"))?
            .stderr_has(at)?;
    }
    Ok(())
}

fn root_required_exits_3() -> Result<(), Failed> {
    let dir = tempdir();
    let lab = "---\nid: needs-root\ntitle: T\nenvironments: [local]\nroles: [local]\n\
               requires: { root: true }\n---\n\n## One {#one}\n\n\
               ```check\n- run: \"true\"\n  before: any\n```\n";
    let path = write_lab(dir.path(), lab);
    // Readable by the unprivileged user that runs it.
    for p in [dir.path(), path.as_path()] {
        let _ = std::process::Command::new("chmod")
            .arg("a+rx")
            .arg(p)
            .status();
    }
    let out = std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(bin())
        .arg("test")
        .arg(&path)
        .env("NO_COLOR", "1")
        .env("TPLAB_STATE_DIR", dir.path().join("state"))
        .stdin(Stdio::null())
        .output()
        .map_err(|e| fail(format!("setpriv: {e}")))?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    ensure(
        out.status.code() == Some(3) && stderr.contains("it must run as root: `sudo tplab test"),
        format!("as nobody: exit {:?}\n{stderr}", out.status.code()),
    )
}

fn typed_checks_read_inside_the_namespace() -> Result<(), Failed> {
    let student = token("it");
    let name = format!("tpl-{student}");
    let dir = tempdir();
    let lab = "---\nid: inside\ntitle: T\nenvironments: [local]\nroles: [local, red]\n\
               netns:\n  red: \"tpl-{{ student }}\"\n---\n\n## One {#one}\n\n\
               ```check\n- name: a veth inside red\n  link: { name: d0, kind: veth, admin_up: true }\n  target: red\n\
               - name: commands run inside red\n  run: ip -o link show d0\n  target: red\n```\n";
    let path = write_lab(dir.path(), lab);
    let check = || {
        tplab([
            "check".as_ref(),
            "--json".as_ref(),
            "--student".as_ref(),
            student.as_ref(),
            path.as_os_str(),
        ])
        .run()
    };
    // Not created yet: a failure the student can fix, saying why — not a checker error.
    let before = check();
    before.code(1)?;
    let report = before.json()?;
    let checks = &report["steps"][0]["checks"];
    for c in checks.as_array().into_iter().flatten() {
        ensure(
            c["verdict"] == "fail"
                && c["found"]
                    .as_str()
                    .is_some_and(|f| f.contains(&format!("namespace {name} does not exist (yet)"))),
            format!("before the namespace exists: {c}"),
        )?;
    }
    let _guard = NetnsGuard(name.clone());
    ip(&["netns", "add", &name])?;
    ip(&[
        "-n", &name, "link", "add", "d0", "type", "veth", "peer", "name", "d1",
    ])?;
    ip(&["-n", &name, "link", "set", "d0", "up"])?;
    // iproute2 agrees that d0 is there, and only there.
    let inside: serde_json::Value =
        serde_json::from_str(&ip(&["-n", &name, "-j", "link", "show", "d0"])?)
            .map_err(|e| fail(e.to_string()))?;
    ensure(inside[0]["ifname"] == "d0", format!("ip -n: {inside}"))?;
    ensure(
        !std::path::Path::new("/sys/class/net/d0").exists(),
        "the test's d0 leaked into the host namespace",
    )?;
    check().success()?;
    // Admin state read over netlink, not from a text: down is a fail.
    ip(&["-n", &name, "link", "set", "d0", "down"])?;
    let down = check();
    down.code(1)?;
    let report = down.json()?;
    ensure(
        report["steps"][0]["checks"][0]["verdict"] == "fail"
            && report["steps"][0]["checks"][1]["verdict"] == "pass",
        format!("with d0 down: {}", report["steps"][0]["checks"]),
    )?;
    Ok(())
}

fn signals_remove_what_the_lab_creates() -> Result<(), Failed> {
    for (signal, code) in [
        (nix::sys::signal::Signal::SIGTERM, 143),
        (nix::sys::signal::Signal::SIGINT, 130),
    ] {
        let student = token(&format!("s{code}"));
        let name = format!("tpl-{student}");
        let _guard = NetnsGuard(name.clone());
        let dir = tempdir();
        let lab = "---\nid: signals\ntitle: T\nenvironments: [local]\nroles: [local, red]\n\
                   netns:\n  red: \"tpl-{{ student }}\"\ncreates:\n  netns: [red]\n---\n\n\
                   ```sh {setup}\nip netns add {{ netns_red }}\n```\n\n## One {#one}\n\n\
                   ```sh {target=red}\nsleep 30\n```\n\n```check\n- link: { name: lo }\n  target: red\n```\n";
        let path = write_lab(dir.path(), lab);
        let log = dir.path().join("out.log");
        let out = std::fs::File::create(&log).map_err(|e| fail(e.to_string()))?;
        let err = out.try_clone().map_err(|e| fail(e.to_string()))?;
        let mut child = command()
            .args(["run", "--auto", "--student", &student])
            .arg(&path)
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| fail(e.to_string()))?;
        let netns = tplab_netns::path_of(&name);
        let start = Instant::now();
        while !netns.exists() && start.elapsed() < Duration::from_secs(20) {
            std::thread::sleep(Duration::from_millis(50));
        }
        ensure(
            netns.exists(),
            format!("the lab's setup never created {name}"),
        )?;
        // Signalled once the step's `sleep 30` runs inside it.
        let start = Instant::now();
        while !runs_in(&netns, "sleep") && start.elapsed() < Duration::from_secs(20) {
            std::thread::sleep(Duration::from_millis(20));
        }
        ensure(
            runs_in(&netns, "sleep"),
            format!("the step's `sleep 30` never ran in {name}"),
        )?;
        let pid = nix::unistd::Pid::from_raw(i32::try_from(child.id()).expect("pid"));
        nix::sys::signal::kill(pid, signal).map_err(|e| fail(e.to_string()))?;
        let status = child.wait().map_err(|e| fail(e.to_string()))?;
        ensure(
            status.code() == Some(code),
            format!(
                "{signal}: {status}\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            ),
        )?;
        ensure(
            !netns_names()?.contains(&name),
            format!("{signal}: {name} is still listed by `ip netns`"),
        )?;
    }
    Ok(())
}

fn netns_basics() -> Result<(), Failed> {
    let out = tplab(["test", "labs/netns-basics"]).run();
    out.success()?
        // The lab is French: so is tplab's verdict (a narrow no-break space before `:`).
        .stdout_has("le TP `netns-basics` est faisable sur `local`\u{202f}: 6 étapes prouvées")?;
    // The session's namespaces, named in the commands it ran, are gone afterwards.
    let names: Vec<String> = regex::Regex::new(r"tp-(rouge|bleu|pont)-[0-9a-f]{8}")
        .expect("regex")
        .find_iter(&out.stdout)
        .map(|m| m.as_str().to_string())
        .collect();
    ensure(
        names.len() >= 3,
        format!("no namespace names in:\n{}", out.stdout),
    )?;
    let listed = netns_names()?;
    for name in &names {
        ensure(!listed.contains(name), format!("{name} left behind"))?;
    }
    Ok(())
}

/// Some process named `comm` runs in the network namespace pinned at `netns`.
fn runs_in(netns: &std::path::Path, comm: &str) -> bool {
    use std::os::unix::fs::MetadataExt;
    let Ok(ns) = std::fs::metadata(netns) else {
        return false;
    };
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return false;
    };
    procs.filter_map(Result::ok).any(|p| {
        let dir = p.path();
        std::fs::read_to_string(dir.join("comm")).is_ok_and(|c| c.trim_end() == comm)
            && std::fs::metadata(dir.join("ns/net"))
                .is_ok_and(|m| m.dev() == ns.dev() && m.ino() == ns.ino())
    })
}
