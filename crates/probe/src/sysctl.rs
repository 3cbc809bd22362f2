//! `net.*` sysctls of a namespace, read from `/proc/sys/net` by a thread that entered it.
//! procfs resolves every `/proc/sys/net` lookup against the *calling thread's* netns
//! (unlike `/proc/net`, a link to the main thread's `/proc/self/net`), so the dedicated
//! netns thread sees the namespace's values. Names are validated before any path is
//! built, so a lab cannot read files outside `/proc/sys/net`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{ProbeError, ns_label};

const ROOT: &str = "/proc/sys";

/// One sysctl, as `sysctl net.ipv4.ip_forward` prints it (tabs kept between fields).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Sysctl {
    pub name: String,
    pub value: String,
}

/// Reads the named sysctls in `netns`; names that do not exist there (a module not
/// loaded, an interface absent) are left out of the result.
pub async fn read_sysctls(
    netns: Option<&Path>,
    names: &[String],
) -> Result<Vec<Sysctl>, ProbeError> {
    let paths = validate_all(names)?;
    let label = ns_label(netns);
    let label2 = label.clone();
    tplab_netns::block_on_in(netns.map(Path::to_path_buf), move || async move {
        read_named(&label2, &paths)
    })
    .await
    .map_err(|e| ProbeError::from_netns(&label, e))?
}

/// Blocking form of [`read_sysctls`].
pub fn read_sysctls_sync(
    netns: Option<&Path>,
    names: &[String],
) -> Result<Vec<Sysctl>, ProbeError> {
    let paths = validate_all(names)?;
    let label = ns_label(netns);
    let label2 = label.clone();
    tplab_netns::run_in(netns, move || read_named(&label2, &paths))
        .map_err(|e| ProbeError::from_netns(&label, e))?
}

/// Every readable `net.*` sysctl of `netns`, sorted by name. Interface names containing
/// dots are spelled with `/` as sysctl(8) does (`net.ipv4.conf.eth0/100.forwarding`).
pub async fn read_all_net_sysctls(netns: Option<&Path>) -> Result<Vec<Sysctl>, ProbeError> {
    let label = ns_label(netns);
    tplab_netns::block_on_in(netns.map(Path::to_path_buf), || async { read_all() })
        .await
        .map_err(|e| ProbeError::from_netns(&label, e))
}

/// Blocking form of [`read_all_net_sysctls`].
pub fn read_all_net_sysctls_sync(netns: Option<&Path>) -> Result<Vec<Sysctl>, ProbeError> {
    let label = ns_label(netns);
    tplab_netns::run_in(netns, read_all).map_err(|e| ProbeError::from_netns(&label, e))
}

/// `net.` then dot-separated segments of `[A-Za-z0-9_-]` (upper case: interface names
/// may have it). No `/` and no empty segment, so no `..` and no way out of /proc/sys/net.
pub fn validate(name: &str) -> Result<PathBuf, ProbeError> {
    let bad = |reason: &str| ProbeError::SysctlName {
        name: name.to_string(),
        reason: reason.to_string(),
    };
    if name.len() > 256 {
        return Err(bad("longer than 256 characters"));
    }
    let mut segments = name.split('.');
    if segments.next() != Some("net") {
        return Err(bad("only net.* sysctls are per network namespace"));
    }
    let mut path = PathBuf::from(ROOT).join("net");
    let mut any = false;
    for seg in segments {
        if seg.is_empty() {
            return Err(bad("empty segment"));
        }
        if !seg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(bad("segments may only hold letters, digits, `_` and `-`"));
        }
        path.push(seg);
        any = true;
    }
    if !any {
        return Err(bad("names a directory, not a sysctl"));
    }
    Ok(path)
}

fn validate_all(names: &[String]) -> Result<Vec<(String, PathBuf)>, ProbeError> {
    names
        .iter()
        .map(|n| Ok((n.clone(), validate(n)?)))
        .collect()
}

