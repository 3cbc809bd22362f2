//! Pods created and deleted through the sandbox's Kubernetes API with real kubectl
//! (root): the node-shell pod (`kubectl run` with the kvaps plugin's overrides) runs in
//! the node's namespaces (exec and attach); a plain pod becomes a sandbox pod with its
//! own netns and address, reachable from the node, removed by `kubectl delete`; the
//! fault modes of `sandbox up --kube-fault` answer like failing clusters; malformed
//! bodies get Status errors. Cross-checked with `ip -j`, the audit log and the events.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tplab_testkit::Suite;

use crate::harness::{Failed, Tmux, fail, tplab};

pub fn register(suite: Suite) -> Suite {
    suite
        .root_test(
            "kubeapi_pods::node_shell_pod_exec_attach_delete",
            node_shell,
        )
        .root_test("kubeapi_pods::plain_pod_gets_its_own_netns", plain_pod)
        .root_test("kubeapi_pods::invalid_and_forbidden_creates", refusals)
        .root_test("kubeapi_pods::fault_exec_forbidden_and_psa", fault_rbac_psa)
        .root_test(
            "kubeapi_pods::fault_image_pull_and_slow_start",
            fault_pull_slow,
        )
        .root_test(
            "kubeapi_pods::malformed_bodies_get_status_errors",
            malformed,
        )
        .root_test("kubeapi_pods::kvaps_node_shell_plugin", kvaps_plugin)
}

const VERSIONS: [&str; 2] = ["1.30", "1.33"];

/// A sandbox brought up through the CLI (with `up_args` and `env`); removed on drop.
struct Up {
    id: String,
    kubeconfig: PathBuf,
    cache: tempfile::TempDir,
    _guard: std::sync::MutexGuard<'static, ()>,
}

impl Up {
    fn new(up_args: &[&str], env: Option<(&str, &str)>) -> Result<Up, Failed> {
        let guard = crate::sandbox::SANDBOX_LOCK
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut args = vec!["sandbox", "up"];
        args.extend_from_slice(up_args);
        let mut cmd = tplab(args);
        if let Some((k, v)) = env {
            cmd = cmd.env(k, v);
        }
        let out = cmd.run();
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
            cache: crate::harness::tempdir(),
            _guard: guard,
        })
    }

    /// kubectl `version` with `args` (bounded), stdin from `input`: (code, stdout, stderr).
    fn run_in(
        &self,
        version: &str,
        args: &[&str],
        input: Option<&str>,
    ) -> Result<(i32, String, String), Failed> {
        let mut cmd = Command::new(format!("/usr/lib/google-cloud-sdk/bin/kubectl.{version}"));
        cmd.args(args)
            .env("KUBECONFIG", &self.kubeconfig)
            .env("KUBECACHEDIR", self.cache.path())
            .env("HOME", self.cache.path())
            .env_remove("KUBECTL_REMOTE_COMMAND_WEBSOCKETS")
            .stdin(if input.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().map_err(|e| fail(format!("{cmd:?}: {e}")))?;
        if let (Some(text), Some(mut stdin)) = (input, child.stdin.take()) {
            stdin.write_all(text.as_bytes()).map_err(fail)?;
        }
        let pid = child.id();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(child.wait_with_output());
        });
        let limit = Duration::from_secs(40);
        let out = rx.recv_timeout(limit).map_err(|_| {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            fail(format!("kubectl {version} {args:?} hung for {limit:?}"))
        })?;
        let out = out.map_err(fail)?;
        Ok((
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        ))
    }

    fn run(&self, version: &str, args: &[&str]) -> Result<(i32, String, String), Failed> {
        self.run_in(version, args, None)
    }

    fn ok(&self, version: &str, args: &[&str]) -> Result<String, Failed> {
        let (code, out, err) = self.run(version, args)?;
        if code != 0 {
            return Err(fail(format!(
                "kubectl {version} {args:?} exited {code}: {err}{out}"
            )));
        }
        Ok(out)
    }

    /// kubectl fails with exit 1 and `needle` in its stderr.
    fn fails(&self, version: &str, args: &[&str], needle: &str) -> Result<String, Failed> {
        let (code, out, err) = self.run(version, args)?;
        if code != 1 || !err.contains(needle) {
            return Err(fail(format!(
                "kubectl {version} {args:?}: exit {code}, wanted 1 with {needle:?}:\n{err}{out}"
            )));
        }
        Ok(err)
    }

    fn json(&self, version: &str, args: &[&str]) -> Result<serde_json::Value, Failed> {
        serde_json::from_str(&self.ok(version, args)?).map_err(fail)
    }

    fn node(&self) -> Result<String, Failed> {
        self.ok(
            "1.33",
            &["get", "nodes", "-o", "jsonpath={.items[0].metadata.name}"],
        )
    }

    fn netns(&self, role: &str) -> String {
        format!("tplab-{}-{role}", self.id)
    }

    fn audit(&self) -> Result<Vec<serde_json::Value>, Failed> {
        let path = format!("/run/tplab/sandboxes/{}/kube-audit.log", self.id);
        let text = std::fs::read_to_string(&path).map_err(fail)?;
        Ok(text
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect())
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        let _ = tplab(["sandbox", "down", &self.id]).run();
    }
}

