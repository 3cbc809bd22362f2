//! `tplab serve` (issue 19): the token guards every request and WebSocket (HTTP 401
//! without it, 403 with a wrong one or a foreign Origin), the page is the embedded one,
//! a lab's `<script>` reaches the page as text, a remote bind needs `--allow-remote`;
//! and, in headless Chromium (tests/e2e/serve.mjs), a ping typed in the pod's terminal
//! ticks the step's check, a question is answered wrongly then rightly, a reload
//! resumes, and screenshots are taken at 1280×800 and at a phone's width.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use tplab_testkit::Suite;

use crate::harness::{self, Failed, ensure, fail};

pub fn register(suite: Suite) -> Suite {
    suite
        .test("serve::token_guards_every_request", token_guards)
        .test("serve::websockets_need_token_and_origin", websockets)
        .test("serve::lab_html_is_inert", lab_html_is_inert)
        .test("serve::remote_bind_needs_a_flag", remote_bind)
        .test("serve::lab_images_and_nothing_else", lab_images)
        .root_test("serve::browser_end_to_end", browser_end_to_end)
}

/// A running `tplab serve`, stopped (SIGTERM: everything torn down) when dropped.
pub struct Server {
    child: Child,
    pub addr: String,
    token: String,
    pub dir: tempfile::TempDir,
}

