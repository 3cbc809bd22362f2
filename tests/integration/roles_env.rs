//! Roles per environment (`roles: { world: { envs: [sandbox] } }`): lint's errors at
//! their line and column and its note on which steps need which environment; steps on
//! a role an environment lacks passed by as *not in this environment* (report status
//! `not_in_env`, out of that environment's maximum), on `local` and on a lab targeting
//! the sandbox and `kube` (the sandbox's own Kubernetes API); roles bound to a container
//! on `local` (`docker:NAME`), through a stand-in `docker` that answers `inspect` as the
//! real one does, and without the tool.

use std::path::Path;
use std::process::{Child, Command, Stdio};

use tplab_testkit::Suite;

use crate::harness::{Failed, ensure, fail, fixture, tempdir, tplab};

pub fn register(suite: Suite) -> Suite {
    suite
        .test(
            "roles_env::lint_role_missing_in_an_env_is_an_error_at_its_position",
            lint_missing,
        )
        .test(
            "roles_env::lint_role_envs_must_be_the_labs_and_known",
            lint_bad_envs,
        )
        .test(
            "roles_env::lint_accepts_roles_per_env_and_notes_the_steps",
            lint_notes,
        )
        .test(
            "roles_env::local_passes_by_steps_not_in_this_environment",
            local_passes_by,
        )
        .test(
            "roles_env::container_role_without_the_tool_is_a_requirement_error",
            container_without_tool,
        )
        .root_test(
            "roles_env::container_role_runs_in_the_containers_netns",
            container_netns,
        )
        .root_test(
            "roles_env::sandbox_and_kube_score_per_environment",
            sandbox_and_kube,
        )
        .test(
            "roles_env::import_binds_container_hosts_to_roles",
            import_hosts,
        )
}

fn write(dir: &Path, name: &str, text: &str) -> Result<String, Failed> {
    let path = dir.join(name);
    std::fs::write(&path, text).map_err(fail)?;
    Ok(path.display().to_string())
}

fn lint_missing() -> Result<(), Failed> {
    let dir = tempdir();
    let lab = write(
        dir.path(),
        "missing.md",
        "---\nid: missing\ntitle: Missing\nenvironments: [sandbox, kube]\nroles: [pod, world]\n---\n\n## One\n\n```check\n- run: \"true\"\n```\n",
    )?;
    tplab(["lint", &lab])
        .run()
        .code(1)?
        .stderr_has("error: role `world` is not provided by environment `kube`")?
        .stderr_has("missing.md:5:14")?
        .stderr_has("bind it per environment: `roles: { world: { envs: [sandbox] } }`")?;
    Ok(())
}

fn lint_bad_envs() -> Result<(), Failed> {
    let dir = tempdir();
    let lab = write(
        dir.path(),
        "bad.md",
        "---\nid: bad\ntitle: Bad\nenvironments: [sandbox, kube]\nroles:\n  pod: {}\n  world: { envs: [sandbox, kub] }\n  web: { envs: [local] }\n---\n\n## One\n\n```sh {target=world env=kube}\ntrue\n```\n\n```check\n- run: \"true\"\n```\n",
    )?;
    tplab(["lint", &lab])
        .run()
        .code(1)?
        .stderr_has("unknown environment `kub` for role `world`")?
        .stderr_has("bad.md:7:28")?
        .stderr_has("role `web` is bound to `local`, which is not one of the lab's environments")?
        .stderr_has("bad.md:8:17")?
        .stderr_has("role `world` is not in environment kube, the only ones this block is for")?
        .stderr_has("bad.md:13:8")?
        .stderr_has("3 error(s)")?;
    Ok(())
}

fn lint_notes() -> Result<(), Failed> {
    let lab = fixture("labs/roles-per-env.md");
    tplab(["lint".as_ref(), lab.as_os_str()])
        .run()
        .success()?
        .stderr_has("roles-per-env.md:24:1: step `world` is only in: sandbox (role `world`)")?
        .stderr_has("0 error(s), 0 warning(s)")?;
    Ok(())
}

/// The steps' (id, status, score, max score) in a report.
fn steps(report: &serde_json::Value) -> Vec<(String, String, f64, f64)> {
    report["steps"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|s| {
            (
                s["id"].as_str().unwrap_or_default().to_string(),
                s["status"].as_str().unwrap_or_default().to_string(),
                s["score"].as_f64().unwrap_or(-1.0),
                s["max_score"].as_f64().unwrap_or(-1.0),
            )
        })
        .collect()
}