/// The overrides `kubectl node-shell` (kvaps/kubectl-node-shell v1.11) passes to
/// `kubectl run`, for node `node` and a non-tty session.
fn node_shell_overrides(node: &str) -> String {
    serde_json::json!({
        "spec": {
            "nodeName": node,
            "hostPID": true,
            "hostIPC": true,
            "hostNetwork": true,
            "imagePullSecrets": null,
            "containers": [{
                "securityContext": { "privileged": true },
                "image": "docker.io/library/alpine",
                "name": "nsenter",
                "stdin": true,
                "stdinOnce": true,
                "tty": false,
                "command": ["nsenter", "--target", "1", "--mount", "--uts", "--ipc", "--net", "--pid", "--", "bash", "-l"],
                "resources": {},
                "volumeMounts": []
            }],
            "tolerations": [
                { "key": "CriticalAddonsOnly", "operator": "Exists" },
                { "effect": "NoExecute", "operator": "Exists" }
            ],
            "volumes": []
        }
    })
    .to_string()
}

/// `ip -j addr` (in netns `ns`, or parsed from `text`): interface name → IPv4 addresses.
fn ipv4_by_dev(v: &serde_json::Value) -> std::collections::BTreeMap<String, Vec<String>> {
    v.as_array()
        .into_iter()
        .flatten()
        .map(|l| {
            let addrs = l["addr_info"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|a| a["family"] == "inet")
                .filter_map(|a| a["local"].as_str().map(str::to_string))
                .collect();
            (l["ifname"].as_str().unwrap_or_default().to_string(), addrs)
        })
        .collect()
}

fn ip_json(args: &[&str]) -> Result<serde_json::Value, Failed> {
    let out = Command::new("ip").args(args).output().map_err(fail)?;
    serde_json::from_slice(&out.stdout).map_err(|e| fail(format!("ip {args:?}: {e}")))
}

fn netns_list() -> Result<Vec<String>, Failed> {
    let v = ip_json(&["-j", "netns", "list"])?;
    Ok(v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|n| n["name"].as_str().map(str::to_string))
        .collect())
}

