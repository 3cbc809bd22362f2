//! The rest of kubectl's surface against a sandbox's API (root), with every version of
//! [`VERSIONS`]: `kubectl logs` (the agent's log states the sandbox's facts; `--tail`,
//! `--since`, `--timestamps`, `--limit-bytes`, `-c`, `--previous`, `-f` that ends when
//! the sandbox goes down), `kubectl cp` in and out of both pods (byte for byte), and the
//! discovery/OpenAPI calls of `describe`, `get -o yaml`, `explain`, `logs`, `exec`, `cp`
//! (no warning, no error; `explain` reads the served schemas).

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tplab_testkit::Suite;

use crate::harness::{Failed, fail, tplab};
use crate::kubeapi::{Up, VERSIONS, kubectl_cmd, netns_ipv4};

pub fn register(suite: Suite) -> Suite {
    suite
        .root_test("kubeapi_io::kubectl_logs_of_the_agent", logs)
        .root_test(
            "kubeapi_io::kubectl_logs_follow_ends_with_the_sandbox",
            logs_follow,
        )
        .root_test("kubeapi_io::kubectl_cp_in_and_out", cp)
        .root_test("kubeapi_io::kubectl_prints_no_warning", no_warnings)
}

fn cilium_pod(up: &Up) -> Result<String, Failed> {
    let out = up.ok("1.33", &["get", "pods", "-n", "kube-system", "-o", "name"])?;
    Ok(out.trim().trim_start_matches("pod/").to_string())
}

/// `time="…"` of a logrus line, parsed.
fn line_time(line: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    let t = line.strip_prefix("time=\"")?.split('"').next()?;
    chrono::DateTime::parse_from_rfc3339(t)
        .ok()
        .map(|t| t.with_timezone(&chrono::Utc))
}

