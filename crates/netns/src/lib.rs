//! Network-namespace primitives shared by the sandbox, the probes and the eBPF loader.
//!
//! `setns(2)` changes the namespace of the *calling thread* only, so every piece of
//! namespace-bound work runs on a dedicated OS thread created for it ([`run_in`],
//! [`block_on_in`]); nothing here ever calls `setns` on a tokio worker thread.

use std::fs::File;
use std::os::fd::{AsFd, AsRawFd};
use std::path::{Path, PathBuf};

use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::sched::{CloneFlags, setns, unshare};

/// Where iproute2 keeps named namespaces; we use the same place so `ip netns` sees ours.
pub const NETNS_RUN_DIR: &str = "/run/netns";

#[derive(Debug, thiserror::Error)]
pub enum NetnsError {
    #[error("network namespace `{name}` does not exist ({path})")]
    NotFound { name: String, path: PathBuf },
    #[error(
        "permission denied while {action} (run as root, or with CAP_NET_ADMIN and CAP_SYS_ADMIN)"
    )]
    Permission { action: String },
    #[error("{action}: {source}")]
    Io {
        action: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the namespace worker thread panicked")]
    ThreadPanicked,
}

impl NetnsError {
    fn from_errno(action: impl Into<String>, errno: nix::errno::Errno) -> Self {
        let action = action.into();
        if matches!(errno, nix::errno::Errno::EPERM | nix::errno::Errno::EACCES) {
            NetnsError::Permission { action }
        } else {
            NetnsError::Io {
                action,
                source: std::io::Error::from(errno),
            }
        }
    }
}

/// Path of the named namespace `name` under [`NETNS_RUN_DIR`].
pub fn path_of(name: &str) -> PathBuf {
    Path::new(NETNS_RUN_DIR).join(name)
}

/// True when the process can manage namespaces (effective uid 0 is the common case).
pub fn have_privileges() -> bool {
    nix::unistd::geteuid().is_root()
}

/// Opens a namespace file, mapping "missing" to [`NetnsError::NotFound`].
pub fn open(path: &Path) -> Result<File, NetnsError> {
    File::open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => NetnsError::NotFound {
            name: path
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
            path: path.to_path_buf(),
        },
        std::io::ErrorKind::PermissionDenied => NetnsError::Permission {
            action: format!("opening {}", path.display()),
        },
        _ => NetnsError::Io {
            action: format!("opening {}", path.display()),
            source: e,
        },
    })
}

/// Runs `f` on a new OS thread that first joins the network namespace at `ns`.
/// `None` runs it in the caller's namespace (still on its own thread, for symmetry).
pub fn run_in<F, R>(ns: Option<&Path>, f: F) -> Result<R, NetnsError>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    let file = ns.map(open).transpose()?;
    let label = ns.map(|p| p.display().to_string()).unwrap_or_default();
    let handle = std::thread::Builder::new()
        .name("tplab-netns".into())
        .spawn(move || -> Result<R, NetnsError> {
            if let Some(file) = file {
                setns(file.as_fd(), CloneFlags::CLONE_NEWNET)
                    .map_err(|e| NetnsError::from_errno(format!("entering netns {label}"), e))?;
            }
            Ok(f())
        })
        .map_err(|e| NetnsError::Io {
            action: "spawning a namespace thread".into(),
            source: e,
        })?;
    handle.join().map_err(|_| NetnsError::ThreadPanicked)?
}

/// Runs an async job on a dedicated thread inside `ns`, with its own current-thread
/// tokio runtime, so netlink sockets are created (and stay) in that namespace.
pub async fn block_on_in<F, Fut, R>(ns: Option<PathBuf>, f: F) -> Result<R, NetnsError>
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = R>,
    R: Send + 'static,
{
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("tplab-netns-rt".into())
        .spawn(move || {
            let result = run_here(ns.as_deref(), f);
            let _ = tx.send(result);
        })
        .map_err(|e| NetnsError::Io {
            action: "spawning a namespace thread".into(),
            source: e,
        })?;
    rx.await.map_err(|_| NetnsError::ThreadPanicked)?
}

/// Synchronous form of [`block_on_in`] for callers outside any runtime.
pub fn block_on_in_sync<F, Fut, R>(ns: Option<&Path>, f: F) -> Result<R, NetnsError>
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = R>,
    R: Send + 'static,
{
    let ns = ns.map(Path::to_path_buf);
    std::thread::Builder::new()
        .name("tplab-netns-rt".into())
        .spawn(move || run_here(ns.as_deref(), f))
        .map_err(|e| NetnsError::Io {
            action: "spawning a namespace thread".into(),
            source: e,
        })?
        .join()
        .map_err(|_| NetnsError::ThreadPanicked)?
}

fn run_here<F, Fut, R>(ns: Option<&Path>, f: F) -> Result<R, NetnsError>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = R>,
{
    if let Some(ns) = ns {
        let file = open(ns)?;
        setns(file.as_fd(), CloneFlags::CLONE_NEWNET)
            .map_err(|e| NetnsError::from_errno(format!("entering netns {}", ns.display()), e))?;
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| NetnsError::Io {
            action: "building a runtime".into(),
            source: e,
        })?;
    Ok(rt.block_on(f()))
}