fn node_shell() -> Result<(), Failed> {
    let up = Up::new(&[], None)?;
    let node = up.node()?;
    let overrides = node_shell_overrides(&node);
    let node_addrs = ipv4_by_dev(&ip_json(&["-j", "-n", &up.netns("node"), "addr"])?);
    for (i, v) in VERSIONS.iter().enumerate() {
        let pod = format!("nsenter-{i}x{}", &up.id[..4]);
        // What the plugin runs first: a server-side dry run (nothing is created).
        let dry = up.ok(
            v,
            &[
                "run",
                "--image",
                "docker.io/library/alpine",
                &pod,
                "--dry-run=server",
                "--restart=Never",
                "--overrides",
                &overrides,
                "-o",
                "json",
            ],
        )?;
        let dry: serde_json::Value = serde_json::from_str(&dry).map_err(fail)?;
        if dry["spec"]["hostNetwork"] != true || dry["spec"]["nodeName"] != node.as_str() {
            return Err(fail(format!("dry run answered {dry}")));
        }
        up.fails(v, &["get", "pod", &pod], "NotFound")?;
        up.ok(
            v,
            &[
                "run",
                "--image",
                "docker.io/library/alpine",
                &pod,
                "--restart=Never",
                "--overrides",
                &overrides,
            ],
        )?;
        up.ok(
            v,
            &[
                "wait",
                "--for=condition=Ready",
                &format!("pod/{pod}"),
                "--timeout=20s",
            ],
        )?;
        let got = up.json(v, &["get", "pod", &pod, "-o", "json"])?;
        let status = &got["status"];
        if status["phase"] != "Running"
            || status["containerStatuses"][0]["name"] != "nsenter"
            || status["containerStatuses"][0]["ready"] != true
            || got["spec"]["containers"][0]["securityContext"]["privileged"] != true
        {
            return Err(fail(format!("node-shell pod: {got}")));
        }
        // exec runs in the node's namespaces: the same interfaces as `ip -n <node>`.
        let inside = up.ok(v, &["exec", &pod, "--", "ip", "-j", "addr"])?;
        let inside = ipv4_by_dev(&serde_json::from_str(&inside).map_err(fail)?);
        if inside != node_addrs {
            return Err(fail(format!(
                "exec in the node-shell pod sees {inside:?}, the node netns has {node_addrs:?}"
            )));
        }
        up.ok(v, &["delete", "pod", &pod, "--wait"])?;
        up.fails(v, &["get", "pod", &pod], "NotFound")?;
        // `kubectl run -i` attaches to the pod's main process: `bash -l` on the node.
        let attached = format!("{pod}a");
        let (code, out, err) = up.run_in(
            v,
            &[
                "run",
                "--image",
                "docker.io/library/alpine",
                &attached,
                "--restart=Never",
                "--overrides",
                &overrides,
                "-i",
                "--pod-running-timeout=20s",
            ],
            Some("ip -j addr show dev eth0; exit 4\n"),
        )?;
        let shown = out.lines().find(|l| l.starts_with('[')).unwrap_or("[]");
        let eth0 = ipv4_by_dev(&serde_json::from_str(shown).map_err(fail)?);
        if code != 4 || eth0.get("eth0") != node_addrs.get("eth0") {
            return Err(fail(format!(
                "kubectl {v} run -i: exit {code}, eth0 {eth0:?}:\n{out}{err}"
            )));
        }
        let phase = up.ok(
            v,
            &[
                "get",
                "pod",
                &attached,
                "-o",
                "jsonpath={.status.phase} {.status.containerStatuses[0].state.terminated.exitCode}",
            ],
        )?;
        if phase != "Failed 4" {
            return Err(fail(format!("attached pod after exit 4: {phase}")));
        }
        up.ok(v, &["delete", "pod", &attached, "--wait"])?;
    }
    Ok(())
}