fn report(dir: &Path) -> Result<serde_json::Value, Failed> {
    let text = std::fs::read_to_string(dir.join("report.json")).map_err(fail)?;
    serde_json::from_str(&text).map_err(fail)
}

fn step(id: &str, status: &str, score: f64, max: f64) -> (String, String, f64, f64) {
    (id.to_string(), status.to_string(), score, max)
}

const LOCAL_LAB: &str = "---\nid: roles-local\ntitle: Roles local\nlang: LANG\nenvironments: [local, sandbox]\nroles:\n  local: {}\n  world: { envs: [sandbox] }\n---\n\n## Everywhere {#everywhere}\n\n```sh {target=local}\necho ok\n```\n\n```check\n- run: \"true\"\n  before: any\n```\n\n## World {#world}\n\n```sh {target=world}\nip -br addr\n```\n\n```check\n- target: world\n  run: \"true\"\n  before: any\n```\n\n## Mixed {#mixed}\n\n```check\n- run: \"true\"\n  before: any\n- target: world\n  run: \"true\"\n  before: any\n  points: 5\n```\n";

fn local_passes_by() -> Result<(), Failed> {
    let dir = tempdir();
    let lab = write(dir.path(), "lab.md", &LOCAL_LAB.replace("LANG", "en"))?;
    let reports = dir.path().join("r");
    tplab(["run", &lab, "--auto", "--env", "local", "--report"])
        .cmd_arg(&reports)
        .run()
        .success()?
        .stdout_has("not in this environment (`local` has no role `world`): skipped")?
        .stdout_has("Score: 2/2 points")?;
    let r = report(&reports)?;
    let got = steps(&r);
    let want = vec![
        step("everywhere", "passed", 1.0, 1.0),
        step("world", "not_in_env", 0.0, 0.0),
        step("mixed", "passed", 1.0, 1.0),
    ];
    ensure(got == want, format!("steps: {got:?}"))?;
    ensure(
        r["steps"][2]["checks"].as_array().map(Vec::len) == Some(1),
        "the mixed step lists only its check on `local`",
    )?;
    // `tplab test` proves what is in the environment and says what it passed by.
    tplab(["test", &lab, "--env", "local"])
        .run()
        .success()?
        .stdout_has("2 steps proven")?;
    // In French, with French typography.
    let fr = write(dir.path(), "fr.md", &LOCAL_LAB.replace("LANG", "fr"))?;
    tplab(["run", &fr, "--auto", "--env", "local", "--report"])
        .cmd_arg(dir.path().join("fr"))
        .run()
        .success()?
        .stdout_has(
            "pas dans cet environnement (`local` n’a pas le rôle `world`)\u{202f}: étape passée",
        )?;
    Ok(())
}

const CONTAINER_LAB: &str = "---\nid: roles-container\ntitle: Container roles\nenvironments: [local]\nroles: [local, web, gone, down]\nnetns:\n  web: \"TOOL:web\"\n  gone: \"TOOL:gone\"\n  down: \"TOOL:down\"\n---\n\n## Web {#web}\n\n```check\n- name: web has its interface\n  target: web\n  link: { name: ctr0 }\n- name: web's commands run there\n  target: web\n  run: ip -br link\n  stdout: ctr0\n```\n\n## Not started {#gone}\n\n```check\n- target: gone\n  run: \"true\"\n```\n\n## Daemon down {#down}\n\n```check\n- target: down\n  run: \"true\"\n```\n";

fn container_without_tool() -> Result<(), Failed> {
    let dir = tempdir();
    let lab = write(
        dir.path(),
        "lab.md",
        &CONTAINER_LAB.replace("TOOL", "podman"),
    )?;
    tplab(["lint", &lab]).run().success()?;
    // PATH names only an empty folder: no `podman` on this machine as far as tplab sees.
    let empty = tempdir();
    tplab(["run", &lab, "--auto"])
        .env("PATH", empty.path())
        .run()
        .code(3)?
        .stderr_has("`podman` is not installed (or not on PATH): install it, or bind the role to a named namespace")?;
    Ok(())
}

