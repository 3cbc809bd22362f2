//! A small fluent harness: build a `tplab` invocation, run it, assert on what a user
//! sees (exit code, stdout, stderr, files).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub use tplab_testkit::{Failed, fail};

/// Repository root (the workspace), so tests can name `labs/...` and `tests/fixtures/...`.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

pub fn fixture(rel: &str) -> PathBuf {
    root().join("tests/fixtures").join(rel)
}

pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_tplab"))
}

/// A temporary directory removed on drop.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("tplab-it-")
        .tempdir()
        .expect("tempdir")
}

#[must_use]
pub struct Tplab {
    cmd: Command,
    shown: Vec<String>,
}

/// Starts building `tplab ARGS...`, run from the repository root without colours.
pub fn tplab<I, S>(args: I) -> Tplab
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let mut cmd = command();
    let mut shown = Vec::new();
    for a in args {
        shown.push(a.as_ref().to_string_lossy().into_owned());
        cmd.arg(a);
    }
    Tplab { cmd, shown }
}

/// The `tplab` binary run as every test runs it: from the repository root, without
/// colours, outside any sandbox the tester chose, with progress and default reports out
/// of the tester's home, no standard input.
pub fn command() -> Command {
    let mut cmd = Command::new(bin());
    cmd.current_dir(root())
        .env("NO_COLOR", "1")
        .env_remove("TPLAB_ENV")
        .env_remove("TPLAB_SANDBOX")
        .env(
            "TPLAB_STATE_DIR",
            std::env::temp_dir().join(format!("tplab-it-state-{}", std::process::id())),
        )
        .stdin(Stdio::null());
    cmd
}

/// A failure with `message` unless `cond` holds.
pub fn ensure(cond: bool, message: impl std::fmt::Display) -> Result<(), Failed> {
    if cond { Ok(()) } else { Err(fail(message)) }
}

impl Tplab {
    /// Adds an argument that is not text (a path).
    pub fn cmd_arg(mut self, arg: impl AsRef<std::ffi::OsStr>) -> Self {
        self.shown.push(arg.as_ref().to_string_lossy().into_owned());
        self.cmd.arg(arg);
        self
    }

    /// Sets an environment variable of the invocation.
    pub fn env(mut self, key: &str, value: impl AsRef<std::ffi::OsStr>) -> Self {
        self.cmd.env(key, value);
        self
    }

