//! Which processes hold a socket, as `ss -p` finds them: every `/proc/PID/fd/N` that is a
//! link to `socket:[INODE]`. Socket inodes are unique on the host, so scanning the
//! processes the caller sees is enough whatever namespace the socket lives in.

use std::collections::{BTreeSet, HashMap};

use super::Socket;

/// Sets `process` and `pid` of each socket whose inode some process holds. Processes
/// that exit during the scan or whose fds cannot be read are skipped, as `ss` does.
pub(super) fn fill(sockets: &mut [Socket]) {
    if sockets.is_empty() {
        return;
    }
    let wanted: BTreeSet<u32> = sockets
        .iter()
        .map(|s| s.inode)
        .filter(|i| *i != 0)
        .collect();
    let owners = scan(&wanted);
    for s in sockets {
        if let Some(found) = owners.get(&s.inode) {
            let names: BTreeSet<&String> = found.iter().map(|(_, n)| n).collect();
            s.process = names.into_iter().cloned().collect();
            s.pid = found
                .iter()
                .map(|(p, _)| *p)
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
        }
    }
}

/// inode → (pid, command name) of the holders among `wanted`.
fn scan(wanted: &BTreeSet<u32>) -> HashMap<u32, Vec<(u32, String)>> {
    let mut out: HashMap<u32, Vec<(u32, String)>> = HashMap::new();
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return out;
    };
    for entry in procs.filter_map(Result::ok) {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(fds) = std::fs::read_dir(entry.path().join("fd")) else {
            continue;
        };
        let mut name = None;
        for fd in fds.filter_map(Result::ok) {
            let Some(inode) = std::fs::read_link(fd.path())
                .ok()
                .and_then(|t| socket_inode(t.to_str()?))
                .filter(|i| wanted.contains(i))
            else {
                continue;
            };
            let name = name.get_or_insert_with(|| comm(&entry.path()));
            let holders = out.entry(inode).or_default();
            if !holders.iter().any(|(p, _)| *p == pid) {
                holders.push((pid, name.clone()));
            }
        }
    }
    out
}

/// `socket:[12345]` → 12345.
fn socket_inode(target: &str) -> Option<u32> {
    target
        .strip_prefix("socket:[")?
        .strip_suffix(']')?
        .parse()
        .ok()
}

fn comm(proc_dir: &std::path::Path) -> String {
    std::fs::read_to_string(proc_dir.join("comm"))
        .map(|c| c.trim_end_matches('\n').to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_links_name_their_inode() {
        assert_eq!(socket_inode("socket:[4242]"), Some(4242));
        assert_eq!(socket_inode("pipe:[4242]"), None);
        assert_eq!(socket_inode("socket:[x]"), None);
        assert_eq!(socket_inode("/dev/null"), None);
    }

    #[test]
    fn finds_the_holder_of_an_own_socket() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let fd = std::os::fd::AsRawFd::as_raw_fd(&listener);
        let target = std::fs::read_link(format!("/proc/self/fd/{fd}")).unwrap();
        let inode = socket_inode(target.to_str().unwrap()).unwrap();
        let found = scan(&BTreeSet::from([inode]));
        let me = std::process::id();
        assert!(found[&inode].iter().any(|(p, _)| *p == me), "{found:?}");
    }
}