fn logs() -> Result<(), Failed> {
    let up = Up::new()?;
    let pod = cilium_pod(&up)?;
    let state: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(format!("/run/tplab/sandboxes/{}.json", up.id)).map_err(fail)?,
    )
    .map_err(fail)?;
    let lxc = state["pods"][0]["lxc_name"]
        .as_str()
        .unwrap_or("?")
        .to_string();
    let pod_ip = netns_ipv4(&format!("tplab-{}-pod", up.id), "eth0")?;
    let node_ip = netns_ipv4(&format!("tplab-{}-node", up.id), "eth0")?;
    let node = up.ok(
        "1.33",
        &["get", "nodes", "-o", "jsonpath={.items[0].metadata.name}"],
    )?;
    // The programs the kernel has on the lxc (legacy tc filters), named in the log.
    let tc = Command::new("tc")
        .args([
            "-j",
            "-n",
            &format!("tplab-{}-node", up.id),
            "filter",
            "show",
            "dev",
            &lxc,
            "ingress",
        ])
        .output()
        .map_err(fail)?;
    let filters: serde_json::Value = serde_json::from_slice(&tc.stdout).unwrap_or_default();
    let ingress_prog = filters
        .as_array()
        .and_then(|a| a.iter().find_map(|f| f["options"]["prog"]["name"].as_str()))
        .map(str::to_string);
    for v in VERSIONS {
        let text = up.ok(v, &["logs", "-n", "kube-system", &pod])?;
        let lines: Vec<&str> = text.lines().collect();
        if lines.len() < 50
            || !lines
                .iter()
                .all(|l| l.starts_with("time=\"") && line_time(l).is_some())
        {
            return Err(fail(format!(
                "kubectl {v} logs: not the agent's log format:\n{text}"
            )));
        }
        for want in [
            format!("msg=\"  Local node-name: {}\" subsys=daemon", node.trim()),
            format!("msg=\"  External-Node IPv4: {}\" subsys=daemon", node_ip[0]),
            format!(" interface={lxc} "),
            format!(" endpointID=762 identity=42837 ipv4={} ", pod_ip[0]),
            "msg=\"  --ipv4-native-routing-cidr='10.244.0.0/16'\" subsys=daemon".to_string(),
            "msg=\"  --config-dir='/tmp/cilium/config-map'\" subsys=daemon".to_string(),
            " mtu=1500 subsys=mtu".to_string(),
            "msg=\"Successful endpoint creation\"".to_string(),
        ] {
            if !text.contains(&want) {
                return Err(fail(format!("kubectl {v} logs: no {want:?}:\n{text}")));
            }
        }
        // tc prints the kernel's 15-byte name (`cil_from_contai`); the log, like Cilium's,
        // the whole one (`cil_from_container`).
        if let Some(p) = &ingress_prog
            && !text.lines().any(|l| {
                l.contains(&format!("msg=\"Program {p}"))
                    && l.contains(&format!(" attached to device {lxc} using"))
            })
        {
            return Err(fail(format!(
                "kubectl {v} logs: program {p} on {lxc} not logged"
            )));
        }
        // Same log with -c, and --tail / --timestamps / --limit-bytes / --since.
        let same = up.ok(
            v,
            &["logs", "-n", "kube-system", &pod, "-c", "cilium-agent"],
        )?;
        if same != text {
            return Err(fail(format!("kubectl {v} logs -c cilium-agent differs")));
        }
        let tail = up.ok(
            v,
            &[
                "logs",
                "-n",
                "kube-system",
                &pod,
                "--tail=3",
                "--timestamps",
            ],
        )?;
        let tail_lines: Vec<&str> = tail.lines().collect();
        if tail_lines.len() != 3 {
            return Err(fail(format!("kubectl {v} logs --tail=3: {tail:?}")));
        }
        for (got, want) in tail_lines.iter().zip(&lines[lines.len() - 3..]) {
            let (stamp, rest) = got.split_once(' ').unwrap_or(("", got));
            let t = chrono::DateTime::parse_from_rfc3339(stamp)
                .map_err(|e| fail(format!("{stamp}: {e}")))?;
            if rest != *want || Some(t.with_timezone(&chrono::Utc)) != line_time(want) {
                return Err(fail(format!(
                    "kubectl {v} --timestamps: {got:?} vs {want:?}"
                )));
            }
        }
        let limited = up.ok(v, &["logs", "-n", "kube-system", &pod, "--limit-bytes=100"])?;
        if limited.len() != 100 || !text.starts_with(&limited) {
            return Err(fail(format!(
                "kubectl {v} --limit-bytes=100: {} bytes",
                limited.len()
            )));
        }
        // The sandbox started moments ago: everything is within the last hour, none
        // of it is in the future.
        let hour = up.ok(v, &["logs", "-n", "kube-system", &pod, "--since=1h"])?;
        if hour != text {
            return Err(fail(format!(
                "kubectl {v} --since=1h differs from the whole log"
            )));
        }
        let (code, _, err) = up.run(v, &["logs", "-n", "kube-system", &pod, "--previous"])?;
        if code != 1
            || !err.contains(&format!(
                "Error from server (BadRequest): previous terminated container \"cilium-agent\" in pod \"{pod}\" not found"
            ))
        {
            return Err(fail(format!("kubectl {v} logs --previous: {code} {err}")));
        }
        let (code, _, err) = up.run(v, &["logs", "-n", "kube-system", &pod, "-c", "nope"])?;
        if code == 0 || !err.contains("container nope is not valid for pod") {
            return Err(fail(format!("kubectl {v} logs -c nope: {code} {err}")));
        }
        // The `config` init container read the config map's pairs.
        let pairs = up
            .ok(
                v,
                &["get", "cm/cilium-config", "-n", "kube-system", "-o", "json"],
            )
            .and_then(|j| serde_json::from_str::<serde_json::Value>(&j).map_err(fail))?["data"]
            .as_object()
            .map_or(0, serde_json::Map::len);
        let init = up.ok(v, &["logs", "-n", "kube-system", &pod, "-c", "config"])?;
        if !init.contains(&format!("msg=\"Got {pairs} config pairs from source\"")) {
            return Err(fail(format!("kubectl {v} logs -c config:\n{init}")));
        }
        // The student's pod runs `sleep infinity`: an empty log.
        let student = up.ok(v, &["logs", "pod"])?;
        if !student.is_empty() {
            return Err(fail(format!("kubectl {v} logs pod: {student:?}")));
        }
    }
    let (code, _, err) = up.run("1.33", &["logs", "nope"])?;
    if code != 1 || !err.contains("pods \"nope\" not found") {
        return Err(fail(format!("logs nope: {code} {err}")));
    }
    Ok(())
}

