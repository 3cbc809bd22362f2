//! Without privileges the probe reports `Permission` errors (an `error` verdict), never
//! empty facts. Credentials are per thread in the kernel: a raw `setresuid` syscall drops
//! root for one thread only, and the probe's worker threads inherit it.

use tplab_probe::{FactKind, ProbeError, collect_many_sync};
use tplab_testkit::{Failed, check, fail};

use crate::support::{Rng, Topo};

const NOBODY: libc::uid_t = 65534;

/// Runs `f` on a thread whose uids (and so capabilities) are dropped to `nobody`.
fn as_nobody<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> Result<R, Failed> {
    std::thread::spawn(move || {
        // SAFETY: raw syscalls act on this thread only (glibc's wrappers would change every
        // thread). Groups and gids first (root group may read root-owned 0440 files).
        let rc = unsafe {
            libc::syscall(libc::SYS_setgroups, 0, std::ptr::null::<libc::gid_t>())
                | libc::syscall(libc::SYS_setresgid, NOBODY, NOBODY, NOBODY)
                | libc::syscall(libc::SYS_setresuid, NOBODY, NOBODY, NOBODY)
        };
        if rc != 0 {
            return Err(format!(
                "dropping privileges: {}",
                std::io::Error::last_os_error()
            ));
        }
        Ok(f())
    })
    .join()
    .map_err(|_| fail("unprivileged thread panicked"))?
    .map_err(fail)
}

pub fn unprivileged_caller_gets_permission_errors() -> Result<(), Failed> {
    let mut rng = Rng::new();
    let topo = Topo::new(&mut rng, 1, "tpt-probe-")?;
    let path = topo.path(0);

    // Entering another netns needs CAP_SYS_ADMIN.
    let entered = as_nobody(move || collect_many_sync(Some(&path), &[FactKind::Links]))?;
    match entered {
        Err(ProbeError::Permission { .. }) => {}
        other => {
            return Err(fail(format!(
                "entering a netns as nobody: expected Permission, got {other:?}"
            )));
        }
    }
    // Dumping conntrack needs CAP_NET_ADMIN even in our own netns.
    let ct = as_nobody(|| collect_many_sync(None, &[FactKind::Conntrack]))?;
    match ct {
        Err(e @ ProbeError::Permission { .. }) => {
            check!(e.to_string().contains("run tplab as root"), "message: {e}");
        }
        other => {
            return Err(fail(format!(
                "conntrack as nobody: expected Permission, got {other:?}"
            )));
        }
    }
    // Querying TCX programs is a bpf syscall: CAP_BPF/CAP_SYS_ADMIN.
    let bpf = as_nobody(|| collect_many_sync(None, &[FactKind::Bpf]))?;
    check!(
        matches!(bpf, Err(ProbeError::Permission { .. })),
        "bpf as nobody: {bpf:?}"
    );
    // Reading links needs no privilege: still works.
    let links = as_nobody(|| collect_many_sync(None, &[FactKind::Links]))?.map_err(fail)?;
    check!(!links[0].is_empty(), "links readable without privilege");
    Ok(())
}

/// `nf_tables` refuses every message without `CAP_NET_ADMIN`: a clear error, never an
/// empty firewall.
pub fn unprivileged_firewall_needs_cap_net_admin() -> Result<(), Failed> {
    let fw = as_nobody(|| tplab_probe::collect_firewall_sync(None))?;
    match fw {
        Err(e @ ProbeError::Permission { .. }) => {
            check!(e.to_string().contains("CAP_NET_ADMIN"), "message: {e}");
            Ok(())
        }
        other => Err(fail(format!(
            "firewall as nobody: expected Permission, got {other:?}"
        ))),
    }
}