/// Creates the named namespace `name` (like `ip netns add`) and returns its path.
pub fn create(name: &str) -> Result<PathBuf, NetnsError> {
    ensure_run_dir()?;
    let path = path_of(name);
    if path.exists() {
        return Err(NetnsError::Io {
            action: format!("creating netns {name}"),
            source: std::io::Error::from(std::io::ErrorKind::AlreadyExists),
        });
    }
    File::create(&path).map_err(|e| NetnsError::Io {
        action: format!("creating {}", path.display()),
        source: e,
    })?;
    let target = path.clone();
    let name_owned = name.to_string();
    let bound = run_in(None, move || -> Result<(), NetnsError> {
        unshare(CloneFlags::CLONE_NEWNET)
            .map_err(|e| NetnsError::from_errno(format!("unsharing netns for {name_owned}"), e))?;
        mount(
            Some("/proc/thread-self/ns/net"),
            &target,
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
        .map_err(|e| NetnsError::from_errno(format!("binding netns {name_owned}"), e))
    })?;
    if let Err(e) = bound {
        let _ = std::fs::remove_file(&path);
        return Err(e);
    }
    Ok(path)
}

/// Deletes the named namespace (like `ip netns delete`). Missing is not an error.
pub fn delete(name: &str) -> Result<(), NetnsError> {
    let path = path_of(name);
    if !path.exists() {
        return Ok(());
    }
    match umount2(&path, MntFlags::MNT_DETACH) {
        Ok(()) | Err(nix::errno::Errno::EINVAL) => {}
        Err(e) => {
            return Err(NetnsError::from_errno(
                format!("unmounting {}", path.display()),
                e,
            ));
        }
    }
    std::fs::remove_file(&path).map_err(|e| NetnsError::Io {
        action: format!("removing {}", path.display()),
        source: e,
    })
}

/// Names of every named namespace (the entries of [`NETNS_RUN_DIR`]).
pub fn list() -> Vec<String> {
    let Ok(dir) = std::fs::read_dir(NETNS_RUN_DIR) else {
        return Vec::new();
    };
    let mut names: Vec<String> = dir
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Inode of a namespace file: the identity the kernel (and eBPF `tp_btf` events) use.
pub fn inode(path: &Path) -> Result<u64, NetnsError> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path)
        .map(|m| m.ino())
        .map_err(|e| NetnsError::Io {
            action: format!("stat {}", path.display()),
            source: e,
        })
}

/// Makes /run/netns a shared bind mount as iproute2 does, so namespaces we create are
/// visible to `ip netns` run from any mount namespace.
fn ensure_run_dir() -> Result<(), NetnsError> {
    let dir = Path::new(NETNS_RUN_DIR);
    std::fs::create_dir_all(dir).map_err(|e| NetnsError::Io {
        action: format!("creating {NETNS_RUN_DIR}"),
        source: e,
    })?;
    let shared = MsFlags::MS_SHARED | MsFlags::MS_REC;
    if mount(None::<&str>, dir, None::<&str>, shared, None::<&str>).is_err() {
        mount(
            Some(dir),
            dir,
            None::<&str>,
            MsFlags::MS_BIND | MsFlags::MS_REC,
            None::<&str>,
        )
        .map_err(|e| NetnsError::from_errno(format!("bind-mounting {NETNS_RUN_DIR}"), e))?;
        mount(None::<&str>, dir, None::<&str>, shared, None::<&str>)
            .map_err(|e| NetnsError::from_errno(format!("sharing {NETNS_RUN_DIR}"), e))?;
    }
    Ok(())
}

/// Prepares a child process (call from `pre_exec`) to live in the netns open as `fd`,
/// with its own mount namespace and a fresh /sys, exactly as `ip netns exec` does, so
/// tools reading /sys/class/net see the namespace's interfaces.
///
/// # Safety
/// Must only be called in a freshly forked child before `exec` (async-signal-safe calls only).
pub unsafe fn enter_for_exec(fd: std::os::fd::RawFd) -> std::io::Result<()> {
    // SAFETY: plain syscalls on an fd the parent keeps open across fork.
    unsafe {
        if libc::setns(fd, libc::CLONE_NEWNET) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        if libc::unshare(libc::CLONE_NEWNS) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        let root = c"/";
        let sys = c"/sys";
        let sysfs = c"sysfs";
        // Keep the host's mounts from seeing ours; then remount /sys for this netns.
        libc::mount(
            std::ptr::null(),
            root.as_ptr(),
            std::ptr::null(),
            libc::MS_SLAVE | libc::MS_REC,
            std::ptr::null(),
        );
        libc::umount2(sys.as_ptr(), libc::MNT_DETACH);
        libc::mount(
            sysfs.as_ptr(),
            sys.as_ptr(),
            sysfs.as_ptr(),
            0,
            std::ptr::null(),
        );
    }
    Ok(())
}

/// Configures `cmd` to run inside the netns at `ns` (see [`enter_for_exec`]).
/// The returned file must be kept alive until the child is spawned.
pub fn prepare_command(cmd: &mut tokio::process::Command, ns: &Path) -> Result<File, NetnsError> {
    let file = open(ns)?;
    let fd = file.as_raw_fd();
    // SAFETY: enter_for_exec only performs raw syscalls in the child.
    unsafe {
        cmd.pre_exec(move || enter_for_exec(fd));
    }
    Ok(file)
}

/// Same as [`prepare_command`] for a `std::process::Command`.
pub fn prepare_std_command(cmd: &mut std::process::Command, ns: &Path) -> Result<File, NetnsError> {
    use std::os::unix::process::CommandExt;
    let file = open(ns)?;
    let fd = file.as_raw_fd();
    // SAFETY: enter_for_exec only performs raw syscalls in the child.
    unsafe {
        cmd.pre_exec(move || enter_for_exec(fd));
    }
    Ok(file)
}
