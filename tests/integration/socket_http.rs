//! `socket` and `http` checks (root, `local` with a check's own `netns:`): a web server
//! started in a namespace the test creates, seen by tplab's `sock_diag` reader as `ss`
//! sees it (address, port, owning process), and answering tplab's HTTP client as it
//! answers `curl` run in that namespace. A port where nothing listens *fails* (connection
//! refused), never errs. Lint places a bad `http` or `socket` key at its line and column.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tplab_testkit::Suite;

use crate::harness::{Failed, ensure, fail, tempdir, tplab};

pub fn register(suite: Suite) -> Suite {
    suite
        .root_test(
            "socket_http::socket_facts_agree_with_ss",
            socket_facts_agree_with_ss,
        )
        .root_test(
            "socket_http::http_answers_agree_with_curl",
            http_answers_agree_with_curl,
        )
        .test("socket_http::lint_places_bad_keys", lint_places_bad_keys)
}

/// A namespace with its loopback up and a python web server on 127.0.0.1:`port`,
/// serving a directory with one page; all removed (server killed by pid) on drop.
struct Served {
    ns: String,
    server: Child,
    _root: tempfile::TempDir,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
        let _ = Command::new("ip")
            .args(["netns", "delete", &self.ns])
            .stderr(Stdio::null())
            .status();
    }
}

const PORT: u16 = 8765;

