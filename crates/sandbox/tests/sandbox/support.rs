//! Helpers: independent observation through iproute2/conntrack/iptables, never through
//! the crate's own netlink code.

use std::process::Command;

use tplab_sandbox::{Sandbox, SandboxConfig, SandboxGuard};
use tplab_testkit::{Failed, fail};

pub type R = Result<(), Failed>;

/// Output of `ip netns exec <ns> sh -c <script>`: (success, stdout, stderr).
pub fn in_ns(ns: &str, script: &str) -> (bool, String, String) {
    let out = Command::new("ip")
        .args(["netns", "exec", ns, "sh", "-c", script])
        .output()
        .expect("running ip netns exec");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// stdout of a command that must succeed.
pub fn ok_in(ns: &str, script: &str) -> Result<String, Failed> {
    let (ok, out, err) = in_ns(ns, script);
    if ok {
        Ok(out)
    } else {
        Err(fail(format!("`{script}` in {ns} failed: {err}{out}")))
    }
}

/// Parsed `ip -j ...` output.
pub fn ip_json(ns: &str, args: &str) -> Result<serde_json::Value, Failed> {
    let out = ok_in(ns, &format!("ip -j {args}"))?;
    serde_json::from_str(&out).map_err(|e| fail(format!("ip -j {args}: {e}: {out}")))
}

/// A fresh default sandbox torn down when the guard drops (panic included).
pub fn sandbox() -> Result<SandboxGuard, Failed> {
    Sandbox::up_blocking(&SandboxConfig::default())
        .map(SandboxGuard::new)
        .map_err(|e| fail(format!("sandbox up: {e}")))
}

pub fn fact(sb: &Sandbox, key: &str) -> Result<String, Failed> {
    sb.facts()
        .get(key)
        .cloned()
        .ok_or_else(|| fail(format!("no fact {key}")))
}

/// Netns names of sandbox `id` still present.
pub fn netns_of(id: &str) -> Vec<String> {
    let prefix = format!("tplab-{id}-");
    std::fs::read_dir("/run/netns")
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(&prefix))
                .collect()
        })
        .unwrap_or_default()
}

/// Pids of daemons serving sandbox `id` (by their command line).
pub fn daemons_of(id: &str) -> Vec<u32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let args: Vec<String> = std::fs::read(format!("/proc/{pid}/cmdline"))
                .unwrap_or_default()
                .split(|c| *c == 0)
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .collect();
            args.get(1).map(String::as_str) == Some(tplab_sandbox::DAEMON_MARKER)
                && args.windows(2).any(|w| w[0] == "--id" && w[1] == id)
        })
        .collect()
}

/// Everything left of sandbox `id` (empty = clean), waiting briefly for dying processes.
pub fn leftovers(id: &str) -> Vec<String> {
    let mut left = Vec::new();
    for _ in 0..50 {
        left.clear();
        left.extend(netns_of(id));
        left.extend(daemons_of(id).iter().map(|p| format!("daemon pid {p}")));
        let state = format!("{}/{id}.json", tplab_sandbox::STATE_DIR);
        if std::path::Path::new(&state).exists() {
            left.push(state);
        }
        let dir = format!("{}/{id}", tplab_sandbox::STATE_DIR);
        if std::path::Path::new(&dir).exists() {
            left.push(dir);
        }
        let lock = format!("{}/{id}.lock", tplab_sandbox::STATE_DIR);
        if std::path::Path::new(&lock).exists() {
            left.push(lock);
        }
        if left.is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    left
}

/// A short random id so parallel tests never collide.
pub fn test_id(tag: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "{tag}{:06x}",
        (nanos ^ std::process::id().rotate_left(13)) & 0x00ff_ffff
    )
}

/// A pseudo-random number in [0, n) from the clock (good enough to spread kill times).
pub fn jitter(n: u64) -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::from(d.subsec_nanos()));
    (nanos / 1000) % n.max(1)
}