fn plain_pod() -> Result<(), Failed> {
    let up = Up::new(&[], None)?;
    let v = "1.33";
    up.ok(v, &["run", "plain", "--image=busybox", "--restart=Never"])?;
    up.ok(
        v,
        &[
            "wait",
            "--for=condition=Ready",
            "pod/plain",
            "--timeout=20s",
        ],
    )?;
    let pod = up.json(v, &["get", "pod", "plain", "-o", "json"])?;
    let ip = pod["status"]["podIP"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    if pod["status"]["phase"] != "Running" || !ip.starts_with("10.244.0.") || ip == "10.244.0.213" {
        return Err(fail(format!("plain pod: {}", pod["status"])));
    }
    let ns = up.netns("plain");
    if !netns_list()?.contains(&ns) {
        return Err(fail(format!("no netns {ns}: {:?}", netns_list()?)));
    }
    let addrs = ipv4_by_dev(&ip_json(&["-j", "-n", &ns, "addr"])?);
    if addrs.get("eth0") != Some(&vec![ip.clone()]) {
        return Err(fail(format!("netns {ns} has {addrs:?}, the pod says {ip}")));
    }
    // An lxc veth on the node, and the node reaches the pod.
    let links = ip_json(&["-j", "-n", &up.netns("node"), "link"])?;
    let lxcs = links
        .as_array()
        .into_iter()
        .flatten()
        .filter(|l| l["ifname"].as_str().is_some_and(|n| n.starts_with("lxc")))
        .count();
    if lxcs != 2 {
        return Err(fail(format!("{lxcs} lxc links on the node (want 2)")));
    }
    let ping = Command::new("ip")
        .args([
            "netns",
            "exec",
            &up.netns("node"),
            "ping",
            "-c1",
            "-W2",
            &ip,
        ])
        .output()
        .map_err(fail)?;
    if !ping.status.success() {
        return Err(fail(format!("node cannot ping {ip}: {ping:?}")));
    }
    // exec runs in the pod's netns.
    let inside = up.ok(
        v,
        &[
            "exec", "plain", "--", "ip", "-j", "addr", "show", "dev", "eth0",
        ],
    )?;
    let inside = ipv4_by_dev(&serde_json::from_str(&inside).map_err(fail)?);
    if inside.get("eth0") != Some(&vec![ip.clone()]) {
        return Err(fail(format!("exec in plain sees {inside:?}")));
    }
    let events = up.ok(
        v,
        &[
            "get",
            "events",
            "--field-selector",
            "involvedObject.name=plain",
            "-o",
            "jsonpath={.items[*].reason}",
        ],
    )?;
    if events != "Scheduled Pulled Created Started" {
        return Err(fail(format!("events of plain: {events}")));
    }
    // A watch sees the deletion as a real one: MODIFIED (Terminating) then DELETED.
    let rv = up.ok(
        v,
        &[
            "get",
            "pod",
            "plain",
            "-o",
            "jsonpath={.metadata.resourceVersion}",
        ],
    )?;
    up.ok(v, &["delete", "pod", "plain", "--wait"])?;
    let watched = up.ok(
        v,
        &[
            "get",
            "--raw",
            &format!(
                "/api/v1/namespaces/default/pods?watch=true&resourceVersion={rv}&timeoutSeconds=1"
            ),
        ],
    )?;
    let kinds: Vec<String> = watched
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|e| e["type"].as_str().map(str::to_string))
        .collect();
    if kinds.last().map(String::as_str) != Some("DELETED") || !kinds.iter().any(|k| k == "MODIFIED")
    {
        return Err(fail(format!("watch from {rv} after the delete: {kinds:?}")));
    }
    if netns_list()?.contains(&ns) {
        return Err(fail(format!("netns {ns} is still there after the delete")));
    }
    let routes = ip_json(&["-j", "-n", &up.netns("node"), "route"])?;
    if routes
        .as_array()
        .into_iter()
        .flatten()
        .any(|r| r["dst"] == ip.as_str())
    {
        return Err(fail(format!("the node still routes {ip}: {routes}")));
    }
    let state =
        std::fs::read_to_string(format!("/run/tplab/sandboxes/{}.json", up.id)).map_err(fail)?;
    let state: serde_json::Value = serde_json::from_str(&state).map_err(fail)?;
    if state["pods"].as_array().map_or(0, Vec::len) != 1 {
        return Err(fail(format!(
            "the sandbox's state still has the pod: {}",
            state["pods"]
        )));
    }
    // The audit log has the create (201) and the delete (200).
    let audit = up.audit()?;
    let done = |verb: &str, code: u64| {
        audit.iter().any(|e| {
            e["verb"] == verb
                && e["objectRef"]["resource"] == "pods"
                && e["stage"] == "ResponseComplete"
                && e["responseStatus"]["code"] == code
        })
    };
    if !done("create", 201) || !done("delete", 200) {
        return Err(fail(
            "the audit log lacks the create (201) or the delete (200)",
        ));
    }
    Ok(())
}

