//! The API's process: this binary re-executed by `sandbox up` as
//! `<DAEMON_MARKER> kubeapi --id ID --fd 3 --dir DIR` (the sandbox crate's daemon
//! convention, so teardown and `down --all` find and stop it). The listening socket is
//! bound by the parent and inherited as fd 3: the API answers as soon as `up` returns.
//! It also exits by itself when the sandbox's state file disappears.

use std::fmt::Write as _;
use std::net::TcpListener;
use std::os::fd::FromRawFd;
use std::path::PathBuf;
use std::sync::Arc;

use crate::audit::Audit;
use crate::ctx::Ctx;
use crate::error::{KubeApiError, Result};
use crate::identity::Identity;

/// `argv[2]` of the API daemon.
pub const KIND: &str = "kubeapi";

#[derive(Debug, Default, PartialEq, Eq)]
struct Args {
    id: String,
    fd: i32,
    dir: PathBuf,
}

fn parse(args: &[String]) -> Result<Args> {
    let mut out = Args {
        fd: -1,
        ..Args::default()
    };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = it
            .next()
            .ok_or_else(|| KubeApiError::Usage(format!("{flag} needs a value")))?;
        match flag.as_str() {
            "--id" => out.id.clone_from(value),
            "--fd" => {
                out.fd = value
                    .parse()
                    .map_err(|_| KubeApiError::Usage(format!("bad fd {value}")))?;
            }
            "--dir" => out.dir = PathBuf::from(value),
            _ => return Err(KubeApiError::Usage(format!("unknown flag {flag}"))),
        }
    }
    if !tplab_sandbox::valid_id(&out.id) || out.fd < 0 || out.dir.as_os_str().is_empty() {
        return Err(KubeApiError::Usage("need --id, --fd and --dir".into()));
    }
    Ok(out)
}

/// Call first thing in `main()`, before [`tplab_sandbox::dispatch_if_daemon`]: turns
/// this process into a sandbox's API server when asked to, and never returns then.
pub fn dispatch_if_daemon() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) != Some(tplab_sandbox::DAEMON_MARKER)
        || args.get(2).map(String::as_str) != Some(KIND)
    {
        return;
    }
    let code = match run(&args[3..]) {
        Ok(()) => 0,
        Err(e) => {
            let mut msg = e.to_string();
            let mut src = std::error::Error::source(&e);
            while let Some(s) = src {
                let _ = write!(msg, ": {s}");
                src = s.source();
            }
            eprintln!("{} {KIND}: {msg}", tplab_sandbox::DAEMON_MARKER);
            1
        }
    };
    std::process::exit(code);
}

fn run(args: &[String]) -> Result<()> {
    let args = parse(args)?;
    // `ss -ltnp` and `ps` show `tplab-kubeapi` rather than `exe` (/proc/self/exe).
    // SAFETY: PR_SET_NAME reads a NUL-terminated string of at most 16 bytes.
    unsafe {
        libc::prctl(libc::PR_SET_NAME, c"tplab-kubeapi".as_ptr());
    }
    // SAFETY: the parent passed this fd open for us, and nothing else owns it.
    let listener = unsafe { TcpListener::from_raw_fd(args.fd) };
    // Commands started by exec must not inherit the listening socket.
    nix::fcntl::fcntl(
        args.fd,
        nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
    )
    .map_err(|e| KubeApiError::io("setting FD_CLOEXEC on the listener", e.into()))?;
    let port = listener
        .local_addr()
        .map_err(|e| KubeApiError::io("reading the listener's address", e))?
        .port();
    let state = crate::paths::state_file(&args.id)?;
    // Gone with its sandbox's state file (told by inotify: no periodic wakeups).
    tplab_sandbox::exit_when_removed(state);
    let tls = crate::tls::server_config(&args.dir)?;
    let identity = Identity::load(&args.dir.join("cluster.json"))?;
    let store = crate::store::Store::open(&args.dir.join(crate::paths::STORE_FILE))?;
    let faults = crate::faults::Faults::load(&args.dir.join(crate::paths::FAULTS_FILE))?;
    let ctx = Arc::new(Ctx {
        audit: Audit::open(&crate::paths::audit_path(&args.id)?),
        id: args.id,
        identity,
        port,
        store,
        faults,
        sandbox_ops: tokio::sync::Mutex::new(()),
        sessions: crate::sessions::Sessions::default(),
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| KubeApiError::io("starting the runtime", e))?;
    runtime.spawn(crate::shutdown::on_sigterm());
    runtime.block_on(async move {
        crate::pods::lifecycle::resume(&ctx);
        crate::server::serve(listener, tls, ctx).await
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_args() {
        let a: Vec<String> = ["--id", "ab12", "--fd", "3", "--dir", "/x"]
            .iter()
            .map(ToString::to_string)
            .collect();
        let p = parse(&a).unwrap();
        assert_eq!((p.id.as_str(), p.fd), ("ab12", 3));
        assert!(parse(&a[..2]).is_err());
        assert!(parse(&["--id".to_string()]).is_err());
        let bad: Vec<String> = ["--id", "../x", "--fd", "3", "--dir", "/x"]
            .iter()
            .map(ToString::to_string)
            .collect();
        assert!(parse(&bad).is_err());
    }
}
