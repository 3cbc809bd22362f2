//! The page's terminals: one shell per role, in a PTY of this session's sandbox (or of
//! this machine for `local`), started as `tplab sandbox shell ROLE` starts it. A shell
//! outlives its websocket: a reload or a network blip reattaches to the same shell and
//! replays what it printed since (the last 64 KiB).

use std::collections::{BTreeMap, VecDeque};
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::Stdio;
use std::sync::{Arc, Mutex};

use tokio::io::unix::AsyncFd;
use tokio::sync::broadcast;

/// What a terminal keeps for a reattaching page.
const SCROLLBACK: usize = 64 * 1024;

nix::ioctl_write_ptr_bad!(set_winsize, libc::TIOCSWINSZ, libc::winsize);

/// Where the shells run.
#[derive(Debug, Clone)]
pub enum Place {
    /// A sandbox, by id.
    Sandbox(String),
    /// This machine (the `local` environment).
    Local,
}

#[derive(Debug, thiserror::Error)]
pub enum PtyError {
    #[error("allocating a terminal")]
    Open(#[source] nix::Error),
    #[error("starting a shell in role {role}")]
    Spawn {
        role: String,
        #[source]
        source: std::io::Error,
    },
    #[error("role {role} of sandbox {id}")]
    Sandbox {
        role: String,
        id: String,
        #[source]
        source: tplab_sandbox::SandboxError,
    },
}

/// One live shell.
pub struct Terminal {
    master: AsyncFd<File>,
    /// The shell's session (= process group), ended with the terminal.
    pgid: i32,
    scrollback: Mutex<VecDeque<u8>>,
    pub output: broadcast::Sender<Vec<u8>>,
}

impl Terminal {
    pub async fn write_all(&self, mut data: &[u8]) -> std::io::Result<()> {
        while !data.is_empty() {
            let mut guard = self.master.writable().await?;
            match guard.try_io(|f| f.get_ref().write(data)) {
                Ok(Ok(n)) => data = &data[n..],
                Ok(Err(e)) => return Err(e),
                Err(_would_block) => {}
            }
        }
        Ok(())
    }