impl Server {
    pub fn start(lab: &str, extra: &[&str]) -> Result<Server, Failed> {
        let dir = harness::tempdir();
        let mut cmd = harness::command();
        cmd.arg("serve")
            .arg(lab)
            .arg("--report")
            .arg(dir.path())
            .args(extra);
        cmd.env("TPLAB_STATE_DIR", dir.path().join("state"));
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .map_err(|e| fail(format!("starting tplab serve: {e}")))?;
        let stdout = child.stdout.take().expect("piped");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("tplab serve: ") {
                    let _ = tx.send(url.to_string());
                }
            }
        });
        let Ok(url) = rx.recv_timeout(Duration::from_secs(60)) else {
            let _ = child.kill();
            let out = child
                .wait_with_output()
                .map(|o| String::from_utf8_lossy(&o.stderr).into_owned());
            return Err(fail(format!("tplab serve printed no URL: {out:?}")));
        };
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| fail(format!("URL {url}")))?;
        let (addr, token) = rest
            .split_once("/?token=")
            .ok_or_else(|| fail(format!("URL {url}")))?;
        ensure(
            addr.starts_with("127.0.0.1:"),
            format!("listens on loopback: {url}"),
        )?;
        ensure(token.len() >= 32, format!("a long token: {url}"))?;
        Ok(Server {
            child,
            addr: addr.to_string(),
            token: token.to_string(),
            dir,
        })
    }

    pub fn url(&self) -> String {
        format!("http://{}/?token={}", self.addr, self.token)
    }

    pub fn cookie(&self) -> String {
        let port = self.addr.rsplit(':').next().unwrap_or_default();
        format!("tplab-token-{port}={}", self.token)
    }

    /// One HTTP/1.1 exchange: the status line's code, the headers and the body.
    pub fn http(&self, request_head: &str, body: &str) -> Result<(u16, String, String), Failed> {
        let mut s = TcpStream::connect(&self.addr).map_err(|e| fail(format!("connecting: {e}")))?;
        s.set_read_timeout(Some(Duration::from_secs(30))).ok();
        let req = format!(
            "{request_head}\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
            self.addr,
            body.len()
        );
        s.write_all(req.as_bytes())
            .map_err(|e| fail(format!("writing: {e}")))?;
        let mut raw = Vec::new();
        // A 101 keeps the socket open: read what came, up to the timeout or the end.
        let mut buf = vec![0u8; 65536];
        loop {
            match s.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    raw.extend_from_slice(&buf[..n]);
                    if raw.starts_with(b"HTTP/1.1 101") && raw.windows(4).any(|w| w == b"\r\n\r\n")
                    {
                        break;
                    }
                }
            }
        }
        let text = String::from_utf8_lossy(&raw).into_owned();
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let code = head
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .ok_or_else(|| fail(format!("no status in {head:?}")))?;
        Ok((code, head.to_ascii_lowercase(), body.to_string()))
    }

    pub fn state(&self) -> Result<serde_json::Value, Failed> {
        let (code, _, body) = self.http(
            &format!(
                "POST /api HTTP/1.1\r\nCookie: {}\r\nContent-Type: application/json",
                self.cookie()
            ),
            r#"{"action":"state"}"#,
        )?;
        ensure(code == 200, format!("state: {code} {body}"))?;
        // Chunked or not: the JSON object is between the first `{` and the last `}`.
        let json = &body[body.find('{').unwrap_or(0)..=body.rfind('}').unwrap_or(0)];
        serde_json::from_str(json).map_err(|e| fail(format!("state JSON: {e}: {body}")))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(pid) = i32::try_from(self.child.id()) {
            // Only the server we started, by its pid.
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGTERM,
            );
        }
        for _ in 0..100 {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const LOCAL_LAB: &str = "tests/fixtures/labs/serve-local.md";

fn token_guards() -> Result<(), Failed> {
    let s = Server::start(LOCAL_LAB, &["--env", "local"])?;
    for (what, head, want) in [
        (
            "the page without a token",
            "GET / HTTP/1.1".to_string(),
            401,
        ),
        (
            "an asset without a token",
            "GET /assets/app.js HTTP/1.1".to_string(),
            401,
        ),
        (
            "the API without a token",
            "POST /api HTTP/1.1".to_string(),
            401,
        ),
        (
            "a wrong token",
            "GET /?token=0000 HTTP/1.1".to_string(),
            403,
        ),
        (
            "a wrong cookie",
            format!("GET / HTTP/1.1\r\nCookie: {}x", s.cookie()),
            403,
        ),
    ] {
        let (code, _, _) = s.http(&head, "")?;
        ensure(
            code == want,
            format!("{what}: HTTP {code}, expected {want}"),
        )?;
    }
    // The URL's token becomes an HttpOnly, SameSite=Strict cookie and leaves the URL.
    let (code, head, _) = s.http(&format!("GET /?token={} HTTP/1.1", s.token), "")?;
    ensure(code == 303, format!("login: HTTP {code}"))?;
    ensure(
        head.contains("location: /\r\n"),
        format!("redirects to /: {head}"),
    )?;
    let cookie_line = head
        .lines()
        .find(|l| l.starts_with("set-cookie:"))
        .unwrap_or_default();
    ensure(
        cookie_line.contains(&s.cookie().to_ascii_lowercase())
            && cookie_line.contains("httponly")
            && cookie_line.contains("samesite=strict"),
        format!("cookie: {cookie_line}"),
    )?;
    // With the cookie: the embedded page, which loads only its own files.
    let (code, head, body) = s.http(&format!("GET / HTTP/1.1\r\nCookie: {}", s.cookie()), "")?;
    ensure(code == 200, format!("page with cookie: HTTP {code}"))?;
    ensure(
        body.contains(r#"<script src="/assets/xterm.js"></script>"#),
        format!("page: {body}"),
    )?;
    ensure(
        !body.contains("http://") && !body.contains("https://"),
        "the page loads nothing from the network",
    )?;
    ensure(
        head.contains("content-security-policy: default-src 'self'"),
        format!("CSP: {head}"),
    )?;
    let (code, _, js) = s.http(
        &format!("GET /assets/xterm.js HTTP/1.1\r\nCookie: {}", s.cookie()),
        "",
    )?;
    ensure(
        code == 200 && js.len() > 100_000,
        format!("xterm.js embedded: HTTP {code}, {} bytes", js.len()),
    )?;
    Ok(())
}

fn upgrade(s: &Server, path: &str, extra: &str) -> Result<u16, Failed> {
    let head = format!(
        "GET {path} HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=={extra}"
    );
    // `http` adds its own `Connection: close`; an upgrade sends both, as browsers may not.
    Ok(s.http(&head, "")?.0)
}

fn websockets() -> Result<(), Failed> {
    let s = Server::start(LOCAL_LAB, &["--env", "local"])?;
    let origin = format!("\r\nOrigin: http://{}", s.addr);
    let cookie = format!("\r\nCookie: {}", s.cookie());
    for path in ["/ws/events", "/ws/term/local"] {
        let cases = [
            ("no token", origin.clone(), 401),
            (
                "a wrong token",
                format!("{origin}\r\nCookie: {}0", s.cookie()),
                403,
            ),
            ("no Origin", cookie.clone(), 403),
            (
                "a foreign Origin",
                format!("{cookie}\r\nOrigin: http://evil.example"),
                403,
            ),
            (
                "the page's origin and the token",
                format!("{cookie}{origin}"),
                101,
            ),
        ];
        for (what, extra, want) in cases {
            let code = upgrade(&s, path, &extra)?;
            ensure(
                code == want,
                format!("{path} with {what}: HTTP {code}, expected {want}"),
            )?;
        }
    }
    // A role the session does not have is no terminal.
    let code = upgrade(&s, "/ws/term/nope", &format!("{cookie}{origin}"))?;
    ensure(code == 404, format!("unknown role: HTTP {code}"))?;
    // The shell that upgrade started ends with the server (SIGTERM included).
    let marker = format!("TPLAB_STATE_DIR={}", s.dir.path().join("state").display());
    ensure(
        started_with(&marker).len() >= 2,
        "the server and the terminal's shell are running",
    )?;
    drop(s);
    for _ in 0..50 {
        if started_with(&marker).is_empty() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(fail(format!(
        "shells left after the server stopped: {:?}",
        started_with(&marker)
    )))
}

/// Processes whose environment holds `marker` (this test's own state directory).
fn started_with(marker: &str) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .is_ok_and(|env| env.split(|b| *b == 0).any(|kv| kv == marker.as_bytes()))
        })
        .collect()
}

