//! The world's HTTP server: a small detached process that re-executes the current binary.
//! Every `main()` linking this crate calls [`dispatch_if_daemon`] first; with our private
//! marker as `argv[1]` it serves HTTP and never returns.
//!
//! The parent binds the listening socket inside the world netns and hands it over as fd 3,
//! so the server is reachable as soon as `up` returns (no readiness race). The daemon also
//! exits by itself when its world netns disappears (e.g. `down --all` after a SIGKILL),
//! told by inotify: an idle daemon never wakes up.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::{AsRawFd, FromRawFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::error::{Result, SandboxError};

/// `argv[1]` of the daemon process; also how teardown recognises it in /proc/PID/cmdline.
pub const DAEMON_MARKER: &str = "__tplab-sandbox-daemon";
/// The fd number the listener is passed on.
const LISTENER_FD: i32 = 3;

/// Call first thing in `main()`: turns this process into the sandbox daemon when asked to.
pub fn dispatch_if_daemon() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) != Some(DAEMON_MARKER) {
        return;
    }
    let code = match run(&args[2..]) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("{DAEMON_MARKER}: {e}");
            1
        }
    };
    std::process::exit(code);
}

/// Parsed daemon arguments: `http --id ID (--fd N | --bind ADDR) [--watch PATH] [--name NAME]`.
#[derive(Debug, Default, PartialEq, Eq)]
struct Args {
    id: String,
    fd: Option<i32>,
    bind: Option<String>,
    watch: Option<PathBuf>,
    /// Who answers (`the tplab world`, `pod web`).
    name: Option<String>,
}

fn parse(args: &[String]) -> std::result::Result<Args, String> {
    let mut it = args.iter();
    if it.next().map(String::as_str) != Some("http") {
        return Err("expected `http`".into());
    }
    let mut out = Args::default();
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--id" => out.id.clone_from(value),
            "--fd" => out.fd = Some(value.parse().map_err(|_| format!("bad fd {value}"))?),
            "--bind" => out.bind = Some(value.clone()),
            "--watch" => out.watch = Some(PathBuf::from(value)),
            "--name" => out.name = Some(value.clone()),
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    Ok(out)
}

fn run(args: &[String]) -> std::result::Result<(), String> {
    let args = parse(args)?;
    let listener = match (args.fd, &args.bind) {
        // SAFETY: the parent passed this fd open for us, and nothing else owns it.
        (Some(fd), _) => unsafe { TcpListener::from_raw_fd(fd) },
        (None, Some(addr)) => TcpListener::bind(addr).map_err(|e| format!("bind {addr}: {e}"))?,
        (None, None) => return Err("need --fd or --bind".into()),
    };
    if let Some(watch) = args.watch {
        exit_when_removed(watch);
    }
    let name: std::sync::Arc<str> = args.name.as_deref().unwrap_or("the tplab world").into();
    for conn in listener.incoming() {
        let Ok(conn) = conn else { continue };
        let name = name.clone();
        std::thread::spawn(move || {
            let _ = serve(conn, &name);
        });
    }
    Ok(())
}

/// Exits this process (status 0) once `path` no longer exists: a sandbox daemon outliving
/// its netns or state file after a crash. A thread sleeps on inotify events of `path`'s
/// directory (no polling); only where inotify is unavailable does it check every second.
pub fn exit_when_removed(path: PathBuf) {
    std::thread::spawn(move || {
        if wait_removed(&path).is_err() {
            while path.exists() {
                std::thread::sleep(Duration::from_secs(1));
            }
        }
        std::process::exit(0);
    });
}