fn logs_follow() -> Result<(), Failed> {
    let up = Up::new()?;
    let pod = cilium_pod(&up)?;
    let mut followers = Vec::new();
    for v in VERSIONS {
        let mut cmd = up.kubectl(v, &["logs", "-f", "-n", "kube-system", &pod, "--tail=1"]);
        cmd.stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .stdin(Stdio::null());
        followers.push((v, cmd.spawn().map_err(fail)?));
    }
    std::thread::sleep(Duration::from_secs(3));
    for (v, child) in &mut followers {
        if let Some(status) = child.try_wait().map_err(fail)? {
            return Err(fail(format!(
                "kubectl {v} logs -f ended by itself: {status}"
            )));
        }
    }
    tplab(["sandbox", "down", &up.id]).run().success()?;
    for (v, mut child) in followers {
        let start = Instant::now();
        let status = loop {
            if let Some(s) = child.try_wait().map_err(fail)? {
                break s;
            }
            if start.elapsed() > Duration::from_secs(10) {
                let _ = child.kill();
                return Err(fail(format!("kubectl {v} logs -f outlived the sandbox")));
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let mut out = String::new();
        let mut err = String::new();
        child.stdout.take().map(|mut o| o.read_to_string(&mut out));
        child.stderr.take().map(|mut e| e.read_to_string(&mut err));
        if !status.success()
            || out.lines().count() != 1
            || !out.contains("Successful endpoint creation")
            || !err.is_empty()
        {
            return Err(fail(format!(
                "kubectl {v} logs -f: {status} {out:?} {err:?}"
            )));
        }
    }
    Ok(())
}

/// Random bytes, every value present (so any byte mangling shows).
fn blob(n: usize) -> Vec<u8> {
    let mut data = vec![0u8; n];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        let _ = f.read_exact(&mut data);
    }
    for (i, b) in data.iter_mut().take(256).enumerate() {
        *b = u8::try_from(i).unwrap_or(0);
    }
    data
}

fn cp() -> Result<(), Failed> {
    let up = Up::new()?;
    let pod = cilium_pod(&up)?;
    let work = crate::harness::tempdir();
    let local = work.path().join("local");
    std::fs::create_dir_all(local.join("tree/sub")).map_err(fail)?;
    let data = blob(300_000);
    std::fs::write(local.join("blob.bin"), &data).map_err(fail)?;
    std::fs::write(local.join("tree/sub/note.txt"), "a file in a tree\n").map_err(fail)?;
    // The pods see this machine's filesystem: a directory of the test's own holds what
    // is copied in, removed with it.
    let remote = work.path().join("remote");
    std::fs::create_dir_all(&remote).map_err(fail)?;
    for v in VERSIONS {
        for target in ["pod".to_string(), format!("kube-system/{pod}")] {
            let dest = remote.join(format!("{}-{v}", target.replace('/', "_")));
            std::fs::create_dir_all(&dest).map_err(fail)?;
            let dest = dest.display().to_string();
            let run = |args: &[&str]| -> Result<(), Failed> {
                let mut cmd = kubectl_cmd(&up.kubeconfig, up.cache.path(), v, args);
                cmd.current_dir(&local);
                let (code, out, err) = crate::kubeapi::output(&mut cmd, Duration::from_secs(60))?;
                if code != 0 {
                    return Err(fail(format!("kubectl {v} {args:?}: {code} {out}{err}")));
                }
                Ok(())
            };
            run(&["cp", "blob.bin", &format!("{target}:{dest}/blob.bin")])?;
            run(&["cp", "tree", &format!("{target}:{dest}/tree")])?;
            let back = work
                .path()
                .join(format!("back-{}-{v}", target.replace('/', "_")));
            let back_s = back.display().to_string();
            run(&[
                "cp",
                &format!("{target}:{dest}/blob.bin"),
                &format!("{back_s}.bin"),
            ])?;
            run(&["cp", &format!("{target}:{dest}/tree"), &back_s])?;
            let got = std::fs::read(format!("{back_s}.bin")).map_err(fail)?;
            if got != data || std::fs::read(format!("{dest}/blob.bin")).map_err(fail)? != data {
                return Err(fail(format!("kubectl {v} cp {target}: the bytes changed")));
            }
            let note = std::fs::read_to_string(back.join("sub/note.txt")).map_err(fail)?;
            if note != "a file in a tree\n" {
                return Err(fail(format!("kubectl {v} cp {target} tree: {note:?}")));
            }
        }
    }
    // `kubectl cp` runs `tar` in the pod: were it missing, the answer names it, as the
    // kubelet's does for any command not found.
    let (code, _, err) = up.run(
        "1.33",
        &["exec", "pod", "--", "tplab-no-such-tar", "cf", "-", "/"],
    )?;
    if code == 0 || !err.contains("\"tplab-no-such-tar\": executable file not found in $PATH") {
        return Err(fail(format!("a missing command: {code} {err}")));
    }
    Ok(())
}

fn no_warnings() -> Result<(), Failed> {
    let up = Up::new()?;
    let pod = cilium_pod(&up)?;
    let work = crate::harness::tempdir();
    std::fs::write(work.path().join("f"), "x").map_err(fail)?;
    let f = work.path().join("f").display().to_string();
    let target = format!("pod:{}/g", work.path().display());
    let manifest = work.path().join("web.yaml");
    std::fs::write(
        &manifest,
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  a: b\n",
    )
    .map_err(fail)?;
    let manifest = manifest.display().to_string();
    for v in VERSIONS {
        let calls: [Vec<&str>; 9] = [
            // Validation reads OpenAPI v3 (client dry run: nothing is sent).
            vec!["apply", "-f", &manifest, "--dry-run=client"],
            vec!["create", "-f", &manifest, "--dry-run=client", "-o", "name"],
            vec!["describe", "pod", &pod, "-n", "kube-system"],
            vec!["get", "cm/cilium-config", "-o", "yaml", "-n", "kube-system"],
            vec!["explain", "pods.spec.nodeName"],
            vec!["explain", "daemonsets.spec.template"],
            vec!["logs", "-n", "kube-system", &pod, "--tail=1"],
            vec!["exec", "pod", "--", "true"],
            vec!["cp", &f, &target],
        ];
        for args in calls {
            // A fresh cache each time: kubectl's first run fetches discovery and OpenAPI.
            let cache = crate::harness::tempdir();
            let mut cmd = kubectl_cmd(&up.kubeconfig, cache.path(), v, &args);
            let (code, out, err) = crate::kubeapi::output(&mut cmd, Duration::from_secs(60))?;
            if code != 0 || !err.is_empty() {
                return Err(fail(format!(
                    "kubectl {v} {args:?}: exit {code}, stderr {err:?}\n{out}"
                )));
            }
            if args[0] == "explain" && !out.contains("DESCRIPTION:") {
                return Err(fail(format!("kubectl {v} {args:?}:\n{out}")));
            }
        }
        let explained = up.ok(v, &["explain", "pods.spec.nodeName"])?;
        if !explained.contains("FIELD: nodeName <string>") {
            return Err(fail(format!("kubectl {v} explain:\n{explained}")));
        }
    }
    Ok(())
}