    pub fn resize(&self, cols: u16, rows: u16) {
        let ws = libc::winsize {
            ws_row: rows.max(1),
            ws_col: cols.max(1),
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: TIOCSWINSZ on our own PTY master with a valid winsize.
        let _ = unsafe { set_winsize(self.master.get_ref().as_raw_fd(), &raw const ws) };
    }

    /// What the shell printed lately (for a page that attaches now).
    pub fn scrollback(&self) -> Vec<u8> {
        self.scrollback
            .lock()
            .map(|b| b.iter().copied().collect())
            .unwrap_or_default()
    }

    async fn read(&self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            let mut guard = self.master.readable().await?;
            match guard.try_io(|f| f.get_ref().read(buf)) {
                // EIO: the shell (and everything holding the slave) is gone.
                Ok(Err(e)) if e.raw_os_error() == Some(libc::EIO) => return Ok(0),
                Ok(r) => return r,
                Err(_would_block) => {}
            }
        }
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        if self.pgid > 0 {
            // Only the session we started: the shell and what it runs.
            let _ = nix::sys::signal::killpg(
                nix::unistd::Pid::from_raw(self.pgid),
                nix::sys::signal::Signal::SIGHUP,
            );
            let _ = nix::sys::signal::killpg(
                nix::unistd::Pid::from_raw(self.pgid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}

/// The shells of one server, by role; dropped (and killed) with it.
pub struct Terminals {
    place: Place,
    live: Mutex<BTreeMap<String, Arc<Terminal>>>,
}

impl Terminals {
    pub fn new(place: Place) -> Self {
        Self {
            place,
            live: Mutex::new(BTreeMap::new()),
        }
    }

    /// The role's shell, started if it is not running.
    pub fn get(self: &Arc<Self>, role: &str) -> Result<Arc<Terminal>, PtyError> {
        let mut live = self
            .live
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(t) = live.get(role) {
            return Ok(t.clone());
        }
        let t = Arc::new(self.spawn(role)?);
        live.insert(role.to_string(), t.clone());
        let me = self.clone();
        let (role, reader) = (role.to_string(), t.clone());
        tokio::spawn(async move {
            pump(&reader).await;
            // The shell ended: the next attach starts a new one.
            let mut live = me
                .live
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if live.get(&role).is_some_and(|x| Arc::ptr_eq(x, &reader)) {
                live.remove(&role);
            }
        });
        Ok(t)
    }

    /// Ends every shell (the server is stopping).
    pub fn close_all(&self) {
        self.live
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clear();
    }

    fn spawn(&self, role: &str) -> Result<Terminal, PtyError> {
        let (mut cmd, prompt) = match &self.place {
            Place::Sandbox(id) => {
                let fail = |source| PtyError::Sandbox {
                    role: role.to_string(),
                    id: id.clone(),
                    source,
                };
                let sandbox = tplab_sandbox::Sandbox::attach(id).map_err(fail)?;
                let r: tplab_sandbox::Role = role.parse().map_err(fail)?;
                let cmd = sandbox
                    .std_command_argv(&r, "bash", &["--norc", "--noprofile", "-i"])
                    .map_err(fail)?;
                (cmd, format!("[tplab {id} {role}] \\w# "))
            }
            Place::Local => {
                let mut cmd = std::process::Command::new("bash");
                cmd.args(["--norc", "--noprofile", "-i"]);
                (cmd, format!("[tplab {role}] \\w$ "))
            }
        };
        let pty = nix::pty::openpty(None, None).map_err(PtyError::Open)?;
        nix::fcntl::fcntl(
            pty.master.as_raw_fd(),
            nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
        )
        .map_err(PtyError::Open)?;
        // The master must not leak into the shells: when tplab dies (SIGTERM, a crash),
        // its closing is what hangs the shells up.
        nix::fcntl::fcntl(
            pty.master.as_raw_fd(),
            nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
        )
        .map_err(PtyError::Open)?;
        let spawn_err = |source| PtyError::Spawn {
            role: role.to_string(),
            source,
        };
        let slave: OwnedFd = pty.slave;
        let clone = |f: &OwnedFd| f.try_clone().map_err(spawn_err);
        cmd.stdin(Stdio::from(clone(&slave)?))
            .stdout(Stdio::from(clone(&slave)?))
            .stderr(Stdio::from(slave))
            .env("TERM", "xterm-256color")
            .env("PS1", prompt);
        // SAFETY: setsid and ioctl are async-signal-safe.
        unsafe {
            cmd.pre_exec(|| {
                if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let mut child = cmd.spawn().map_err(spawn_err)?;
        let pgid = i32::try_from(child.id()).unwrap_or(0);
        // Reap it whenever it ends (the terminal's pump notices the end on its own).
        std::thread::spawn(move || {
            let _ = child.wait();
        });
        // SAFETY: the File owns the master fd for as long as the AsyncFd holds it.
        let master = unsafe { AsyncFd::register(File::from(pty.master)) }
            .map_err(|e| spawn_err(e.into_parts().1))?;
        let (output, _) = broadcast::channel(256);
        let t = Terminal {
            master,
            pgid,
            scrollback: Mutex::new(VecDeque::new()),
            output,
        };
        t.resize(80, 24);
        Ok(t)
    }
}

/// Copies the shell's output to the scrollback and to every attached page.
async fn pump(t: &Terminal) {
    let mut buf = vec![0u8; 8192];
    loop {
        match t.read(&mut buf).await {
            Ok(0) | Err(_) => {
                // Tells attached pages the shell is gone.
                let _ = t.output.send(Vec::new());
                return;
            }
            Ok(n) => {
                if let Ok(mut sb) = t.scrollback.lock() {
                    sb.extend(&buf[..n]);
                    let extra = sb.len().saturating_sub(SCROLLBACK);
                    sb.drain(..extra);
                }
                let _ = t.output.send(buf[..n].to_vec());
            }
        }
    }
}
