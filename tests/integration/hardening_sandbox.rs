//! Issue 10 hardening, the sandbox side (root, through the real CLI, cross-checked with
//! /proc and iproute2): lab commands never outlive tplab (signals, `down`, `down --all`
//! after a SIGKILL), and `down --all` on a shared machine leaves sandboxes in use and
//! other users' sandboxes alone unless `--force` / `--all-users`.
//!
//! Every tplab here runs as a made-up user of its own (`SUDO_UID`, see
//! `tplab_sandbox::caller_uid`), so a `down --all` in these tests only ever considers
//! this test's sandboxes (and true orphans), never those other people run on the machine.

use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use tplab_testkit::Suite;

use crate::harness::{Failed, Output, fail};

pub fn register(suite: Suite) -> Suite {
    suite
        .root_test(
            "hardening_sandbox::sigterm_kills_running_lab_commands",
            sigterm_kills_running_lab_commands,
        )
        .root_test(
            "hardening_sandbox::down_kills_processes_left_in_the_sandbox",
            down_kills_processes_left_in_the_sandbox,
        )
        .root_test(
            "hardening_sandbox::down_all_after_sigkill_sweeps_sandbox_and_its_processes",
            down_all_after_sigkill,
        )
        .root_test(
            "hardening_sandbox::down_all_spares_sandboxes_in_use_unless_forced",
            down_all_spares_in_use,
        )
        .root_test(
            "hardening_sandbox::down_all_spares_other_users_sandboxes",
            down_all_spares_other_users,
        )
}

/// A unique token per call: a fake uid, a `sleep` duration nobody else uses.
pub(crate) fn unique() -> u32 {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    (std::process::id() % 100_000) * 100 + NEXT.fetch_add(1, Ordering::SeqCst) % 100
}

/// `tplab ARGS` as user `uid` (through `SUDO_UID`; we are root).
pub(crate) fn tplab_cmd(uid: u32, args: &[&str]) -> Command {
    let mut cmd = crate::harness::command();
    cmd.args(args).env("SUDO_UID", uid.to_string());
    cmd
}

pub(crate) fn run_as(uid: u32, args: &[&str]) -> Output {
    let out = tplab_cmd(uid, args).output().expect("run tplab");
    Output {
        command: format!("SUDO_UID={uid} tplab {}", args.join(" ")),
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Sandboxes brought up as `uid`, removed (forced) when dropped, whatever happened.
struct Sandboxes {
    uid: u32,
    ids: Vec<String>,
}

impl Sandboxes {
    fn new(uid: u32) -> Self {
        Sandboxes {
            uid,
            ids: Vec::new(),
        }
    }

    fn up(&mut self, as_uid: u32) -> Result<String, Failed> {
        let out = run_as(as_uid, &["sandbox", "up", "--json"]);
        out.success()?;
        let id = out.json()?["id"]
            .as_str()
            .ok_or_else(|| fail("no id"))?
            .to_string();
        self.ids.push(id.clone());
        Ok(id)
    }
}

impl Drop for Sandboxes {
    fn drop(&mut self) {
        for id in &self.ids {
            let _ = run_as(self.uid, &["sandbox", "down", id, "--force", "--all-users"]);
        }
    }
}

/// `sleep` processes (not zombies) with argument `arg`, seen in /proc.
pub(crate) fn pids_with_arg(arg: &str) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let args: Vec<&[u8]> = cmdline.split(|c| *c == 0).collect();
            // argv[0] too: `tplab sandbox exec ... sleep D` has D among its arguments.
            args.first().is_some_and(|a0| a0.ends_with(b"sleep")) && args.contains(&arg.as_bytes())
        })
        .filter(|pid| alive(*pid))
        .collect()
}

/// Running (a zombie has exited: only its parent has not read its status yet).
pub(crate) fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        s.rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z")
    })
}