fn lab_html_is_inert() -> Result<(), Failed> {
    let s = Server::start(LOCAL_LAB, &["--env", "local"])?;
    let st = s.state()?;
    let intro = st["intro"].as_str().unwrap_or_default();
    let step = &st["step"];
    let html = step["html"].as_str().unwrap_or_default();
    for (what, text) in [("intro", intro), ("step", html)] {
        let lower = text.to_ascii_lowercase();
        ensure(
            !lower.contains("<script")
                && !lower.contains("<img")
                && !lower.contains("javascript:")
                && !lower.contains("onclick=\"x"),
            format!("{what} carries live markup: {text}"),
        )?;
    }
    ensure(
        intro.contains("&lt;script&gt;window.injected = 1&lt;/script&gt;"),
        format!("the intro's script shown as text: {intro}"),
    )?;
    ensure(
        intro.contains("&lt;details open onclick="),
        format!("attributes shown as text: {intro}"),
    )?;
    ensure(
        html.contains("<table>") && html.contains("<td>1</td>"),
        format!("tables: {html}"),
    )?;
    // Titles, commands and check names travel as JSON strings the page sets as text.
    ensure(
        st["title"].as_str().is_some_and(|t| t.contains("<script>")),
        "the title is data, not markup",
    )?;
    ensure(
        step["commands"][0]["script"]
            .as_str()
            .is_some_and(|c| c.contains("<script>alert(1)</script>")),
        format!("commands: {}", step["commands"]),
    )?;
    ensure(
        step["hint_count"] == 1 && step["hints"].as_array().is_some_and(Vec::is_empty),
        "hints are given one at a time",
    )?;
    // The page's script sets these with textContent: no innerHTML but for lab HTML.
    let (_, _, js) = s.http(
        &format!("GET /assets/app.js HTTP/1.1\r\nCookie: {}", s.cookie()),
        "",
    )?;
    ensure(
        js.matches("innerHTML").count() == 1,
        "app.js uses innerHTML only in its one sanitised-HTML path",
    )?;
    Ok(())
}