    pub fn run(mut self) -> Output {
        let out = self.cmd.output().expect("run tplab");
        Output {
            command: format!("tplab {}", self.shown.join(" ")),
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

pub struct Output {
    pub command: String,
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    fn context(&self) -> String {
        format!(
            "`{}` exited {}\n--- stdout\n{}\n--- stderr\n{}",
            self.command, self.code, self.stdout, self.stderr
        )
    }

    pub fn code(&self, expected: i32) -> Result<&Self, Failed> {
        if self.code == expected {
            Ok(self)
        } else {
            Err(fail(format!(
                "expected exit code {expected}; {}",
                self.context()
            )))
        }
    }

    pub fn success(&self) -> Result<&Self, Failed> {
        self.code(0)
    }

    pub fn stdout_has(&self, needle: &str) -> Result<&Self, Failed> {
        if self.stdout.contains(needle) {
            Ok(self)
        } else {
            Err(fail(format!("stdout lacks {needle:?}; {}", self.context())))
        }
    }

    pub fn stderr_has(&self, needle: &str) -> Result<&Self, Failed> {
        if self.stderr.contains(needle) {
            Ok(self)
        } else {
            Err(fail(format!("stderr lacks {needle:?}; {}", self.context())))
        }
    }

    pub fn json(&self) -> Result<serde_json::Value, Failed> {
        serde_json::from_str(&self.stdout)
            .map_err(|e| fail(format!("stdout is not JSON ({e}); {}", self.context())))
    }
}

/// A terminal program driven through tmux on a private server socket.
pub struct Tmux {
    socket: String,
    session: String,
}

impl Tmux {
    /// Starts `command` in a detached 120x50 tmux session.
    pub fn start(command: &str) -> Result<Tmux, Failed> {
        // Unique per process and per call: several tmux servers may be alive at once.
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let id = format!("{}-{n}", std::process::id());
        let t = Tmux {
            socket: format!("tplab-test-{id}"),
            session: "t".into(),
        };
        let out = Command::new("tmux")
            .args([
                "-L",
                &t.socket,
                "new-session",
                "-d",
                "-s",
                &t.session,
                "-x",
                "120",
                "-y",
                "50",
                command,
            ])
            .output()
            .map_err(|e| {
                fail(format!(
                    "tmux: {e} (install it with `apt-get install tmux`)"
                ))
            })?;
        if !out.status.success() {
            return Err(fail(format!(
                "tmux new-session failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        Ok(t)
    }

    pub fn send(&self, keys: &[&str]) -> Result<(), Failed> {
        let mut args = vec!["-L", &self.socket, "send-keys", "-t", &self.session];
        args.extend_from_slice(keys);
        Command::new("tmux")
            .args(&args)
            .status()
            .map_err(|e| fail(e.to_string()))?;
        Ok(())
    }

    /// Resizes the terminal (the program sees SIGWINCH).
    pub fn resize(&self, width: u16, height: u16) -> Result<(), Failed> {
        let (w, h) = (width.to_string(), height.to_string());
        Command::new("tmux")
            .args([
                "-L",
                &self.socket,
                "resize-window",
                "-t",
                &self.session,
                "-x",
                &w,
                "-y",
                &h,
            ])
            .status()
            .map_err(|e| fail(e.to_string()))?;
        Ok(())
    }

    /// Types text literally, then Enter.
    pub fn type_line(&self, text: &str) -> Result<(), Failed> {
        self.send(&["-l", text])?;
        self.send(&["Enter"])
    }

    pub fn screen(&self) -> String {
        Command::new("tmux")
            .args([
                "-L",
                &self.socket,
                "capture-pane",
                "-p",
                "-J",
                "-t",
                &self.session,
                "-S",
                "-2000",
            ])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    }

    /// Waits until the screen shows `needle` `count` times (bounded).
    pub fn wait_for_n(
        &self,
        needle: &str,
        count: usize,
        limit: Duration,
    ) -> Result<String, Failed> {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if screen.matches(needle).count() >= count {
                return Ok(screen);
            }
            if start.elapsed() > limit {
                return Err(fail(format!(
                    "timed out waiting for {needle:?} x{count}; screen:\n{screen}"
                )));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn wait_for(&self, needle: &str, limit: Duration) -> Result<String, Failed> {
        self.wait_for_n(needle, 1, limit)
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        // Our private server only: never touches other tmux sessions.
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .status();
    }
}

/// A student's guided session in a real terminal (tmux, 80x24): `tplab run LAB ARGS`
/// typed in a shell, with private state and report directories; the shell echoes
/// `TPLAB-EXIT=<status>` when tplab ends.
pub struct Guided {
    pub tmux: Tmux,
    /// Kept alive (removed on drop) for the session's saved progress.
    _state: tempfile::TempDir,
    pub report: tempfile::TempDir,
    /// The command line typed (type it again to resume).
    pub command: String,
}

impl Guided {
    pub fn start(lab: &str, args: &str) -> Result<Guided, Failed> {
        let (state, report) = (tempdir(), tempdir());
        // `TPLAB""-EXIT`: the typed line itself never matches what tplab's end prints.
        let command = format!(
            "cd {} && TPLAB_STATE_DIR={} NO_COLOR=1 {} run {lab} {args} --report {}; echo TPLAB\"\"-EXIT=$?",
            root().display(),
            state.path().display(),
            bin().display(),
            report.path().display()
        );
        let tmux = Tmux::start("bash --norc --noprofile")?;
        tmux.resize(80, 24)?;
        tmux.type_line(&command)?;
        Ok(Guided {
            tmux,
            _state: state,
            report,
            command,
        })
    }

    /// The session's report.json.
    pub fn report(&self) -> Result<tplab_report::Report, Failed> {
        let text = std::fs::read_to_string(self.report.path().join("report.json"))
            .map_err(|e| fail(e.to_string()))?;
        serde_json::from_str(&text).map_err(|e| fail(e.to_string()))
    }
}
