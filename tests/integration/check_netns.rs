//! `netns: NAME` on a single check (root, `local`): a namespace the student creates,
//! with no role for it. Before it exists the checks *fail* and say so in the lab's
//! language (French here: the environment's error in French, not English); once the
//! student made it (with iproute2, as they would), the typed checks read inside it over
//! netlink, the `run:` check runs inside it, and the verdicts agree with `ip -j`.

use std::path::Path;
use std::process::{Command, Stdio};

use tplab_testkit::Suite;

use crate::harness::{Failed, ensure, fail, tempdir, tplab};

pub fn register(suite: Suite) -> Suite {
    suite.root_test(
        "check_netns::typed_checks_read_the_named_namespace",
        typed_checks_read_the_named_namespace,
    )
}

/// Removes the test's namespace, whatever happens.
struct Netns(String);

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "delete", &self.0])
            .stderr(Stdio::null())
            .status();
    }
}

fn ip(args: &[&str]) -> Result<String, Failed> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| fail(format!("ip {args:?}: {e}")))?;
    ensure(
        out.status.success(),
        format!("ip {args:?}: {}", String::from_utf8_lossy(&out.stderr)),
    )?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn check(lab: &Path) -> crate::harness::Output {
    tplab(["check".as_ref(), "--json".as_ref(), lab.as_os_str()]).run()
}

fn typed_checks_read_the_named_namespace() -> Result<(), Failed> {
    let name = format!("tplab-it-blue-{}", std::process::id());
    let _guard = Netns(name.clone());
    let dir = tempdir();
    let lab = dir.path().join("lab.md");
    let text = format!(
        "---\nid: netns-check\ntitle: Un namespace à vous\nlang: fr\nenvironments: [local]\nroles: [local]\n---\n\n\
         ## Le namespace {{#blue}}\n\n```sh {{target=local}}\nip netns add {name}\n```\n\n```check\n\
         - name: d0 est là, active\n  link: {{ name: d0, kind: veth, admin_up: true }}\n  netns: {name}\n\
         - name: d0 porte 192.0.2.1/24\n  address: {{ dev: d0, address: 192.0.2.1, prefix_len: 24 }}\n  netns: {name}\n\
         - name: la commande tourne dans le namespace\n  run: ip -o link show d0\n  netns: {name}\n```\n"
    );
    std::fs::write(&lab, text).map_err(|e| fail(e.to_string()))?;
    tplab(["lint".as_ref(), lab.as_os_str()]).run().success()?;

    // Not created yet: the student's miss (fail, exit 1), said in French.
    let before = check(&lab);
    before.code(1)?;
    let report = before.json()?;
    let checks = report["steps"][0]["checks"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    ensure(checks.len() == 3, format!("three checks: {report:#}"))?;
    for c in &checks {
        ensure(
            c["verdict"] == "fail"
                && c["found"].as_str().is_some_and(|f| {
                    f.contains(&format!("le namespace {name} n’existe pas (encore)"))
                        && !f.contains("does not exist")
                }),
            format!("before the namespace exists: {c}"),
        )?;
    }

    // The student builds it; iproute2 sees d0 there and not here.
    ip(&["netns", "add", &name])?;
    ip(&[
        "-n", &name, "link", "add", "d0", "type", "veth", "peer", "name", "d1",
    ])?;
    ip(&["-n", &name, "address", "add", "192.0.2.1/24", "dev", "d0"])?;
    // Down first: the link check must fail on the admin state, read inside.
    let down = check(&lab);
    down.code(1)?;
    let report = down.json()?;
    let verdicts: Vec<&str> = report["steps"][0]["checks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["verdict"].as_str())
        .collect();
    ensure(
        verdicts == ["fail", "pass", "pass"],
        format!("d0 down: expected fail, pass, pass: {report:#}"),
    )?;
    ip(&["-n", &name, "link", "set", "d0", "up"])?;
    let inside: serde_json::Value =
        serde_json::from_str(&ip(&["-n", &name, "-j", "link", "show", "d0"])?)
            .map_err(|e| fail(e.to_string()))?;
    ensure(
        inside[0]["flags"]
            .as_array()
            .is_some_and(|f| f.iter().any(|f| f == "UP")),
        format!("ip -j link in {name}: {inside}"),
    )?;
    ensure(
        Command::new("ip")
            .args(["link", "show", "d0"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| !s.success()),
        "d0 must not exist in this machine's own namespace",
    )?;
    let after = check(&lab);
    after.success()?;
    let report = after.json()?;
    let all_pass = report["steps"][0]["checks"]
        .as_array()
        .is_some_and(|cs| cs.iter().all(|c| c["verdict"] == "pass"));
    ensure(all_pass, format!("after: {report:#}"))
}