pub(crate) fn wait_for<T>(limit: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if start.elapsed() > limit {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The one process running `sleep <duration>`, waiting for it to appear.
pub(crate) fn sleeper(duration: &str) -> Result<u32, Failed> {
    wait_for(Duration::from_secs(60), || {
        pids_with_arg(duration).first().copied()
    })
    .ok_or_else(|| fail(format!("no `sleep {duration}` process appeared")))
}

/// Waits for `pid` to be gone; kills it (cleanup) and fails if it is not.
fn gone(pid: u32, what: &str) -> Result<(), Failed> {
    if wait_for(Duration::from_secs(3), || (!alive(pid)).then_some(())).is_some() {
        return Ok(());
    }
    kill(pid, "KILL");
    Err(fail(format!("{what}: process {pid} still running")))
}

pub(crate) fn kill(pid: u32, sig: &str) {
    let _ = Command::new("kill")
        .args([&format!("-{sig}"), &pid.to_string()])
        .status();
}

/// The netns of `pid` as iproute2 names it (`ip netns identify`).
fn netns_of(pid: u32) -> String {
    Command::new("ip")
        .args(["netns", "identify", &pid.to_string()])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

fn netns_list() -> String {
    Command::new("ip")
        .args(["netns", "list"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

fn has_netns(id: &str) -> bool {
    netns_list().contains(&format!("tplab-{id}-"))
}

/// Writes a one-file lab whose steps run `steps` (role, script) in order.
fn write_lab(dir: &Path, steps: &[(&str, &str)]) -> Result<PathBuf, Failed> {
    // `local` offers no pod role: a lab with a pod step is for the sandbox only.
    let (envs, roles) = if steps.iter().any(|(role, _)| *role == "pod") {
        ("sandbox", "local, pod")
    } else {
        ("local, sandbox", "local")
    };
    let mut md = format!(
        "---\nid: hold-on\ntitle: Commands that take their time\n\
         environments: [{envs}]\nroles: [{roles}]\n---\n",
    );
    for (i, (role, script)) in steps.iter().enumerate() {
        let _ = write!(
            md,
            "\n## Step {i} {{#s{i}}}\n\n```sh {{target={role}}}\n{script}\n```\n\n\
             ```check\n- name: nothing to check\n  run: \"true\"\n```\n"
        );
    }
    let path = dir.join("lab.md");
    std::fs::write(&path, md).map_err(|e| fail(e.to_string()))?;
    Ok(path)
}

/// `tplab run --auto LAB --env ENV` in the background, stderr into `dir/stderr`.
pub(crate) fn spawn_run(uid: u32, lab: &Path, env: &str, dir: &Path) -> Result<Child, Failed> {
    let stderr = std::fs::File::create(dir.join("stderr")).map_err(|e| fail(e.to_string()))?;
    let lab = lab.to_string_lossy().into_owned();
    tplab_cmd(uid, &["run", "--auto", &lab, "--env", env])
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .map_err(|e| fail(e.to_string()))
}

/// The sandbox id a `tplab run` announced on stderr (`tplab: sandbox <id> ...`).
pub(crate) fn announced_id(dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(dir.join("stderr")).ok()?;
    text.split_whitespace()
        .skip_while(|w| *w != "sandbox")
        .nth(1)
        .map(str::to_string)
}

pub(crate) fn wait_exit(child: &mut Child) -> Result<std::process::ExitStatus, Failed> {
    let status = wait_for(Duration::from_secs(20), || child.try_wait().ok().flatten());
    status.ok_or_else(|| {
        let _ = child.kill();
        let _ = child.wait();
        fail("tplab did not exit")
    })
}

/// SIGTERM while a lab command runs: the command (in a process group of its own, in the
/// host netns, so no sandbox teardown could reach it) dies with tplab, in both envs.
fn sigterm_kills_running_lab_commands() -> Result<(), Failed> {
    for env in ["local", "sandbox"] {
        let uid = 3_000_000 + unique();
        let duration = format!("901.{}", unique());
        let dir = crate::harness::tempdir();
        let lab = write_lab(dir.path(), &[("local", &format!("sleep {duration}"))])?;
        let mut child = spawn_run(uid, &lab, env, dir.path())?;
        let result = (|| {
            let pid = sleeper(&duration)?;
            kill(child.id(), "TERM");
            let status = wait_exit(&mut child)?;
            if status.code() != Some(143) {
                return Err(fail(format!("{env}: tplab exited {status:?}, not 143")));
            }
            gone(pid, &format!("{env}: the lab command outlived tplab"))
        })();
        let _ = child.kill();
        let _ = child.wait();
        for pid in pids_with_arg(&duration) {
            kill(pid, "KILL");
        }
        if let Some(id) = announced_id(dir.path()) {
            let _ = run_as(uid, &["sandbox", "down", &id, "--force"]);
        }
        result?;
    }
    Ok(())
}

/// A lab (here `sandbox exec`) backgrounds a process in the pod: `down` ends it (and
/// says so), and leaves alone the same kind of process outside the sandbox.
fn down_kills_processes_left_in_the_sandbox() -> Result<(), Failed> {
    let uid = 3_000_000 + unique();
    let mut sbs = Sandboxes::new(uid);
    let id = sbs.up(uid)?;
    let duration = format!("902.{}", unique());
    let decoy = Command::new("sleep")
        .arg(&duration)
        .spawn()
        .map_err(|e| fail(e.to_string()))?;
    let mut decoy = Guarded(decoy);
    let script = format!("sleep {duration} >/dev/null 2>&1 &");
    run_as(
        uid,
        &[
            "sandbox",
            "exec",
            "pod",
            "--sandbox",
            &id,
            "--",
            "sh",
            "-c",
            &script,
        ],
    )
    .success()?;
    let inside = wait_for(Duration::from_secs(5), || {
        pids_with_arg(&duration)
            .into_iter()
            .find(|p| *p != decoy.0.id())
    })
    .ok_or_else(|| fail("the backgrounded sleep did not appear"))?;
    let ns = netns_of(inside);
    if ns != format!("tplab-{id}-pod") {
        kill(inside, "KILL");
        return Err(fail(format!(
            "the sleep runs in netns {ns:?}, not the pod's"
        )));
    }
    let out = run_as(uid, &["sandbox", "down", &id]);
    let checked = out
        .success()
        .and_then(|o| o.stdout_has(&format!("stopped process {inside}")))
        .map(|_| ());
    gone(inside, "left running in the sandbox after `down`")?;
    checked?;
    if !alive(decoy.0.id()) {
        return Err(fail("`down` killed a process outside the sandbox"));
    }
    let _ = decoy.0.kill();
    let _ = decoy.0.wait();
    if has_netns(&id) {
        return Err(fail(format!("netns of {id} left: {}", netns_list())));
    }
    Ok(())
}

/// A child killed and reaped when dropped.
struct Guarded(Child);

impl Drop for Guarded {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `tplab run` killed by SIGKILL after its lab backgrounded a process in the pod: its sandbox
/// is not "in use" any more (the lock died with it), so `down --all` removes it, and the
/// process still running inside its netns with it.
fn down_all_after_sigkill() -> Result<(), Failed> {
    let uid = 3_000_000 + unique();
    let bg = format!("903.{}", unique());
    let hold = format!("904.{}", unique());
    let dir = crate::harness::tempdir();
    let lab = write_lab(
        dir.path(),
        &[
            ("pod", &format!("sleep {bg} >/dev/null 2>&1 &")),
            ("local", &format!("sleep {hold}")),
        ],
    )?;
    let mut run = Guarded(spawn_run(uid, &lab, "sandbox", dir.path())?);
    let holder = sleeper(&hold)?;
    let id = announced_id(dir.path()).ok_or_else(|| fail("no sandbox id announced"))?;
    let mut sbs = Sandboxes::new(uid);
    sbs.ids.push(id.clone());
    let inside = sleeper(&bg)?;
    kill(run.0.id(), "KILL");
    let _ = run.0.wait();
    // A SIGKILL cannot be handled: the local command it was running is the test's to end.
    kill(holder, "KILL");
    if netns_of(inside) != format!("tplab-{id}-pod") {
        kill(inside, "KILL");
        return Err(fail(format!("{bg} is not in the pod of {id}")));
    }
    let out = run_as(uid, &["sandbox", "down", "--all"]);
    let checked = out
        .success()
        .and_then(|o| o.stdout_has(&format!("removed sandbox {id}")))
        .and_then(|o| o.stdout_has(&format!("stopped process {inside}")))
        .map(|_| ());
    gone(
        inside,
        "left running in the sandbox after SIGKILL + `down --all`",
    )?;
    checked?;
    if has_netns(&id) {
        return Err(fail(format!("netns of {id} left: {}", netns_list())));
    }
    Ok(())
}

/// A sandbox a live tplab uses (here `sandbox exec` running a command in it) survives
/// `down --all`, which says who uses it; `--force` removes it (and what runs in it).
fn down_all_spares_in_use() -> Result<(), Failed> {
    let uid = 3_000_000 + unique();
    let mut sbs = Sandboxes::new(uid);
    let idle = sbs.up(uid)?;
    let busy = sbs.up(uid)?;
    let duration = format!("905.{}", unique());
    let user = tplab_cmd(
        uid,
        &[
            "sandbox",
            "exec",
            "pod",
            "--sandbox",
            &busy,
            "--",
            "sleep",
            &duration,
        ],
    )
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .map_err(|e| fail(e.to_string()))?;
    let mut user = Guarded(user);
    let sleep = sleeper(&duration)?;
    let out = run_as(uid, &["sandbox", "down", "--all"]);
    out.success()?
        .stdout_has(&format!("removed sandbox {idle}"))?
        .stdout_has(&format!(
            "skipped sandbox {busy}: in use by pid {} (use --force",
            user.0.id()
        ))?;
    if has_netns(&idle) || !has_netns(&busy) {
        return Err(fail(format!(
            "after `down --all`: idle {idle}, busy {busy}, netns:\n{}",
            netns_list()
        )));
    }
    if user.0.try_wait().ok().flatten().is_some() || !alive(sleep) {
        return Err(fail("`down --all` disturbed the sandbox in use"));
    }
    run_as(uid, &["sandbox", "down", "--all", "--force"])
        .success()?
        .stdout_has(&format!("removed sandbox {busy}"))?
        .stdout_has(&format!("stopped process {sleep}"))?;
    gone(sleep, "the command in the forced-down sandbox")?;
    wait_for(Duration::from_secs(3), || user.0.try_wait().ok().flatten())
        .ok_or_else(|| fail("`sandbox exec` still running after --force"))?;
    if has_netns(&busy) {
        return Err(fail(format!("netns of {busy} left: {}", netns_list())));
    }
    Ok(())
}

/// Another user's sandbox (recorded owner: the uid behind sudo) survives `down --all`
/// and `down ID`; `--all-users` removes it.
fn down_all_spares_other_users() -> Result<(), Failed> {
    let me = 3_000_000 + unique();
    let other = 3_000_000 + unique();
    let mut sbs = Sandboxes::new(me);
    let theirs = sbs.up(other)?;
    let owned = format!("skipped sandbox {theirs}: owned by uid {other} (use --all-users");
    run_as(me, &["sandbox", "down", "--all"])
        .success()?
        .stdout_has(&owned)?;
    run_as(me, &["sandbox", "down", &theirs])
        .code(3)?
        .stdout_has(&owned)?;
    if !has_netns(&theirs) {
        return Err(fail(format!("{theirs} was removed by another user")));
    }
    run_as(me, &["sandbox", "down", &theirs, "--all-users"])
        .success()?
        .stdout_has(&format!("removed sandbox {theirs}"))?;
    if has_netns(&theirs) {
        return Err(fail(format!("netns of {theirs} left: {}", netns_list())));
    }
    Ok(())
}