/// The namespace standing for the container and the process holding it; both removed on drop.
struct Container {
    netns: String,
    child: Child,
}

impl Drop for Container {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = Command::new("ip")
            .args(["netns", "delete", &self.netns])
            .stderr(Stdio::null())
            .status();
    }
}

fn run_ip(args: &[&str]) -> Result<(), Failed> {
    let status = Command::new("ip").args(args).status().map_err(fail)?;
    ensure(status.success(), format!("ip {args:?}"))
}

fn container_netns() -> Result<(), Failed> {
    let netns = format!("tplab-rolesenv-{}", std::process::id());
    run_ip(&["netns", "add", &netns])?;
    let child = Command::new("ip")
        .args(["netns", "exec", &netns, "sleep", "120"])
        .stdin(Stdio::null())
        .spawn()
        .map_err(fail)?;
    let ctr = Container { netns, child };
    run_ip(&[
        "-n", &ctr.netns, "link", "add", "ctr0", "type", "veth", "peer", "name", "ctr1",
    ])?;
    // A stand-in for `docker inspect --format '{{.State.Pid}}' NAME`, answering as
    // Docker does: the PID for a running container, "No such object" for none, the
    // daemon's error when it is down.
    let bin = tempdir();
    let docker = bin.path().join("docker");
    std::fs::write(
        &docker,
        format!(
            "#!/bin/sh\ncase \"$4\" in\n  web) echo {} ;;\n  gone) echo 'Error: No such object: gone' >&2; exit 1 ;;\n  *) echo 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?' >&2; exit 1 ;;\nesac\n",
            ctr.child.id()
        ),
    )
    .map_err(fail)?;
    std::fs::set_permissions(&docker, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .map_err(fail)?;
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let dir = tempdir();
    let lab = write(
        dir.path(),
        "lab.md",
        &CONTAINER_LAB.replace("TOOL", "docker"),
    )?;
    let reports = dir.path().join("r");
    // A failed check outranks a checker error: exit 1.
    tplab(["run", &lab, "--auto", "--report"])
        .cmd_arg(&reports)
        .env("PATH", &path)
        .run()
        .code(1)?;
    let r = report(&reports)?;
    let verdicts: Vec<(String, String)> = r["steps"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .flat_map(|s| s["checks"].as_array().cloned().unwrap_or_default())
        .map(|c| {
            let why = [&c["found"], &c["message"]]
                .iter()
                .filter_map(|v| v.as_str())
                .collect::<Vec<_>>()
                .join(" ");
            (c["verdict"].as_str().unwrap_or_default().to_string(), why)
        })
        .collect();
    ensure(verdicts.len() == 4, format!("verdicts: {verdicts:?}"))?;
    ensure(
        verdicts[0].0 == "pass" && verdicts[1].0 == "pass",
        format!("web's checks read the container's namespace: {verdicts:?}"),
    )?;
    ensure(
        verdicts[2].0 == "fail" && verdicts[2].1.contains("there is no container `gone` (yet)"),
        format!("a container not started yet fails the check: {verdicts:?}"),
    )?;
    ensure(
        verdicts[3].0 == "error"
            && verdicts[3]
                .1
                .contains("Cannot connect to the Docker daemon"),
        format!("a tool that cannot answer is an error: {verdicts:?}"),
    )?;
    // Cross-check with the kernel: ctr0 is in that namespace, not in this one.
    let here = Command::new("ip")
        .args(["-j", "link", "show", "ctr0"])
        .stderr(Stdio::null())
        .output()
        .map_err(fail)?;
    ensure(!here.status.success(), "ctr0 is not in this namespace")?;
    Ok(())
}

fn sandbox_and_kube() -> Result<(), Failed> {
    let up = crate::kube_env::Up::new(&[])?;
    let lab = fixture("labs/roles-per-env.md");
    let dir = tempdir();
    let on_sandbox = dir.path().join("sandbox");
    tplab(["run".as_ref(), lab.as_os_str(), "--auto".as_ref()])
        .cmd_arg("--env")
        .cmd_arg("sandbox")
        .cmd_arg("--sandbox")
        .cmd_arg(&up.id)
        .cmd_arg("--report")
        .cmd_arg(&on_sandbox)
        .run()
        .success()?
        .stdout_has("Score: 5/5 points")?;
    let got = steps(&report(&on_sandbox)?);
    let want = vec![
        step("pod", "passed", 1.0, 1.0),
        step("world", "passed", 1.0, 1.0),
        step("both", "passed", 3.0, 3.0),
    ];
    ensure(got == want, format!("on the sandbox: {got:?}"))?;
    let on_kube = dir.path().join("kube");
    tplab(["run".as_ref(), lab.as_os_str(), "--auto".as_ref()])
        .cmd_arg("--env")
        .cmd_arg("kube")
        .cmd_arg("--pod")
        .cmd_arg("pod")
        .cmd_arg("--kubeconfig")
        .cmd_arg(up.kc())
        .cmd_arg("--report")
        .cmd_arg(&on_kube)
        .run()
        .success()?
        .stdout_has("not in this environment (`kube` has no role `world`): skipped")?
        .stdout_has("Score: 2/2 points")?;
    let r = report(&on_kube)?;
    let got = steps(&r);
    let want = vec![
        step("pod", "passed", 1.0, 1.0),
        step("world", "not_in_env", 0.0, 0.0),
        step("both", "passed", 1.0, 1.0),
    ];
    ensure(got == want, format!("on kube: {got:?}"))?;
    ensure(r["max_score"].as_f64() == Some(2.0), "kube's maximum is 2")?;
    tplab(["test".as_ref(), lab.as_os_str()])
        .cmd_arg("--env")
        .cmd_arg("kube")
        .cmd_arg("--pod")
        .cmd_arg("pod")
        .cmd_arg("--kubeconfig")
        .cmd_arg(up.kc())
        .run()
        .success()?
        .stdout_has("2 steps proven")?;
    Ok(())
}

/// An Instruqt track with three hosts: the first is `local`, the container a role bound
/// to its container on `local`, the second virtual machine left to a human.
fn import_hosts() -> Result<(), Failed> {
    let src = tempdir();
    let files = [
        ("track.yml", "slug: three-hosts\ntitle: Three hosts\n"),
        (
            "config.yml",
            "version: \"3\"\nvirtualmachines:\n- name: server\n  image: ubuntu\n- name: router\n  image: ubuntu\ncontainers:\n- name: db\n  image: postgres:16\n",
        ),
        (
            "01-one/assignment.md",
            "---\nslug: one\ntitle: One\ntype: challenge\n---\nLook around.\n",
        ),
        ("01-one/setup-db", "#!/bin/sh\ntrue\n"),
        (
            "01-one/check-db",
            "#!/bin/sh\nss -ltn | grep -q 5432 || { echo 'FAIL: nothing listens'; exit 1; }\n",
        ),
        ("01-one/check-server", "#!/bin/sh\ntrue\n"),
        ("01-one/solve-db", "#!/bin/sh\ntrue\n"),
        ("01-one/check-router", "#!/bin/sh\ntrue\n"),
    ];
    for (rel, text) in files {
        let path = src.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap_or(src.path())).map_err(fail)?;
        std::fs::write(&path, text).map_err(fail)?;
    }
    let out = tempdir();
    let lab_dir = out.path().join("lab");
    tplab(["import", "instruqt"])
        .cmd_arg(src.path())
        .cmd_arg("-o")
        .cmd_arg(&lab_dir)
        .run()
        .success()?
        .stdout_has("sandbox host(s) `server`, `router`, `db`: `server` (the first) is this machine, role `local`")?
        .stdout_has("host `db` is a container: role `db`, bound on `local` to container `db`")?
        .stdout_has("docker run -d --name db postgres:16")?
        .stdout_has("host `router` is a virtual machine tplab cannot provide: its scripts run on `local`")?
        .stdout_has("the imported lab lints with 0 error(s)")?;
    let lab = std::fs::read_to_string(lab_dir.join("lab.md")).map_err(fail)?;
    for want in [
        "roles:\n  local: {}\n  db:\n    envs:\n    - local\n",
        "netns:\n  db: docker:db\n",
        "```sh {setup target=db}",
        "```sh {target=db solution}",
        "  target: db\n",
    ] {
        ensure(
            lab.contains(want),
            format!("the lab lacks {want:?}:\n{lab}"),
        )?;
    }
    tplab(["lint"]).cmd_arg(&lab_dir).run().success()?;
    Ok(())
}