/// Returns once `path` is gone; an error when inotify cannot tell.
fn wait_removed(path: &Path) -> nix::Result<()> {
    use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};
    let dir = path.parent().unwrap_or_else(|| Path::new("/"));
    let inotify = Inotify::init(InitFlags::IN_CLOEXEC)?;
    // Removed (`ip netns del` unmounts then unlinks), renamed away, or the directory
    // itself gone or unmounted.
    let mask = AddWatchFlags::IN_DELETE
        | AddWatchFlags::IN_MOVED_FROM
        | AddWatchFlags::IN_DELETE_SELF
        | AddWatchFlags::IN_MOVE_SELF
        | AddWatchFlags::IN_UNMOUNT;
    inotify.add_watch(dir, mask)?;
    // Checked once the watch is in place, so a removal in between is not missed.
    while path.exists() {
        match inotify.read_events() {
            Ok(events) => {
                if events
                    .iter()
                    .any(|e| e.mask.contains(AddWatchFlags::IN_IGNORED))
                    && path.exists()
                {
                    // The watch went (directory replaced): watch the new one.
                    inotify.add_watch(dir, mask)?;
                }
            }
            Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Answers one request with 200 and a body telling the client the address it came from,
/// which shows the node's MASQUERADE at work.
fn serve(mut conn: TcpStream, name: &str) -> std::io::Result<()> {
    conn.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 16 * 1024 {
        let n = conn.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let head = buf.starts_with(b"HEAD ");
    let peer = conn
        .peer_addr()
        .map_or_else(|_| "?".to_string(), |a| a.ip().to_string());
    let local = conn
        .local_addr()
        .map_or_else(|_| "?".to_string(), |a| a.ip().to_string());
    let body = format!("hello from {name} ({local})\nyou came from {peer}\n");
    let mut resp = format!(
        "HTTP/1.1 200 OK\r\nServer: tplab-world\r\nContent-Type: text/plain\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    if !head {
        resp.push_str(&body);
    }
    conn.write_all(resp.as_bytes())
}

/// Starts the daemon on `listener` (already bound in the world netns); returns its pid.
pub(crate) fn spawn_http(id: &str, listener: &TcpListener, watch: &std::path::Path) -> Result<u32> {
    spawn(
        "http",
        id,
        &["--watch".into(), watch.as_os_str().to_owned()],
        listener,
    )
}

/// Starts the HTTP daemon of pod `name` on `listener` (bound in the pod's netns); it
/// ends when that netns goes.
pub(crate) fn spawn_pod_http(
    id: &str,
    name: &str,
    listener: &TcpListener,
    watch: &std::path::Path,
) -> Result<u32> {
    spawn(
        "http",
        id,
        &[
            "--watch".into(),
            watch.as_os_str().to_owned(),
            "--name".into(),
            format!("pod {name}").into(),
        ],
        listener,
    )
}

/// Starts `<marker> <kind> --id <id> --fd 3 <args...>` with `listener` as fd 3, in its own
/// session, output to /dev/null; returns its pid.
pub(crate) fn spawn(
    kind: &str,
    id: &str,
    args: &[std::ffi::OsString],
    listener: &TcpListener,
) -> Result<u32> {
    // /proc/self/exe still works when the binary was replaced on disk (e.g. rebuilt).
    let name = std::env::current_exe().map_or_else(|_| "tplab".into(), |p| p.display().to_string());
    let fd = listener.as_raw_fd();
    let mut cmd = Command::new("/proc/self/exe");
    cmd.arg0(name)
        .arg(DAEMON_MARKER)
        .args([kind, "--id", id, "--fd", &LISTENER_FD.to_string()])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: only async-signal-safe syscalls between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            // Own session: a terminal's Ctrl-C must not reach it; teardown stops it.
            libc::setsid();
            if fd == LISTENER_FD {
                let flags = libc::fcntl(fd, libc::F_GETFD);
                libc::fcntl(fd, libc::F_SETFD, flags & !libc::FD_CLOEXEC);
            } else if libc::dup2(fd, LISTENER_FD) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = cmd
        .spawn()
        .map_err(|e| SandboxError::Daemon(format!("spawning the {kind} daemon: {e}")))?;
    let pid = child.id();
    // The child is reaped by `reap` at teardown (or by init once we exit).
    std::mem::forget(child);
    Ok(pid)
}

/// Command line of `pid` as arguments (empty when gone or unreadable).
fn cmdline(pid: u32) -> Vec<String> {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| {
            b.split(|c| *c == 0)
                .filter(|s| !s.is_empty())
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// The sandbox id a daemon process serves, if `pid` is one of ours.
pub(crate) fn daemon_id(pid: u32) -> Option<String> {
    let args = cmdline(pid);
    if args.get(1).map(String::as_str) != Some(DAEMON_MARKER) {
        return None;
    }
    let pos = args.iter().position(|a| a == "--id")?;
    args.get(pos + 1).cloned()
}

/// Every running daemon: (pid, sandbox id).
pub(crate) fn scan() -> Vec<(u32, String)> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| daemon_id(pid).map(|id| (pid, id)))
        .collect()
}

/// How long a daemon may take to exit on SIGTERM before it is killed.
const STOP_GRACE: std::time::Duration = std::time::Duration::from_millis(400);

/// Stops daemon `pid` if (and only if) it still is sandbox `id`'s daemon.
pub(crate) fn stop(pid: u32, id: &str) -> bool {
    if daemon_id(pid).as_deref() != Some(id) {
        return false;
    }
    let Ok(raw) = i32::try_from(pid) else {
        return false;
    };
    let target = nix::unistd::Pid::from_raw(raw);
    // Opened before the signal so its exit cannot be missed (and the pid not reused).
    let exited = pidfd(raw);
    // SIGTERM first, briefly: a daemon holding open streams (the API's `logs -f`) ends
    // them cleanly; a zombie's cmdline is empty, so `daemon_id` then says it is gone.
    if nix::sys::signal::kill(target, nix::sys::signal::Signal::SIGTERM).is_ok() {
        if let Some(fd) = &exited {
            wait_exit(fd, STOP_GRACE);
        } else {
            let deadline = std::time::Instant::now() + STOP_GRACE;
            while daemon_id(pid).as_deref() == Some(id) && std::time::Instant::now() < deadline {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
        }
    }
    if daemon_id(pid).as_deref() == Some(id)
        && nix::sys::signal::kill(target, nix::sys::signal::Signal::SIGKILL).is_err()
    {
        return false;
    }
    // Reap it when it is our child; ECHILD otherwise (init reaps it).
    let _ = nix::sys::wait::waitpid(target, None);
    true
}

/// A pidfd for `pid` (Linux ≥ 5.3): readable once the process has exited.
pub(crate) fn pidfd(pid: i32) -> Option<std::os::fd::OwnedFd> {
    // SAFETY: plain syscall; a non-negative result is a fresh fd we own.
    let raw = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    let raw = i32::try_from(raw).ok().filter(|fd| *fd >= 0)?;
    // SAFETY: see above.
    Some(unsafe { std::os::fd::OwnedFd::from_raw_fd(raw) })
}

/// Sleeps until the pidfd's process exits or `timeout` passes (woken by the kernel).
fn wait_exit(fd: &std::os::fd::OwnedFd, timeout: Duration) {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let mut pfd = libc::pollfd {
            fd: fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = i32::try_from(left.as_millis()).unwrap_or(i32::MAX);
        // SAFETY: one valid pollfd.
        let n = unsafe { libc::poll(&raw mut pfd, 1, ms) };
        let interrupted =
            n < 0 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted;
        if !interrupted || left.is_zero() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_args() {
        let a: Vec<String> = ["http", "--id", "ab12", "--fd", "3", "--watch", "/x"]
            .iter()
            .map(ToString::to_string)
            .collect();
        let p = parse(&a).unwrap();
        assert_eq!(p.id, "ab12");
        assert_eq!(p.fd, Some(3));
        assert!(parse(&a[..2]).is_err());
        assert!(parse(&["nope".to_string()]).is_err());
    }

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("tplab-daemon-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// `wait_removed` returns when the file is removed or renamed away, not before.
    #[test]
    fn wakes_on_removal_and_rename() {
        for rename in [false, true] {
            let dir = scratch(if rename { "mv" } else { "rm" });
            let file = dir.join("watched");
            std::fs::write(&file, b"x").unwrap();
            let (tx, rx) = std::sync::mpsc::channel();
            let watched = file.clone();
            std::thread::spawn(move || tx.send(wait_removed(&watched)).unwrap());
            // Another file in the same directory changing does not end the wait.
            std::fs::write(dir.join("other"), b"y").unwrap();
            std::fs::remove_file(dir.join("other")).unwrap();
            assert!(rx.recv_timeout(Duration::from_millis(200)).is_err());
            if rename {
                std::fs::rename(&file, dir.join("moved")).unwrap();
            } else {
                std::fs::remove_file(&file).unwrap();
            }
            let got = rx.recv_timeout(Duration::from_secs(10));
            assert!(matches!(got, Ok(Ok(()))), "{got:?}");
            std::fs::remove_dir_all(&dir).unwrap();
        }
    }

    #[test]
    fn already_gone_returns_at_once() {
        let dir = scratch("gone");
        assert_eq!(wait_removed(&dir.join("never")), Ok(()));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// The pidfd wait ends with the process, well before its timeout.
    #[test]
    fn pidfd_wait_ends_with_the_process() {
        let mut child = Command::new("sleep").arg("0.2").spawn().unwrap();
        let fd = pidfd(i32::try_from(child.id()).unwrap()).expect("pidfd_open (Linux >= 5.3)");
        let start = std::time::Instant::now();
        wait_exit(&fd, Duration::from_secs(30));
        assert!(start.elapsed() < Duration::from_secs(20));
        assert!(
            child.try_wait().unwrap().is_some(),
            "returned before the exit"
        );
    }
}
