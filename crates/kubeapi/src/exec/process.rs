//! The exec'd process: started in the pod's sandbox role through the sandbox crate's
//! role commands (netns, PATH, env), in a session of its own, with pipes or a PTY; and
//! its end as the kubelet reports it.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{ExitStatus, Stdio};

use serde_json::{Value, json};
use tokio::io::unix::AsyncFd;
use tokio::process::{Child, ChildStderr, ChildStdin, ChildStdout};

use super::ExecParams;

/// The controlling terminal of a `-t` exec (the master side).
pub struct Pty {
    fd: AsyncFd<File>,
}

nix::ioctl_write_ptr_bad!(set_winsize, libc::TIOCSWINSZ, libc::winsize);

impl Pty {
    pub async fn read(&self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            let mut guard = self.fd.readable().await?;
            match guard.try_io(|f| f.get_ref().read(buf)) {
                Ok(Err(e)) if e.raw_os_error() == Some(libc::EIO) => return Ok(0),
                Ok(r) => return r,
                Err(_would_block) => {}
            }
        }
    }

    pub async fn write_all(&self, mut data: &[u8]) -> std::io::Result<()> {
        while !data.is_empty() {
            let mut guard = self.fd.writable().await?;
            match guard.try_io(|f| f.get_ref().write(data)) {
                Ok(Ok(n)) => data = &data[n..],
                Ok(Err(e)) => return Err(e),
                Err(_would_block) => {}
            }
        }
        Ok(())
    }

    pub fn resize(&self, width: u16, height: u16) {
        let ws = libc::winsize {
            ws_row: height,
            ws_col: width,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: TIOCSWINSZ on our PTY master with a valid winsize.
        let _ = unsafe { set_winsize(self.fd.get_ref().as_raw_fd(), &raw const ws) };
    }
}

pub enum Io {
    Pipes {
        stdin: Option<ChildStdin>,
        stdout: Option<ChildStdout>,
        stderr: Option<ChildStderr>,
    },
    Pty(std::sync::Arc<Pty>),
}

pub struct Spawned {
    pub child: Child,
    pub io: Io,
    /// Process group (= session) of the command, to end it when the client goes.
    pub pgid: i32,
}

fn open_pty() -> Result<(Pty, OwnedFd), String> {
    let pty = nix::pty::openpty(None, None).map_err(|e| format!("allocating a terminal: {e}"))?;
    nix::fcntl::fcntl(
        pty.master.as_raw_fd(),
        nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
    )
    .map_err(|e| format!("allocating a terminal: {e}"))?;
    // openpty(3) leaves both ends inheritable: a shell holding its own master would keep
    // its terminal open after the server is gone and never be hung up. The slave reaches
    // the command only as its stdio (dup2 clears the flag there).
    for fd in [pty.master.as_raw_fd(), pty.slave.as_raw_fd()] {
        nix::fcntl::fcntl(
            fd,
            nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
        )
        .map_err(|e| format!("allocating a terminal: {e}"))?;
    }
    let slave = pty.slave;
    let file = File::from(pty.master);
    // SAFETY: the File owns the master fd for as long as the AsyncFd holds it.
    let fd =
        unsafe { AsyncFd::register(file) }.map_err(|e| format!("allocating a terminal: {e}"))?;
    let pty = Pty { fd };
    pty.resize(80, 24);
    Ok((pty, slave))
}