fn run(cmd: &str, args: &[&str]) -> Result<String, Failed> {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .map_err(|e| fail(format!("{cmd} {args:?}: {e}")))?;
    ensure(
        out.status.success(),
        format!("{cmd} {args:?}: {}", String::from_utf8_lossy(&out.stderr)),
    )?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `ss -H -tlnp -N NS` lines for our port.
fn ss_listening(ns: &str) -> Result<Vec<String>, Failed> {
    Ok(run("ss", &["-H", "-tlnp", "-N", ns])?
        .lines()
        .filter(|l| l.contains(&format!(":{PORT} ")))
        .map(str::to_string)
        .collect())
}

fn serve(tag: &str) -> Result<Served, Failed> {
    let ns = format!("tplab-it-{tag}-{}", std::process::id());
    run("ip", &["netns", "add", &ns])?;
    let root = tempdir();
    let guard_ns = ns.clone();
    let cleanup = move || {
        let _ = Command::new("ip")
            .args(["netns", "delete", &guard_ns])
            .status();
    };
    if let Err(e) = run("ip", &["-n", &ns, "link", "set", "lo", "up"]) {
        cleanup();
        return Err(e);
    }
    std::fs::write(
        root.path().join("index.html"),
        "<p>served by the test</p>\n",
    )
    .map_err(|e| fail(e.to_string()))?;
    let server = Command::new("ip")
        .args(["netns", "exec", &ns, "python3", "-m", "http.server"])
        .arg(PORT.to_string())
        .args(["--bind", "127.0.0.1"])
        .current_dir(root.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| {
            cleanup();
            fail(format!("python3 -m http.server: {e}"))
        })?;
    let served = Served {
        ns,
        server,
        _root: root,
    };
    // Listening when `ss` says so (a poll with a deadline, not a fixed sleep).
    let deadline = Instant::now() + Duration::from_secs(10);
    while ss_listening(&served.ns)?.is_empty() {
        ensure(
            Instant::now() < deadline,
            "the test's web server never listened",
        )?;
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(served)
}

fn write_lab(dir: &Path, checks: &str) -> Result<std::path::PathBuf, Failed> {
    let lab = dir.join("lab.md");
    let text = format!(
        "---\nid: socket-http\ntitle: Sockets and HTTP\nenvironments: [local]\nroles: [local]\n---\n\n\
         ## Serve {{#serve}}\n\n```check\n{checks}```\n"
    );
    std::fs::write(&lab, text).map_err(|e| fail(e.to_string()))?;
    tplab(["lint".as_ref(), lab.as_os_str()]).run().success()?;
    Ok(lab)
}

fn checks_of(lab: &Path, code: i32) -> Result<Vec<serde_json::Value>, Failed> {
    let out = tplab(["check".as_ref(), "--json".as_ref(), lab.as_os_str()]).run();
    out.code(code)?;
    let report = out.json()?;
    Ok(report["steps"][0]["checks"]
        .as_array()
        .cloned()
        .unwrap_or_default())
}

fn socket_facts_agree_with_ss() -> Result<(), Failed> {
    let served = serve("sock")?;
    let ns = &served.ns;
    // What ss says: `LISTEN 0 5 127.0.0.1:8765 0.0.0.0:* users:(("python3",pid=N,fd=3))`.
    let line = ss_listening(ns)?.join("\n");
    let pid = line
        .split("pid=")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .ok_or_else(|| fail(format!("no pid in ss's line: {line}")))?
        .to_string();
    let process = line
        .split("((\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .ok_or_else(|| fail(format!("no process in ss's line: {line}")))?
        .to_string();
    ensure(
        line.contains(&format!("127.0.0.1:{PORT}")),
        format!("ss: {line}"),
    )?;
    let dir = tempdir();
    let lab = write_lab(
        dir.path(),
        &format!(
            "- name: the server listens\n  socket: {{ proto: tcp, state: listen, local_port: {PORT} }}\n  netns: {ns}\n  capture: {{ ADDR: local_address, PID: pid, PROC: process }}\n\
             - name: one listener in all\n  count: {{ socket: {{ state: listen }}, is: \"== 1\" }}\n  netns: {ns}\n\
             - name: owned by the process ss names\n  socket: {{ local_port: {PORT}, pid: {pid}, process: {process} }}\n  netns: {ns}\n\
             - name: nothing on 9999\n  socket: {{ proto: tcp, state: listen, local_port: 9999 }}\n  netns: {ns}\n"
        ),
    )?;
    let checks = checks_of(&lab, 1)?;
    let verdicts: Vec<&str> = checks
        .iter()
        .filter_map(|c| c["verdict"].as_str())
        .collect();
    ensure(
        verdicts == ["pass", "pass", "pass", "fail"],
        format!("verdicts {verdicts:?}: {checks:#?}"),
    )?;
    // The failure shows the socket that is there, not every socket of the machine.
    let found = checks[3]["found"].as_str().unwrap_or_default();
    ensure(
        found.contains(&format!("127.0.0.1:{PORT}")) && found.contains(&format!("pid {pid}")),
        format!("found of the failing check: {found}"),
    )?;
    // The captures are what ss printed.
    let out = tplab(["check".as_ref(), "--json".as_ref(), lab.as_os_str()]).run();
    let report = out.json()?;
    let captures = &report["captures"];
    let captures = if captures.is_null() {
        &report["steps"][0]["captures"]
    } else {
        captures
    };
    ensure(
        captures["ADDR"] == "127.0.0.1"
            && captures["PID"] == pid.as_str()
            && captures["PROC"] == process.as_str(),
        format!("captures {captures} vs ss {line}"),
    )
}

fn http_answers_agree_with_curl() -> Result<(), Failed> {
    let served = serve("http")?;
    let ns = &served.ns;
    let curl = |path: &str| {
        run(
            "ip",
            &[
                "netns",
                "exec",
                ns,
                "curl",
                "-s",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                &format!("http://127.0.0.1:{PORT}{path}"),
            ],
        )
    };
    ensure(curl("/")? == "200", "curl: / is not 200")?;
    ensure(curl("/nope")? == "404", "curl: /nope is not 404")?;
    let dir = tempdir();
    let lab = write_lab(
        dir.path(),
        &format!(
            "- name: the page\n  http:\n    url: \"http://127.0.0.1:{PORT}/\"\n    status: 200\n    body: served by the test\n    headers: {{ content-type: {{ regex: \"^text/html\" }} }}\n  netns: {ns}\n  capture: {{ CODE: status }}\n\
             - name: a missing page\n  http: {{ url: \"http://127.0.0.1:{PORT}/nope\", status: \"!= 200\" }}\n  netns: {ns}\n\
             - name: the missing page is not 200\n  http: {{ url: \"http://127.0.0.1:{PORT}/nope\", status: 200 }}\n  netns: {ns}\n\
             - name: nothing on 9999\n  http: {{ url: \"http://127.0.0.1:9999/\" }}\n  netns: {ns}\n  timeout: 1s\n\
             - name: the page is not in this machine's own namespace\n  http: {{ url: \"http://127.0.0.1:{PORT}/\", body: served by the test }}\n  timeout: 1s\n"
        ),
    )?;
    let checks = checks_of(&lab, 1)?;
    let verdicts: Vec<&str> = checks
        .iter()
        .filter_map(|c| c["verdict"].as_str())
        .collect();
    let text = |i: usize| format!("{} {}", checks[i]["found"], checks[i]["message"]);
    ensure(
        verdicts == ["pass", "pass", "fail", "fail", "fail"],
        format!("verdicts {verdicts:?}: {checks:#?}"),
    )?;
    ensure(text(2).contains("the status is 404"), text(2))?;
    ensure(
        text(3).contains("connection refused: nothing listens on 127.0.0.1:9999"),
        text(3),
    )?;
    Ok(())
}

fn lint_places_bad_keys() -> Result<(), Failed> {
    let dir = tempdir();
    let lab = dir.path().join("lab.md");
    let text = "---\nid: bad\ntitle: Bad\nenvironments: [local]\nroles: [local]\n---\n\n## S {#s}\n\n```check\n\
                - name: typo in http\n  http: { url: \"http://192.0.2.1/\", stauts: 200 }\n\
                - name: bad status\n  http: { url: \"http://192.0.2.1/\", status: 42 }\n\
                - name: https\n  http: { url: \"https://192.0.2.1/\" }\n\
                - name: typo in socket\n  socket: { porto: tcp }\n\
                - name: bad capture\n  http: { url: \"http://192.0.2.1/\" }\n  capture: { X: server }\n```\n";
    std::fs::write(&lab, text).map_err(|e| fail(e.to_string()))?;
    let out = tplab(["lint".as_ref(), "--json".as_ref(), lab.as_os_str()]).run();
    out.code(1)?;
    let diags = out.json()?;
    let at = |code: &str, line: u64| {
        diags
            .as_array()
            .into_iter()
            .flatten()
            .find(|d| d["code"] == code && d["line"] == line && d["severity"] == "error")
    };
    // Keys at themselves; a bad value is reported at its check.
    let cases = [
        ("unknown-key", 12, Some(37)),
        ("bad-check", 13, None),
        ("bad-check", 15, None),
        ("unknown-key", 18, Some(13)),
        ("unknown-capture-field", 21, Some(17)),
    ];
    for (code, line, col) in cases {
        let d =
            at(code, line).ok_or_else(|| fail(format!("no {code} at line {line}: {diags:#}")))?;
        if let Some(col) = col {
            ensure(
                d["col"] == col,
                format!("{code} at {line}: column {} not {col}", d["col"]),
            )?;
        }
    }
    Ok(())
}