fn refusals() -> Result<(), Failed> {
    let up = Up::new(&[], None)?;
    let v = "1.33";
    let err = up.fails(
        v,
        &["delete", "pod", "pod"],
        "Error from server (Forbidden)",
    )?;
    if !err.contains(&format!("tplab sandbox down {}", up.id)) {
        return Err(fail(format!("deleting the seed pod: {err}")));
    }
    let cilium = up.ok(
        v,
        &[
            "get",
            "pods",
            "-n",
            "kube-system",
            "-o",
            "jsonpath={.items[0].metadata.name}",
        ],
    )?;
    up.fails(
        v,
        &["delete", "pod", "-n", "kube-system", &cilium],
        "Cilium agent",
    )?;
    up.fails(
        v,
        &["run", "pod", "--image=busybox"],
        "Error from server (AlreadyExists): pods \"pod\" already exists",
    )?;
    up.fails(
        v,
        &[
            "run",
            "elsewhere",
            "--image=busybox",
            "--overrides",
            r#"{"spec":{"nodeName":"node-other"}}"#,
        ],
        "The Pod \"elsewhere\" is invalid: spec.nodeName: Invalid value: \"node-other\"",
    )?;
    up.fails(
        v,
        &["run", "a-name-longer-than-16", "--image=busybox"],
        "metadata.name: Invalid value",
    )?;
    up.fails(
        v,
        &["run", "withport", "--image=busybox", "--port=80", "--overrides",
          r#"{"spec":{"containers":[{"name":"withport","image":"busybox","ports":[{"containerPort":80,"hostPort":8080}]}]}}"#],
        "spec.containers[0].ports[0].hostPort: Forbidden",
    )?;
    up.fails(
        v,
        &["run", "nons", "-n", "elsewhere", "--image=busybox"],
        "namespaces \"elsewhere\" not found",
    )?;
    // Strict field validation names the unknown field (sent raw: `kubectl create
    // --validate=strict` first needs the OpenAPI document).
    let dir = crate::harness::tempdir();
    let file = dir.path().join("pod.json");
    std::fs::write(
        &file,
        r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"strict"},"spec":{"bogus":1,"containers":[{"name":"c","image":"busybox"}]}}"#,
    )
    .map_err(fail)?;
    let f = file.display().to_string();
    up.fails(
        v,
        &[
            "create",
            "--raw",
            "/api/v1/namespaces/default/pods?fieldValidation=Strict",
            "-f",
            &f,
        ],
        "strict decoding error: unknown field \"spec.bogus\"",
    )?;
    up.fails(v, &["get", "pod", "strict"], "NotFound")?;
    // Nothing of these refused pods was built.
    if netns_list()?.iter().any(|n| {
        n.starts_with(&format!("tplab-{}-", up.id))
            && !["pod", "node", "world"].iter().any(|r| *n == up.netns(r))
    }) {
        return Err(fail(format!(
            "a refused pod left a netns: {:?}",
            netns_list()?
        )));
    }
    Ok(())
}

fn fault_rbac_psa() -> Result<(), Failed> {
    let up = Up::new(
        &[
            "--kube-fault",
            "exec-forbidden",
            "--kube-fault",
            "psa-privileged",
        ],
        None,
    )?;
    let node = up.node()?;
    for v in VERSIONS {
        up.fails(
            v,
            &["exec", "pod", "--", "true"],
            "Error from server (Forbidden): pods \"pod\" is forbidden: User \"kubernetes-admin\" cannot create resource \"pods/exec\" in API group \"\" in the namespace \"default\"",
        )?;
        up.fails(
            v,
            &["run", "--image", "docker.io/library/alpine", "nsenter-psa", "--restart=Never", "--overrides", &node_shell_overrides(&node)],
            "Error from server (Forbidden): pods \"nsenter-psa\" is forbidden: violates PodSecurity \"baseline:latest\": host namespaces (hostNetwork=true, hostPID=true, hostIPC=true), privileged (container \"nsenter\" must not set securityContext.privileged=true)",
        )?;
    }
    // An unprivileged pod is admitted (and exec into it is still forbidden).
    up.ok(
        "1.33",
        &["run", "plain", "--image=busybox", "--restart=Never"],
    )?;
    up.ok(
        "1.33",
        &[
            "wait",
            "--for=condition=Ready",
            "pod/plain",
            "--timeout=20s",
        ],
    )?;
    up.fails(
        "1.33",
        &["exec", "plain", "--", "true"],
        "cannot create resource \"pods/exec\"",
    )?;
    Ok(())
}

fn waiting_reason(up: &Up, pod: &str) -> Result<String, Failed> {
    up.ok(
        "1.33",
        &[
            "get",
            "pod",
            pod,
            "-o",
            "jsonpath={.status.phase} {.status.containerStatuses[0].state.waiting.reason}",
        ],
    )
}