/// Starts `params.command` in `role` of sandbox `id`. The sandbox is attached only while
/// the process starts, so a running exec never keeps `down` from removing the sandbox
/// (teardown ends the processes inside its namespaces).
pub fn spawn(params: &ExecParams, role: &tplab_sandbox::Role, id: &str) -> Result<Spawned, String> {
    let sandbox = tplab_sandbox::Sandbox::attach(id).map_err(|e| e.to_string())?;
    let (program, args) = params
        .command
        .split_first()
        .ok_or_else(|| "no command".to_string())?;
    let mut cmd = sandbox
        .std_command_argv(role, program, args)
        .map_err(|e| e.to_string())?;
    let tty = params.tty;
    let mut pty = None;
    if tty {
        let (master, slave) = open_pty()?;
        let clone = |f: &OwnedFd| {
            f.try_clone()
                .map_err(|e| format!("allocating a terminal: {e}"))
        };
        cmd.stdin(Stdio::from(clone(&slave)?))
            .stdout(Stdio::from(clone(&slave)?))
            .stderr(Stdio::from(slave));
        cmd.env("TERM", "xterm");
        pty = Some(master);
    } else {
        let pipe = |on: bool| if on { Stdio::piped() } else { Stdio::null() };
        cmd.stdin(pipe(params.stdin))
            .stdout(pipe(params.stdout))
            .stderr(pipe(params.stderr));
    }
    // SAFETY: setsid and ioctl are async-signal-safe; run after the netns was entered.
    unsafe {
        cmd.pre_exec(move || {
            if libc::setsid() < 0 {
                return Err(std::io::Error::last_os_error());
            }
            if tty && libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = tokio::process::Command::from(cmd)
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => {
                format!("exec: \"{program}\": executable file not found in $PATH")
            }
            _ => format!("exec: \"{program}\": {e}"),
        })?;
    drop(sandbox);
    let pgid = child.id().and_then(|p| i32::try_from(p).ok()).unwrap_or(0);
    let io = match pty {
        Some(p) => Io::Pty(std::sync::Arc::new(p)),
        None => Io::Pipes {
            stdin: child.stdin.take(),
            stdout: child.stdout.take(),
            stderr: child.stderr.take(),
        },
    };
    Ok(Spawned { child, io, pgid })
}

/// Go's `%v` of a string slice: `[sh -c exit 3]`.
fn go_slice(command: &[String]) -> String {
    format!("[{}]", command.join(" "))
}

/// A shell's view of an exit: the code, or 128 + the signal.
pub fn exit_code(status: ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(1)
}

/// The channel-3 message for a finished command, exactly as the kubelet writes it.
pub fn exit_status(command: &[String], status: ExitStatus) -> Value {
    let code = exit_code(status);
    if code == 0 {
        return json!({ "metadata": {}, "status": "Success" });
    }
    json!({
        "metadata": {},
        "status": "Failure",
        "message": format!(
            "command terminated with non-zero exit code: error executing command {}, exit code {code}",
            go_slice(command)
        ),
        "reason": "NonZeroExitCode",
        "details": { "causes": [{ "reason": "ExitCode", "message": code.to_string() }] },
    })
}

/// The channel-3 message when the command could not be started.
pub fn start_failure(message: &str) -> Value {
    json!({
        "metadata": {},
        "status": "Failure",
        "message": format!("Internal error occurred: error executing command in container: {message}"),
        "reason": "InternalError",
        "details": { "causes": [{ "message": format!("error executing command in container: {message}") }] },
        "code": 500,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;

    #[test]
    fn statuses_are_the_kubelets() {
        let cmd: Vec<String> = ["sh", "-c", "exit 3"]
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            exit_status(&cmd, ExitStatus::from_raw(0)).to_string(),
            r#"{"metadata":{},"status":"Success"}"#
        );
        let v = exit_status(&cmd, ExitStatus::from_raw(3 << 8));
        assert_eq!(v["reason"], "NonZeroExitCode");
        assert_eq!(v["details"]["causes"][0]["reason"], "ExitCode");
        assert_eq!(v["details"]["causes"][0]["message"], "3");
        assert_eq!(
            v["message"],
            "command terminated with non-zero exit code: error executing command [sh -c exit 3], exit code 3"
        );
        // Killed by SIGKILL: 128 + 9, as a shell reports it.
        let v = exit_status(&cmd, ExitStatus::from_raw(9));
        assert_eq!(v["details"]["causes"][0]["message"], "137");
    }
}
