//! `--env kube` end to end against a sandbox's Kubernetes API (root): the seed lab is
//! proven solvable and `run --auto` gives the sandbox's verdicts; the pods tplab creates
//! carry the session's labels, are node-shell's on the node, and are gone after a normal
//! end, after SIGTERM, and after SIGKILL once the next run swept them (cross-checked with
//! kubectl and the API's audit log); every fault mode ends with exit 3 and the way out.
//! Without a cluster: no kubeconfig, an unreachable API. Against a real cluster only when
//! `TPLAB_E2E_KUBECONFIG` is set.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tplab_testkit::Suite;

use crate::harness::{Failed, fail, fixture, tplab};

const SEED: &str = "labs/ebpf-network-deep-dive";
const KUBECTL: &str = "/usr/lib/google-cloud-sdk/bin/kubectl.1.33";
const MANAGED: &str = "app.kubernetes.io/managed-by=tplab";

pub fn register(suite: Suite) -> Suite {
    suite
        .test(
            "kube_env::no_kubeconfig_says_where_to_get_one",
            no_kubeconfig,
        )
        .test("kube_env::unreachable_api_is_exit_3", unreachable)
        .root_test("kube_env::seed_lab_is_solvable_on_kube", seed_test)
        .root_test(
            "kube_env::run_auto_gives_the_sandbox_verdicts",
            same_verdicts,
        )
        .root_test("kube_env::lab_pod_and_node_pod_lifecycle", lifecycle)
        .root_test("kube_env::sigterm_deletes_its_pods", sigterm)
        .root_test("kube_env::sigkill_then_the_next_run_sweeps", sigkill_sweep)
        .root_test("kube_env::fault_modes_say_what_to_do", faults)
        .root_test(
            "kube_env::unknown_cilium_version_is_an_error_verdict",
            unknown_cilium_version,
        )
        .root_test(
            "kube_env::guided_quit_keeps_the_lab_pod_and_resume_adopts_it",
            quit_and_resume,
        )
        .root_test(
            "kube_env::check_reads_the_kept_pod_and_a_changed_lab_removes_it",
            changed_lab,
        )
        .root_test("kube_env::expired_credentials_are_exit_3", unauthorized)
        .opt_in_test(
            "kube_env::real_cluster_roles_and_cleanup",
            "TPLAB_E2E_KUBECONFIG",
            "the kubeconfig of a real cluster with Cilium, where tplab may create a privileged pod",
            real_cluster,
        )
}

/// A sandbox brought up through the CLI; removed on drop.
pub(crate) struct Up {
    pub(crate) id: String,
    kubeconfig: PathBuf,
    _guard: std::sync::MutexGuard<'static, ()>,
}

impl Up {
    pub(crate) fn new(faults: &[&str]) -> Result<Up, Failed> {
        let guard = crate::sandbox::SANDBOX_LOCK
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut args = vec!["sandbox", "up"];
        for f in faults {
            args.extend(["--kube-fault", f]);
        }
        let out = tplab(args).run();
        out.success()?;
        let kubeconfig = out
            .stdout
            .lines()
            .find_map(|l| l.strip_prefix("export KUBECONFIG="))
            .map(|l| PathBuf::from(l.trim()))
            .ok_or_else(|| fail(format!("no export line:\n{}", out.stdout)))?;
        let id = out
            .stdout
            .lines()
            .find_map(|l| l.strip_prefix("sandbox "))
            .and_then(|l| l.split_whitespace().next())
            .ok_or_else(|| fail("no sandbox id"))?
            .to_string();
        Ok(Up {
            id,
            kubeconfig,
            _guard: guard,
        })
    }

    pub(crate) fn kc(&self) -> String {
        self.kubeconfig.display().to_string()
    }