fn fault_pull_slow() -> Result<(), Failed> {
    {
        let up = Up::new(&["--kube-fault", "image-pull"], None)?;
        up.ok(
            "1.33",
            &["run", "plain", "--image=busybox", "--restart=Never"],
        )?;
        up.fails(
            "1.33",
            &["wait", "--for=condition=Ready", "pod/plain", "--timeout=4s"],
            "timed out waiting for the condition",
        )?;
        let state = waiting_reason(&up, "plain")?;
        if state != "Pending ImagePullBackOff" {
            return Err(fail(format!("image-pull fault: {state}")));
        }
        let events = up.ok(
            "1.33",
            &[
                "get",
                "events",
                "--field-selector",
                "involvedObject.name=plain,type=Warning",
                "-o",
                "jsonpath={range .items[*]}{.reason}: {.message}{\"\\n\"}{end}",
            ],
        )?;
        if !events.contains("Failed: Failed to pull image \"busybox\"")
            || !events.contains("Failed: Error: ImagePullBackOff")
        {
            return Err(fail(format!("image-pull events:\n{events}")));
        }
        if netns_list()?.contains(&up.netns("plain")) {
            return Err(fail("a pod whose image never pulled got a netns"));
        }
        up.ok("1.33", &["delete", "pod", "plain", "--wait"])?;
    }
    // The environment variable works as the option does.
    let up = Up::new(&[], Some(("TPLAB_KUBEAPI_FAULTS", "slow-start=4s")))?;
    let t0 = Instant::now();
    up.ok(
        "1.33",
        &["run", "slow", "--image=busybox", "--restart=Never"],
    )?;
    // Pending (no reason yet) until the API starts the container, then ContainerCreating
    // for the fault's 4 s: poll until it says so, well before that delay ends.
    let mut state = waiting_reason(&up, "slow")?;
    while state != "Pending ContainerCreating" && t0.elapsed() < Duration::from_secs(3) {
        std::thread::sleep(Duration::from_millis(50));
        state = waiting_reason(&up, "slow")?;
    }
    if state != "Pending ContainerCreating" {
        return Err(fail(format!("slow-start, before its 4 s: {state}")));
    }
    up.ok(
        "1.33",
        &["wait", "--for=condition=Ready", "pod/slow", "--timeout=30s"],
    )?;
    // The fault's own delay (a lower bound the API promises, not a speed target).
    if t0.elapsed() < Duration::from_secs(4) {
        return Err(fail(format!(
            "slow-start=4s: pod/slow was Ready after {:?}",
            t0.elapsed()
        )));
    }
    up.ok("1.33", &["delete", "pod", "slow", "--wait"])?;
    Ok(())
}