/// The lab folder's images that the lab shows are served (under the token), nothing else:
/// not the lab itself, not a symlink out of the folder, not a path with `..`.
fn lab_images() -> Result<(), Failed> {
    let lab = harness::tempdir();
    let outside = harness::tempdir();
    let png = b"\x89PNG\r\n\x1a\n tplab test image";
    std::fs::create_dir(lab.path().join("img")).map_err(|e| fail(e.to_string()))?;
    std::fs::write(lab.path().join("img/topo.png"), png).map_err(|e| fail(e.to_string()))?;
    std::fs::write(outside.path().join("secret.png"), b"secret")
        .map_err(|e| fail(e.to_string()))?;
    std::os::unix::fs::symlink(
        outside.path().join("secret.png"),
        lab.path().join("out.png"),
    )
    .map_err(|e| fail(e.to_string()))?;
    let text = "---\nid: images\ntitle: Images\nenvironments: [local]\nroles: [local]\n---\n\n\
        ![the topology](./img/topo.png) ![out](out.png) ![up](../secret.png)\n\n\
        ## One {#one}\n\n```check\n- id: always\n  run: \"true\"\n```\n";
    let md = lab.path().join("lab.md");
    std::fs::write(&md, text).map_err(|e| fail(e.to_string()))?;
    let s = Server::start(&md.display().to_string(), &["--env", "local"])?;
    let intro = s.state()?["intro"].as_str().unwrap_or_default().to_string();
    ensure(
        intro.contains(r#"<img src="/lab-files/img/topo.png" alt="the topology""#),
        format!("the lab's image is shown: {intro}"),
    )?;
    // A path out of the folder is its alt text; a file that is not served (the symlink
    // out) is refused below, so the browser shows its alt text too.
    ensure(
        intro.contains(r#"<span class="img-alt">up</span>"#) && !intro.contains("secret"),
        format!("`..` is alt text only: {intro}"),
    )?;
    let get = |path: &str, cookie: bool| {
        let head = if cookie {
            format!("GET {path} HTTP/1.1\r\nCookie: {}", s.cookie())
        } else {
            format!("GET {path} HTTP/1.1")
        };
        s.http(&head, "")
    };
    let (code, headers, body) = get("/lab-files/img/topo.png", true)?;
    ensure(
        code == 200
            && headers
                .to_ascii_lowercase()
                .contains("content-type: image/png"),
        format!("the image: {code} {headers}"),
    )?;
    ensure(body.as_bytes().ends_with(b"tplab test image"), "its bytes")?;
    ensure(
        headers.contains("sandbox"),
        format!("sent with a sandboxing policy: {headers}"),
    )?;
    ensure(
        get("/lab-files/img/topo.png", false)?.0 == 401,
        "the token is needed",
    )?;
    for path in [
        "/lab-files/out.png",
        "/lab-files/lab.md",
        "/lab-files/../secret.png",
        "/lab-files/%2e%2e/secret.png",
        "/lab-files/img/../img/topo.png",
    ] {
        let (code, _, body) = get(path, true)?;
        ensure(
            code == 404 && !body.contains("secret"),
            format!("{path} must not be served: {code} {body}"),
        )?;
    }
    Ok(())
}

fn remote_bind() -> Result<(), Failed> {
    let out = harness::tplab(["serve", LOCAL_LAB, "--env", "local", "--bind", "0.0.0.0"]).run();
    out.code(2)?;
    out.stderr_has("--allow-remote")?;
    Ok(())
}

/// The PNG's width and height (its IHDR chunk).
pub fn png_size(path: &std::path::Path) -> Result<(u32, u32), Failed> {
    let b = std::fs::read(path).map_err(|e| fail(format!("{}: {e}", path.display())))?;
    ensure(
        b.len() > 24 && b.starts_with(b"\x89PNG\r\n\x1a\n"),
        format!("{} is a PNG", path.display()),
    )?;
    let be = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    Ok((be(16), be(20)))
}

fn browser_end_to_end() -> Result<(), Failed> {
    let e2e = harness::root().join("tests/e2e");
    ensure(
        e2e.join("node_modules/playwright-core/package.json")
            .exists(),
        "needs playwright-core: run tests/e2e/install.sh (.ci/run does)",
    )?;
    ensure(
        tplab_testkit::chromium_present(),
        tplab_testkit::MISSING_CHROMIUM,
    )?;
    let s = Server::start("tests/fixtures/labs/serve-ping.md", &[])?;
    // Screenshots stay for a person to look at.
    let shots = harness::root().join("target/serve-screenshots");
    std::fs::create_dir_all(&shots).map_err(|e| fail(format!("{}: {e}", shots.display())))?;
    let out = std::process::Command::new("node")
        .current_dir(&e2e)
        .args(["serve.mjs", &s.url()])
        .arg(&shots)
        .args(["203.0.113.10", "10.244.0.213"])
        .output()
        .map_err(|e| fail(format!("running node: {e}")))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let found: serde_json::Value = serde_json::from_str(stdout.trim()).map_err(|e| {
        fail(format!(
            "e2e output: {e}: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        ))
    })?;
    ensure(found["ok"] == true, format!("browser run: {found}"))?;
    ensure(
        found["no_token_status"] == 401,
        format!("without the token: {found}"),
    )?;
    ensure(
        found["url_after_login"]
            .as_str()
            .is_some_and(|u| !u.contains("token")),
        "the token leaves the URL",
    )?;
    ensure(
        found["injected"].is_null(),
        format!("the lab's script ran: {found}"),
    )?;
    ensure(
        found["tabs"] == serde_json::json!(["pod", "node"]),
        format!("one tab per role: {}", found["tabs"]),
    )?;
    ensure(
        found["terminal_text"]
            .as_str()
            .is_some_and(|t| t.contains("3 received")),
        "the ping ran in the pod's shell",
    )?;
    ensure(found["check_ticked"] == true, "the step's check ticked")?;
    ensure(
        found["resumed_step"]
            .as_str()
            .is_some_and(|t| t.starts_with("Step 2/2")),
        format!("reload resumes: {}", found["resumed_step"]),
    )?;
    ensure(
        found["wrong"]
            .as_str()
            .is_some_and(|t| t.contains("Not quite")),
        format!("wrong answer: {}", found["wrong"]),
    )?;
    ensure(
        found["right"]
            .as_str()
            .is_some_and(|t| t.contains("Correct")),
        format!("right answer: {}", found["right"]),
    )?;
    ensure(
        found["score"] == "Score 2/2",
        format!("score: {}", found["score"]),
    )?;
    ensure(
        found["end"]
            .as_str()
            .is_some_and(|t| t.contains("Lab complete.")),
        format!("end: {}", found["end"]),
    )?;
    // The diagram in the page: the pod's eth0 drawn as the kernel has it, the ping's
    // hops lit, the masquerade at node:eth0.
    let sandbox = s.state()?["sandbox"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let pod_eth0 = found["diagram_ifaces"]
        .as_array()
        .and_then(|a| a.iter().find(|i| i["hop"] == "pod:eth0"))
        .cloned()
        .ok_or_else(|| fail(format!("no pod eth0 drawn: {found}")))?;
    let kernel = std::process::Command::new("ip")
        .args([
            "-n",
            &format!("tplab-{sandbox}-pod"),
            "-j",
            "link",
            "show",
            "eth0",
        ])
        .output()
        .map_err(|e| fail(format!("ip: {e}")))?;
    let kernel: serde_json::Value =
        serde_json::from_slice(&kernel.stdout).map_err(|e| fail(format!("ip -j link: {e}")))?;
    ensure(
        pod_eth0["mac"] == kernel[0]["address"]
            && pod_eth0["ip"]
                .as_str()
                .is_some_and(|ip| ip.starts_with("10.244.0.213/")),
        format!("the drawn pod eth0 {pod_eth0} is the kernel's {kernel}"),
    )?;
    for hop in ["pod:eth0", "node:lxc", "node:eth0"] {
        ensure(
            found["lit"]
                .as_array()
                .is_some_and(|l| l.iter().any(|x| x == hop)),
            format!("{hop} lit after the ping: {}", found["lit"]),
        )?;
    }
    ensure(
        found["nat_line"].as_str().is_some_and(|l| {
            l.starts_with("node:eth0") && l.contains("NAT (source): 10.244.0.213")
        }),
        format!("the NAT line: {}", found["nat_line"]),
    )?;
    ensure(
        found["pid_before"].is_string() && found["pid_before"] == found["pid_after"],
        format!(
            "the same shell after the blip: {} then {}",
            found["pid_before"], found["pid_after"]
        ),
    )?;
    ensure(
        found["replayed"] == true,
        "the shell's earlier output replayed",
    )?;
    ensure(found["pasted"] == true, "a paste is typed into the shell")?;
    ensure(
        found["report_status"] == 200 && found["report_is_html"] == true,
        format!("the report link: {found}"),
    )?;
    ensure(
        found["report_without_token"] == 401,
        format!(
            "the report needs the token: {}",
            found["report_without_token"]
        ),
    )?;
    ensure(
        png_size(&shots.join("serve-1280x800.png"))? == (1280, 800),
        "desktop screenshot 1280×800",
    )?;
    let (w, h) = png_size(&shots.join("serve-390-phone.png"))?;
    ensure(w == 390 && h >= 844, format!("phone screenshot {w}×{h}"))?;
    Ok(())
}
