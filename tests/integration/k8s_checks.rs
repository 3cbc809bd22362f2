//! The `k8s` check kind against the sandbox's Kubernetes API (root): the Cilium
//! `ConfigMap`, the agent pod's args, the student pod's IP (cross-checked with
//! `kubectl -o json`), a failing check that shows what it found, an absent object; a
//! user without rights gets error verdicts naming the verb and resource to grant (never
//! failures), and so does an unreachable API.

use std::path::Path;
use std::process::Command;

use serde_json::Value;
use tplab_testkit::Suite;

use crate::agent::Up;
use crate::harness::{Failed, fail, tempdir, tplab};

pub fn register(suite: Suite) -> Suite {
    suite.root_test("k8s::checks_on_the_sandbox_api", checks_on_the_sandbox_api)
}

const KUBECTL: &str = "/usr/lib/google-cloud-sdk/bin/kubectl.1.33";

fn kubectl_json(kubeconfig: &Path, args: &[&str]) -> Result<Value, Failed> {
    let out = Command::new(KUBECTL)
        .args(args)
        .args(["-o", "json"])
        .env("KUBECONFIG", kubeconfig)
        .output()
        .map_err(|e| fail(format!("kubectl: {e}")))?;
    serde_json::from_slice(&out.stdout).map_err(|e| {
        fail(format!(
            "kubectl {args:?}: {e}: {}",
            String::from_utf8_lossy(&out.stderr)
        ))
    })
}

fn lab(pod: &str, pod_ip: &str) -> String {
    format!(
        r#"---
id: k8s-checks
title: k8s checks on the sandbox's API
environments: [sandbox]
roles: [node, pod]
---

## Objects {{#objects}}

```check
- id: cm
  name: cilium-config leaves NAT to iptables
  k8s: {{ kind: ConfigMap, namespace: kube-system, name: cilium-config, fields: {{ data.enable-bpf-masquerade: "false" }} }}
  capture: {{ MASQ: data.enable-bpf-masquerade }}
- id: args
  name: the agent reads its ConfigMap
  k8s:
    kind: Pod
    namespace: kube-system
    selector: k8s-app=cilium
    fields:
      "spec.containers[name=cilium-agent].args": {{ regex: "^--config-dir=" }}
      metadata.labels.k8s-app: cilium
- id: pod-ip
  name: the student pod's IP
  k8s: {{ kind: Pod, apiVersion: v1, namespace: default, name: {pod}, fields: {{ status.podIP: "{pod_ip}" }} }}
  capture: {{ API_IP: status.podIP }}
- id: pod-ip-again
  name: the captured IP is the pod's
  address: {{ address: "{{{{ API_IP }}}}", ifname: eth0 }}
  target: pod
- id: wrong
  name: eBPF masquerading (it is off)
  k8s: {{ kind: ConfigMap, namespace: kube-system, name: cilium-config, fields: {{ data.enable-bpf-masquerade: "true" }} }}
- id: missing
  name: a ConfigMap that does not exist
  k8s: {{ kind: ConfigMap, namespace: kube-system, name: no-such-config }}
- id: absent
  name: no such ConfigMap
  k8s: {{ kind: ConfigMap, namespace: kube-system, name: no-such-config, absent: true }}
```

## Unknown kind {{#kind}}

```check
- id: widget
  name: a kind the cluster does not serve
  k8s: {{ kind: Widget, name: w }}
```
"#
    )
}

fn checks(out: &crate::harness::Output) -> Result<Vec<Value>, Failed> {
    let v = out.json()?;
    let steps = v.as_array().cloned().unwrap_or_default();
    Ok(steps
        .iter()
        .flat_map(|s| s["checks"].as_array().cloned().unwrap_or_default())
        .collect())
}

fn by_id<'a>(checks: &'a [Value], id: &str) -> Result<&'a Value, Failed> {
    checks
        .iter()
        .find(|c| c["id"] == id)
        .ok_or_else(|| fail(format!("no check `{id}` in {checks:?}")))
}

fn expect(checks: &[Value], id: &str, verdict: &str, needle: &str) -> Result<(), Failed> {
    let c = by_id(checks, id)?;
    let text = format!("{} {} {}", c["found"], c["message"], c["expected"]);
    if c["verdict"] != verdict || !text.contains(needle) {
        return Err(fail(format!(
            "check `{id}`: expected {verdict} mentioning `{needle}`, got {c}"
        )));
    }
    Ok(())
}