    /// `kubectl get pods -A -l SELECTOR -o json`: the pods.
    fn pods(&self, selector: &str) -> Result<Vec<serde_json::Value>, Failed> {
        let out = Command::new(KUBECTL)
            .args(["get", "pods", "-A", "-l", selector, "-o", "json"])
            .env("KUBECONFIG", &self.kubeconfig)
            .env("HOME", std::env::temp_dir())
            .stdin(Stdio::null())
            .output()
            .map_err(fail)?;
        if !out.status.success() {
            return Err(fail(String::from_utf8_lossy(&out.stderr)));
        }
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).map_err(fail)?;
        Ok(v["items"].as_array().cloned().unwrap_or_default())
    }

    /// Waits until no tplab pod is left (deletion is asynchronous); the names left.
    fn none_left(&self, limit: Duration) -> Result<(), Failed> {
        let start = Instant::now();
        loop {
            let left = self.pods(MANAGED)?;
            if left.is_empty() {
                return Ok(());
            }
            if start.elapsed() > limit {
                let names: Vec<_> = left
                    .iter()
                    .map(|p| p["metadata"]["name"].to_string())
                    .collect();
                return Err(fail(format!("tplab pods left: {names:?}")));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The audit log's completed requests: (verb, requestURI, code).
    fn audit(&self) -> Result<Vec<(String, String, u64)>, Failed> {
        let path = format!("/run/tplab/sandboxes/{}/kube-audit.log", self.id);
        let text = std::fs::read_to_string(&path).map_err(fail)?;
        Ok(text
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter(|e| e["stage"] == "ResponseComplete")
            .map(|e| {
                (
                    e["verb"].as_str().unwrap_or_default().to_string(),
                    e["requestURI"].as_str().unwrap_or_default().to_string(),
                    e["responseStatus"]["code"].as_u64().unwrap_or_default(),
                )
            })
            .collect())
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        let _ = tplab(["sandbox", "down", &self.id]).run();
    }
}

fn mini() -> String {
    fixture("labs/kube-lab-pod.md").display().to_string()
}

fn no_kubeconfig() -> Result<(), Failed> {
    let home = crate::harness::tempdir();
    tplab(["run", &mini(), "--env", "kube", "--auto"])
        .env("HOME", home.path())
        .env("KUBECONFIG", "")
        .run()
        .code(3)?
        .stderr_has("no kubeconfig")?
        .stderr_has("--kubeconfig")?
        .stderr_has("tplab sandbox kubeconfig")?;
    Ok(())
}

fn unreachable() -> Result<(), Failed> {
    let dir = crate::harness::tempdir();
    let kc = dir.path().join("kubeconfig");
    // Port 1 on loopback: nothing listens, the connection is refused at once.
    std::fs::write(
        &kc,
        "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: \"https://127.0.0.1:1\"}}]\n\
         users: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n",
    )
    .map_err(fail)?;
    tplab(["run", &mini(), "--env", "kube", "--auto", "--kubeconfig"])
        .cmd_arg(&kc)
        .run()
        .code(3)?
        .stderr_has("is unreachable")?
        .stderr_has("kubectl cluster-info")?;
    Ok(())
}

fn seed_test() -> Result<(), Failed> {
    let up = Up::new(&[])?;
    tplab([
        "test",
        SEED,
        "--env",
        "kube",
        "--pod",
        "pod",
        "--kubeconfig",
        &up.kc(),
    ])
    .run()
    .success()?
    .stdout_has("est faisable sur `kube`\u{202f}: 16 étapes prouvées")?;
    up.none_left(Duration::from_secs(10))?;
    let audit = up.audit()?;
    // The node agent: shipped once, started once; every probe of the session went
    // through that one exec stream.
    let agent_execs = audit
        .iter()
        .filter(|(_, uri, _)| uri.contains("/exec?") && uri.contains("command=agent"))
        .count();
    crate::harness::ensure(agent_execs == 1, format!("{agent_execs} agent execs"))?;
    let copies = audit
        .iter()
        .filter(|(_, uri, _)| {
            uri.contains("/exec?") && uri.contains("stdin=true") && uri.contains("cat+")
        })
        .count();
    crate::harness::ensure(copies <= 1, format!("the binary was copied {copies} times"))?;
    // The packets checks' observer went with the agent: nothing of tplab's on the
    // sandbox's interfaces (`bpftool net` in its pod and node namespaces).
    for role in ["pod", "node"] {
        let out = Command::new("ip")
            .args(["netns", "exec", &format!("tplab-{}-{role}", up.id)])
            .args(["bpftool", "-j", "net"])
            .output()
            .map_err(fail)?;
        let text = String::from_utf8_lossy(&out.stdout);
        crate::harness::ensure(
            out.status.success() && !text.contains("tplab_obs"),
            format!("bpftool net in the {role} namespace: {text}"),
        )?;
    }
    Ok(())
}

/// Verdicts by `step/check` id from a report.json.
fn verdicts(path: &std::path::Path) -> Result<std::collections::BTreeMap<String, String>, Failed> {
    let text = std::fs::read_to_string(path).map_err(fail)?;
    let v: serde_json::Value = serde_json::from_str(&text).map_err(fail)?;
    let mut out = std::collections::BTreeMap::new();
    for step in v["steps"].as_array().into_iter().flatten() {
        for c in step["checks"].as_array().into_iter().flatten() {
            // Ids are unique within a step (`transcript-1` is in many).
            out.insert(
                format!(
                    "{}/{}",
                    step["id"].as_str().unwrap_or_default(),
                    c["id"].as_str().unwrap_or_default()
                ),
                c["verdict"].as_str().unwrap_or_default().to_string(),
            );
        }
    }
    Ok(out)
}

fn same_verdicts() -> Result<(), Failed> {
    let up = Up::new(&[])?;
    let (k, s) = (crate::harness::tempdir(), crate::harness::tempdir());
    let kube = tplab([
        "run",
        SEED,
        "--auto",
        "--env",
        "kube",
        "--pod",
        "pod",
        "--kubeconfig",
        &up.kc(),
        "--report",
    ])
    .cmd_arg(k.path())
    .run();
    kube.success()?;
    let sandbox = tplab(["run", SEED, "--auto", "--env", "sandbox", "--report"])
        .cmd_arg(s.path())
        .run();
    sandbox.success()?;
    let kv = verdicts(&k.path().join("report.json"))?;
    let sv = verdicts(&s.path().join("report.json"))?;
    let mut compared = 0;
    for (id, verdict) in &kv {
        // A kube-only check (`X-kube`) stands for the sandbox's `X`.
        let theirs = sv
            .get(id)
            .or_else(|| id.strip_suffix("-kube").and_then(|b| sv.get(b)));
        match theirs {
            Some(v) if v == verdict => compared += 1,
            Some(v) => return Err(fail(format!("check `{id}`: kube {verdict}, sandbox {v}"))),
            None => {
                return Err(fail(format!(
                    "check `{id}` of kube has no sandbox counterpart"
                )));
            }
        }
    }
    crate::harness::ensure(
        compared >= 30 && compared == kv.len(),
        format!("only {compared} checks compared"),
    )?;
    // The packets and bpf_map checks ran on kube too (through the node agent), and passed.
    for check in [
        "ping-through-datapath",
        "ping-path",
        "ct-tcp-out",
        "ct-icmp-out",
        "http-path",
    ] {
        let verdict = kv
            .iter()
            .find(|(id, _)| id.ends_with(&format!("/{check}")))
            .map(|(_, v)| v.as_str());
        crate::harness::ensure(
            verdict == Some("pass"),
            format!("check `{check}` on kube: {verdict:?}"),
        )?;
    }
    up.none_left(Duration::from_secs(10))
}

fn lifecycle() -> Result<(), Failed> {
    let up = Up::new(&[])?;
    let out = tplab([
        "run",
        &mini(),
        "--auto",
        "--env",
        "kube",
        "--kubeconfig",
        &up.kc(),
    ])
    .run();
    out.success()?.stdout_has("Score: 5/5")?;
    up.none_left(Duration::from_secs(10))?;
    let audit = up.audit()?;
    let created = audit
        .iter()
        .filter(|(verb, uri, code)| {
            verb == "create" && uri.starts_with("/api/v1/namespaces/default/pods?") && *code == 201
        })
        .count();
    let deleted: Vec<&String> = audit
        .iter()
        .filter(|(verb, _, code)| verb == "delete" && *code == 200)
        .map(|(_, uri, _)| uri)
        .collect();
    crate::harness::ensure(created == 2, format!("{created} pods created"))?;
    crate::harness::ensure(
        deleted.iter().any(|u| u.contains("/pods/tplab-node-"))
            && deleted
                .iter()
                .any(|u| u.contains("/pods/tplab-") && !u.contains("tplab-node-")),
        format!("deletions: {deleted:?}"),
    )?;
    Ok(())
}

/// `tplab run` of the mini lab with a long second step, in the background.
fn spawn_long(up: &Up) -> Result<std::process::Child, Failed> {
    let mut cmd = crate::harness::command();
    cmd.args([
        "run",
        &mini(),
        "--auto",
        "--env",
        "kube",
        "--var",
        "wait_seconds=120",
        "--kubeconfig",
        &up.kc(),
    ])
    .stdout(Stdio::null())
    .stderr(Stdio::piped());
    cmd.spawn().map_err(fail)
}

/// Waits until the session's two pods run; them.
fn wait_pods(up: &Up) -> Result<Vec<serde_json::Value>, Failed> {
    let start = Instant::now();
    loop {
        let pods = up.pods(MANAGED)?;
        let running = pods
            .iter()
            .filter(|p| p["status"]["phase"] == "Running")
            .count();
        // The lab's long step runs once both pods run and the agent answered.
        if running == 2 {
            std::thread::sleep(Duration::from_secs(4));
            return up.pods(MANAGED);
        }
        if start.elapsed() > Duration::from_secs(60) {
            return Err(fail(format!("tplab's pods did not appear: {pods:?}")));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn wait_exit(
    child: &mut std::process::Child,
    limit: Duration,
) -> Result<std::process::ExitStatus, Failed> {
    let start = Instant::now();
    loop {
        if let Some(s) = child.try_wait().map_err(fail)? {
            return Ok(s);
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            return Err(fail("tplab did not exit"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn sigterm() -> Result<(), Failed> {
    use std::os::unix::process::ExitStatusExt as _;
    let up = Up::new(&[])?;
    let mut child = spawn_long(&up)?;
    let pods = wait_pods(&up)?;
    // The pods as kubectl sees them: the session's labels, node-shell's node pod.
    let session = pods[0]["metadata"]["labels"]["tplab.dev/session"].clone();
    for p in &pods {
        let labels = &p["metadata"]["labels"];
        crate::harness::ensure(
            labels["app.kubernetes.io/managed-by"] == "tplab"
                && labels["tplab.dev/session"] == session,
            format!("labels {labels}"),
        )?;
    }
    let node = pods
        .iter()
        .find(|p| p["metadata"]["labels"]["tplab.dev/component"] == "node-shell")
        .ok_or_else(|| fail("no node pod"))?;
    let spec = &node["spec"];
    crate::harness::ensure(
        spec["hostPID"] == true
            && spec["hostNetwork"] == true
            && spec["hostIPC"] == true
            && spec["containers"][0]["securityContext"]["privileged"] == true
            && spec["tolerations"][0]["operator"] == "Exists"
            && spec["containers"][0]["command"][0] == "nsenter",
        format!("node pod spec {spec}"),
    )?;
    let pid = i32::try_from(child.id()).map_err(fail)?;
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGTERM,
    )
    .map_err(fail)?;
    let status = wait_exit(&mut child, Duration::from_secs(30))?;
    crate::harness::ensure(
        status.code() == Some(143) || status.signal() == Some(15),
        format!("exit {status:?}"),
    )?;
    up.none_left(Duration::from_secs(10))
}

fn sigkill_sweep() -> Result<(), Failed> {
    let up = Up::new(&[])?;
    let mut child = spawn_long(&up)?;
    let pods = wait_pods(&up)?;
    child.kill().map_err(fail)?;
    let _ = child.wait();
    std::thread::sleep(Duration::from_secs(1));
    let left = up.pods(MANAGED)?;
    crate::harness::ensure(
        left.len() == 2,
        format!("after SIGKILL, {} pods left", left.len()),
    )?;
    let names: Vec<String> = pods
        .iter()
        .map(|p| {
            p["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    let next = tplab([
        "run",
        &mini(),
        "--auto",
        "--env",
        "kube",
        "--kubeconfig",
        &up.kc(),
    ])
    .run();
    next.success()?
        .stderr_has("removed pods of ended tplab sessions")?;
    for n in &names {
        next.stderr_has(n)?;
    }
    up.none_left(Duration::from_secs(10))
}

fn faults() -> Result<(), Failed> {
    let cases: [(&str, &[&str], &[&str]); 5] = [
        (
            "exec-forbidden",
            &[],
            &["forbids `create` on `pods/exec`", "[get, create]"],
        ),
        (
            "psa-privileged",
            &[],
            &[
                "Pod Security Admission",
                "pod-security.kubernetes.io/enforce=privileged",
            ],
        ),
        ("image-pull", &[], &["cannot pull its image", "--image"]),
        (
            "slow-start=30s",
            &["--pod-timeout", "2s"],
            &["is not Running after 2s", "--pod-timeout"],
        ),
        (
            "no-cilium",
            &[],
            &["no Cilium agent pod runs on node", "k8s-app=cilium"],
        ),
    ];
    for (fault, extra, needles) in cases {
        let up = Up::new(&[fault])?;
        let mut args = vec![
            "run".to_string(),
            mini(),
            "--auto".into(),
            "--env".into(),
            "kube".into(),
            "--kubeconfig".into(),
            up.kc(),
        ];
        args.extend(extra.iter().map(|s| (*s).to_string()));
        let out = tplab(args).run();
        out.code(3)?;
        for n in needles {
            out.stderr_has(n)?;
        }
        // What was created before the failure went with it.
        up.none_left(Duration::from_secs(10))?;
    }
    Ok(())
}

fn unauthorized() -> Result<(), Failed> {
    let up = Up::new(&[])?;
    // The sandbox's CA and server, with a token the API does not know.
    let text = std::fs::read_to_string(&up.kubeconfig).map_err(fail)?;
    let mut kc: serde_yaml::Value = serde_yaml::from_str(&text).map_err(fail)?;
    for u in kc["users"].as_sequence_mut().into_iter().flatten() {
        u["user"] = serde_yaml::from_str("{token: expired}").map_err(fail)?;
    }
    let dir = crate::harness::tempdir();
    let path = dir.path().join("kubeconfig");
    std::fs::write(&path, serde_yaml::to_string(&kc).map_err(fail)?).map_err(fail)?;
    tplab(["run", &mini(), "--auto", "--env", "kube", "--kubeconfig"])
        .cmd_arg(&path)
        .run()
        .code(3)?
        .stderr_has("refused this kubeconfig's credentials")?
        .stderr_has("refresh them")?;
    Ok(())
}

/// A real cluster: the mini lab (no traffic leaves the cluster's pods), then nothing
/// of tplab's is left.
fn real_cluster() -> Result<(), Failed> {
    let kc = std::env::var("TPLAB_E2E_KUBECONFIG").map_err(fail)?;
    tplab([
        "run",
        &mini(),
        "--auto",
        "--env",
        "kube",
        "--kubeconfig",
        &kc,
    ])
    .run()
    .success()?
    .stdout_has("Score: 5/5")?;
    let out = Command::new("kubectl")
        .args(["get", "pods", "-A", "-l", MANAGED, "-o", "name"])
        .env("KUBECONFIG", &kc)
        .output()
        .map_err(fail)?;
    crate::harness::ensure(
        out.stdout.is_empty(),
        format!("left: {}", String::from_utf8_lossy(&out.stdout)),
    )
}

/// Guided mode: Ctrl-C is Quit, which keeps the lab pod (the node pod goes); the next
/// `tplab run` resumes in that very pod and removes everything at its end.
fn quit_and_resume() -> Result<(), Failed> {
    let up = Up::new(&[])?;
    let state = crate::harness::tempdir();
    let command = format!(
        "cd {} && NO_COLOR=1 TPLAB_STATE_DIR={} {} run {} --env kube --kubeconfig {}; echo EXIT=$?; sleep 30",
        crate::harness::root().display(),
        state.path().display(),
        crate::harness::bin().display(),
        mini(),
        up.kc()
    );
    let wait = Duration::from_secs(60);
    let t = crate::harness::Tmux::start(&command)?;
    t.wait_for("What do you want to do?", wait)?;
    let first = up.pods(MANAGED)?;
    crate::harness::ensure(first.len() == 2, format!("{} pods", first.len()))?;
    t.send(&["C-c"])?;
    t.wait_for("EXIT=0", wait)?;
    // The node pod is deleted asynchronously: wait until only the lab pod is left.
    let start = Instant::now();
    let kept = loop {
        let pods = up.pods(MANAGED)?;
        if pods.len() == 1 || start.elapsed() > Duration::from_secs(10) {
            break pods;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let names: Vec<&str> = kept
        .iter()
        .filter_map(|p| p["metadata"]["name"].as_str())
        .collect();
    crate::harness::ensure(
        names.len() == 1 && names[0].starts_with("tplab-") && !names[0].starts_with("tplab-node-"),
        format!("after Quit: {names:?}"),
    )?;
    let lab_pod = names[0].to_string();
    drop(t);
    let t = crate::harness::Tmux::start(&command)?;
    t.wait_for("What do you want to do?", wait)?;
    let now = up.pods(MANAGED)?;
    crate::harness::ensure(
        now.iter()
            .any(|p| p["metadata"]["name"] == lab_pod.as_str())
            && now.len() == 2,
        format!("resumed with {now:?}"),
    )?;
    // Run the commands for me, then the next step's.
    t.send(&["Enter"])?;
    t.wait_for("A long step", wait)?;
    t.send(&["Enter"])?;
    t.wait_for("EXIT=0", wait)?;
    up.none_left(Duration::from_secs(10))
}

/// The names of tplab's lab pods (not node pods), once only `want` pods are left (node
/// pods go asynchronously) or after 10 s.
fn lab_pods_when(up: &Up, want: usize) -> Result<Vec<String>, Failed> {
    let start = Instant::now();
    let pods = loop {
        let pods = up.pods(MANAGED)?;
        if pods.len() == want || start.elapsed() > Duration::from_secs(10) {
            break pods;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    Ok(pods
        .iter()
        .filter_map(|p| p["metadata"]["name"].as_str())
        .filter(|n| !n.starts_with("tplab-node-"))
        .map(str::to_string)
        .collect())
}

/// A student quits (the lab pod is kept); `check` reads that pod; the lab file changes,
/// and the next `run` starts again: the kept pod, whose progress cannot resume, goes.
fn changed_lab() -> Result<(), Failed> {
    let up = Up::new(&[])?;
    let state = crate::harness::tempdir();
    let labs = crate::harness::tempdir();
    let changed = labs.path().join("lab.md");
    let text = std::fs::read_to_string(mini()).map_err(fail)?;
    std::fs::write(&changed, format!("{text}\nOne more paragraph.\n")).map_err(fail)?;
    let command = |lab: &str| {
        format!(
            "cd {} && NO_COLOR=1 TPLAB_STATE_DIR={} {} run {lab} --env kube --kubeconfig {}; echo EXIT=$?; sleep 30",
            crate::harness::root().display(),
            state.path().display(),
            crate::harness::bin().display(),
            up.kc()
        )
    };
    let wait = Duration::from_secs(60);
    let t = crate::harness::Tmux::start(&command(&mini()))?;
    t.wait_for("What do you want to do?", wait)?;
    t.send(&["C-c"])?;
    t.wait_for("EXIT=0", wait)?;
    let kept = lab_pods_when(&up, 1)?;
    crate::harness::ensure(kept.len() == 1, format!("after Quit: {kept:?}"))?;
    drop(t);
    // `check` without `--pod` reads the kept pod (no lab pod made) and leaves it kept.
    let check = tplab(["check", &mini(), "--env", "kube", "--kubeconfig", &up.kc()])
        .env("TPLAB_STATE_DIR", state.path())
        .run();
    crate::harness::ensure(
        matches!(check.code, 0 | 1),
        format!("check exited {}\n{}", check.code, check.stderr),
    )?;
    let lab_creates = up
        .audit()?
        .iter()
        .filter(|(verb, uri, code)| {
            verb == "create" && uri.starts_with("/api/v1/namespaces/default/pods?") && *code == 201
        })
        .count();
    let after_check = lab_pods_when(&up, 1)?;
    // `run` made the lab pod and a node pod, `check` only its node pod.
    crate::harness::ensure(
        after_check == kept && lab_creates == 3,
        format!("after check: {after_check:?} ({lab_creates} pods created)"),
    )?;
    let t = crate::harness::Tmux::start(&command(&changed.display().to_string()))?;
    t.wait_for("the lab changed", wait)?;
    t.wait_for("What do you want to do?", wait)?;
    let now = lab_pods_when(&up, 2)?;
    crate::harness::ensure(
        now.len() == 1 && now[0] != kept[0],
        format!("kept {kept:?}, now {now:?}"),
    )?;
    t.send(&["C-c"])?;
    t.wait_for("EXIT=0", wait)?;
    Ok(())
}

/// A Cilium release whose CT-map layout tplab does not know: the checks that read the
/// CT maps give an *error* verdict naming the version; nothing is charged to the student.
fn unknown_cilium_version() -> Result<(), Failed> {
    let up = Up::new(&["cilium-version=1.99.0"])?;
    let dir = crate::harness::tempdir();
    let out = tplab([
        "run",
        SEED,
        "--auto",
        "--env",
        "kube",
        "--pod",
        "pod",
        "--kubeconfig",
        &up.kc(),
        "--report",
    ])
    .cmd_arg(dir.path())
    .run();
    // Checker errors: exit 3 (the environment could not be used), not 1 (failed checks).
    out.code(3)?;
    let text = std::fs::read_to_string(dir.path().join("report.json")).map_err(fail)?;
    let report: serde_json::Value = serde_json::from_str(&text).map_err(fail)?;
    let mut ct_checks = 0;
    for step in report["steps"].as_array().into_iter().flatten() {
        for c in step["checks"].as_array().into_iter().flatten() {
            let id = c["id"].as_str().unwrap_or_default();
            let verdict = c["verdict"].as_str().unwrap_or_default();
            // The seed's `bpf_map` checks.
            if ["ping-through-datapath", "ct-tcp-out", "ct-icmp-out"].contains(&id) {
                ct_checks += 1;
                let message = c.to_string();
                crate::harness::ensure(
                    verdict == "error" && message.contains("1.99.0"),
                    format!("check `{id}`: {verdict}, expected an error naming 1.99.0: {message}"),
                )?;
            } else {
                crate::harness::ensure(
                    verdict != "fail",
                    format!("check `{id}` failed although only the CT layout is unknown"),
                )?;
            }
        }
    }
    crate::harness::ensure(ct_checks == 3, format!("{ct_checks} CT-map checks seen"))?;
    up.none_left(Duration::from_secs(10))
}