fn malformed() -> Result<(), Failed> {
    let up = Up::new(&[], None)?;
    let dir = crate::harness::tempdir();
    let post = |name: &str, body: &[u8], needle: &str| -> Result<(), Failed> {
        let file = dir.path().join(name);
        std::fs::write(&file, body).map_err(fail)?;
        up.fails(
            "1.33",
            &[
                "create",
                "--raw",
                "/api/v1/namespaces/default/pods",
                "-f",
                &file.display().to_string(),
            ],
            needle,
        )
        .map(|_| ())
    };
    post(
        "bad.json",
        b"{\"kind\": \"Pod\", ",
        "couldn't get version/kind; json parse error",
    )?;
    post(
        "svc.json",
        br#"{"apiVersion":"v1","kind":"Service","metadata":{"name":"s"}}"#,
        "Service",
    )?;
    post(
        "apps.json",
        br#"{"apiVersion":"apps/v1","kind":"Pod","metadata":{"name":"s"}}"#,
        "does not match the expected API version",
    )?;
    post(
        "nokind.json",
        br#"{"apiVersion":"v1","metadata":{"name":"s"}}"#,
        "Object 'Kind' is missing",
    )?;
    post(
        "typed.json",
        br#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"s"},"spec":{"containers":"no"}}"#,
        "cannot be handled as a Pod",
    )?;
    post(
        "ns.json",
        br#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"s","namespace":"kube-system"},"spec":{"containers":[{"name":"c","image":"i"}]}}"#,
        "does not match the namespace",
    )?;
    post(
        "noname.json",
        br#"{"apiVersion":"v1","kind":"Pod","spec":{"containers":[{"name":"c","image":"i"}]}}"#,
        "name or generateName is required",
    )?;
    let mut huge =
        br#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"h","annotations":{"a":""#.to_vec();
    huge.extend(std::iter::repeat_n(b'x', 4 * 1024 * 1024));
    huge.extend(br#""}}}"#);
    post(
        "huge.json",
        &huge,
        "Request entity too large: limit is 3145728",
    )?;
    // The API still answers, and none of these made a pod.
    let names = up.ok(
        "1.33",
        &["get", "pods", "-o", "jsonpath={.items[*].metadata.name}"],
    )?;
    if names != "pod" {
        return Err(fail(format!("pods after malformed creates: {names}")));
    }
    Ok(())
}

/// A PATH where `kubectl` is kubectl 1.33 and `kubectl node-shell` the kvaps plugin.
fn plugin_path(dir: &std::path::Path) -> Result<String, Failed> {
    std::os::unix::fs::symlink(
        "/usr/lib/google-cloud-sdk/bin/kubectl.1.33",
        dir.join("kubectl"),
    )
    .map_err(fail)?;
    std::os::unix::fs::symlink(
        crate::harness::fixture("kube/kubectl-node_shell"),
        dir.join("kubectl-node_shell"),
    )
    .map_err(fail)?;
    Ok(format!(
        "{}:{}",
        dir.display(),
        std::env::var("PATH").unwrap_or_default()
    ))
}

/// Only the sandbox's own pod is left (the plugin deletes with `--wait=false`).
fn only_seed_pod_left(up: &Up) -> Result<(), Failed> {
    let t0 = Instant::now();
    loop {
        let names = up.ok(
            "1.33",
            &["get", "pods", "-o", "jsonpath={.items[*].metadata.name}"],
        )?;
        if names == "pod" {
            return Ok(());
        }
        if t0.elapsed() > Duration::from_secs(15) {
            return Err(fail(format!("pods left after the plugin: {names}")));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn kvaps_plugin() -> Result<(), Failed> {
    let up = Up::new(&[], None)?;
    let node = up.node()?;
    let bin = crate::harness::tempdir();
    let path = plugin_path(bin.path())?;
    let node_addrs = ipv4_by_dev(&ip_json(&["-j", "-n", &up.netns("node"), "addr"])?);
    // Without a terminal: `kubectl node-shell NODE -- CMD`, its exit code.
    let out = Command::new("kubectl")
        .args([
            "node-shell",
            &node,
            "--",
            "sh",
            "-c",
            "ip -j addr show dev eth0; exit 5",
        ])
        .env("PATH", &path)
        .env("KUBECONFIG", &up.kubeconfig)
        .env("HOME", up.cache.path())
        .env("KUBECACHEDIR", up.cache.path())
        .stdin(Stdio::null())
        .output()
        .map_err(fail)?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let shown = stdout.lines().find(|l| l.starts_with('[')).unwrap_or("[]");
    let eth0 = ipv4_by_dev(&serde_json::from_str(shown).map_err(fail)?);
    if out.status.code() != Some(5) || eth0.get("eth0") != node_addrs.get("eth0") {
        return Err(fail(format!(
            "kubectl node-shell: {:?}, eth0 {eth0:?}:\n{stdout}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    only_seed_pod_left(&up)?;
    // Through a terminal: an interactive login shell on the node (tty attach).
    let tmux = Tmux::start(&format!(
        "env PATH={path} KUBECONFIG={} HOME={home} KUBECACHEDIR={home} kubectl node-shell {node}; echo plugin-exit=$?; sleep 60",
        up.kubeconfig.display(),
        home = up.cache.path().display(),
    ))?;
    tmux.wait_for("If you don't see a command prompt", Duration::from_secs(30))?;
    tmux.type_line("echo node-$((6*7)) $(tty); ip -br addr show dev cilium_host")?;
    let screen = tmux.wait_for("node-42 /dev/pts/", Duration::from_secs(15))?;
    tmux.wait_for("10.244.0.201/32", Duration::from_secs(10))
        .map_err(|_| fail(format!("no cilium_host in the node shell:\n{screen}")))?;
    tmux.type_line("exit 0")?;
    tmux.wait_for("plugin-exit=0", Duration::from_secs(20))?;
    only_seed_pod_left(&up)
}