fn checks_on_the_sandbox_api() -> Result<(), Failed> {
    let sb = Up::new()?;
    let kubeconfig = tplab_kubeapi::kubeconfig_path(&sb.id).map_err(|e| fail(e.to_string()))?;
    // The pod's name and IP as kubectl sees them, written into the lab.
    let pods = kubectl_json(&kubeconfig, &["get", "pods", "-n", "default"])?;
    let pod = &pods["items"][0];
    let (name, ip) = (
        pod["metadata"]["name"].as_str().unwrap_or_default(),
        pod["status"]["podIP"].as_str().unwrap_or_default(),
    );
    if name.is_empty() || ip.is_empty() {
        return Err(fail(format!("kubectl shows no pod IP: {pod}")));
    }
    let dir = tempdir();
    let path = dir.path().join("k8s.md");
    std::fs::write(&path, lab(name, ip)).map_err(|e| fail(e.to_string()))?;
    let path = path.display().to_string();
    tplab(["lint", &path]).run().success()?;

    let run = |step: &str| {
        tplab([
            "check",
            &path,
            "--sandbox",
            &sb.id,
            "--step",
            step,
            "--json",
        ])
    };
    let out = run("objects").run();
    out.code(1)?;
    let got = checks(&out)?;
    expect(&got, "cm", "pass", "data.enable-bpf-masquerade = false")?;
    expect(&got, "args", "pass", "--config-dir=")?;
    expect(&got, "pod-ip", "pass", ip)?;
    expect(&got, "pod-ip-again", "pass", ip)?;
    expect(&got, "wrong", "fail", "data.enable-bpf-masquerade = false")?;
    expect(
        &got,
        "missing",
        "fail",
        "no ConfigMap kube-system/no-such-config",
    )?;
    expect(&got, "absent", "pass", "no ConfigMap")?;
    let out = run("kind").run();
    out.code(3)?;
    expect(&checks(&out)?, "widget", "error", "serves no kind `Widget`")?;

    // A user outside system:masters: every lookup is Forbidden, an error verdict.
    let (cert, key) = tplab_kubeapi::issue_client_cert(&sb.id, "student", &["students"])
        .map_err(|e| fail(e.to_string()))?;
    let limited = other_kubeconfig(&kubeconfig, dir.path(), Some((&cert, &key)), None)?;
    let out = run("objects").env("TPLAB_KUBECONFIG", &limited).run();
    out.code(3)?;
    let got = checks(&out)?;
    expect(
        &got,
        "cm",
        "error",
        "forbids `get` on `configmaps` in namespace `kube-system`",
    )?;
    expect(
        &got,
        "args",
        "error",
        "forbids `list` on `pods` in namespace `kube-system`",
    )?;
    expect(
        &got,
        "absent",
        "error",
        "a Role with verbs [get] on `configmaps` in namespace `kube-system`",
    )?;
    // The API unreachable (nothing listens on port 1): errors too, saying so.
    let down = other_kubeconfig(&kubeconfig, dir.path(), None, Some("https://127.0.0.1:1"))?;
    let out = run("objects").env("TPLAB_KUBECONFIG", &down).run();
    out.code(3)?;
    expect(&checks(&out)?, "cm", "error", "unreachable")?;
    Ok(())
}

/// The sandbox's kubeconfig with another user's certificate or another server.
fn other_kubeconfig(
    admin: &Path,
    dir: &Path,
    user: Option<(&str, &str)>,
    server: Option<&str>,
) -> Result<std::path::PathBuf, Failed> {
    let text = std::fs::read_to_string(admin).map_err(|e| fail(e.to_string()))?;
    let mut config: serde_yaml::Value =
        serde_yaml::from_str(&text).map_err(|e| fail(e.to_string()))?;
    let n = std::fs::read_dir(dir).map_or(0, Iterator::count);
    if let Some((cert, key)) = user {
        let (cert_path, key_path) = (dir.join(format!("u{n}.crt")), dir.join(format!("u{n}.key")));
        std::fs::write(&cert_path, cert).map_err(|e| fail(e.to_string()))?;
        std::fs::write(&key_path, key).map_err(|e| fail(e.to_string()))?;
        let u = &mut config["users"][0]["user"];
        *u = serde_yaml::to_value(serde_json::json!({
            "client-certificate": cert_path.display().to_string(),
            "client-key": key_path.display().to_string(),
        }))
        .map_err(|e| fail(e.to_string()))?;
    }
    if let Some(server) = server {
        config["clusters"][0]["cluster"]["server"] = server.into();
    }
    let path = dir.join(format!("kubeconfig-{n}"));
    std::fs::write(
        &path,
        serde_yaml::to_string(&config).map_err(|e| fail(e.to_string()))?,
    )
    .map_err(|e| fail(e.to_string()))?;
    Ok(path)
}