fn read_named(netns: &str, paths: &[(String, PathBuf)]) -> Result<Vec<Sysctl>, ProbeError> {
    let mut out = Vec::with_capacity(paths.len());
    for (name, path) in paths {
        match read_value(path) {
            Ok(value) => out.push(Sysctl {
                name: name.clone(),
                value,
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(ProbeError::Sysctl {
                    netns: netns.to_string(),
                    name: name.clone(),
                    source,
                });
            }
        }
    }
    Ok(out)
}

fn read_value(path: &Path) -> std::io::Result<String> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)?;
    if !f.metadata()?.is_file() {
        return Err(std::io::Error::from(std::io::ErrorKind::IsADirectory));
    }
    let mut s = String::new();
    std::io::Read::read_to_string(&mut f, &mut s)?;
    Ok(s.trim_end_matches('\n').to_string())
}

/// Walks /proc/sys/net; unreadable entries (write-only `flush`, unset `stable_secret`)
/// are skipped as sysctl -a does.
fn read_all() -> Vec<Sysctl> {
    let mut out = Vec::new();
    let mut stack = vec![(PathBuf::from(ROOT).join("net"), "net".to_string())];
    while let Some((dir, name)) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.filter_map(Result::ok) {
            let seg = e.file_name().to_string_lossy().replace('.', "/");
            let child = format!("{name}.{seg}");
            match e.file_type() {
                Ok(t) if t.is_dir() => stack.push((e.path(), child)),
                Ok(t) if t.is_file() => {
                    if let Ok(value) = read_value(&e.path()) {
                        out.push(Sysctl { name: child, value });
                    }
                }
                _ => {}
            }
        }
    }
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map_inside_proc_sys_net() {
        assert_eq!(
            validate("net.ipv4.ip_forward").unwrap(),
            Path::new("/proc/sys/net/ipv4/ip_forward")
        );
        assert_eq!(
            validate("net.ipv4.conf.cilium_host.rp_filter").unwrap(),
            Path::new("/proc/sys/net/ipv4/conf/cilium_host/rp_filter")
        );
        validate("net.ipv6.conf.Eth-0.forwarding").unwrap();
    }

    #[test]
    fn hostile_names_are_rejected() {
        for name in [
            "",
            "net",
            "net.",
            "kernel.hostname",
            "net..ipv4",
            "net.ipv4..ip_forward",
            "net.ipv4/../../../etc/shadow",
            "net.ipv4.conf.a/b.forwarding",
            "net.ipv4.ip_forward\0",
            "net.ipv4.ip forward",
            "/proc/sys/net/ipv4/ip_forward",
            "net.ipv4.ïp",
        ] {
            let e = validate(name).unwrap_err();
            assert!(
                matches!(e, ProbeError::SysctlName { .. }),
                "{name:?}: {e:?}"
            );
        }
        assert!(validate(&format!("net.{}", "a".repeat(300))).is_err());
    }

    #[test]
    fn invalid_name_fails_before_any_read() {
        let e =
            read_sysctls_sync(None, &["net.ipv4.ip_forward".into(), "net..x".into()]).unwrap_err();
        assert!(e.to_string().contains("net..x"), "{e}");
    }
}

crate::query::query_struct!(
    /// `sysctl:` — e.g. `{name: net.ipv4.ip_forward, value: "1"}`, read in the role's
    /// network namespace.
    SysctlQuery { name, value }
);

/// Fields of a sysctl record.
pub(crate) const FIELDS: &[&str] = &["name", "value"];

/// The `sysctls` collector of the kind table (`kinds.rs`): one file when the check names
/// its sysctl, every `net.*` sysctl otherwise (so a failure shows what exists).
#[allow(clippy::unused_async, reason = "the kind table's collectors are async")]
pub(crate) async fn collect_for(
    s: &mut crate::session::Session,
    query: Option<&SysctlQuery>,
) -> Result<Vec<Sysctl>, ProbeError> {
    if let Some(name) = query
        .and_then(|q| q.name.as_ref())
        .and_then(crate::query::Matcher::plain)
    {
        let found = read_named(&s.netns, &[(name.clone(), validate(&name)?)])?;
        if !found.is_empty() {
            return Ok(found);
        }
    }
    Ok(read_all())
}
