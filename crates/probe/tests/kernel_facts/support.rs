//! Test topology helpers: randomised names, RAII cleanup of every netns we create,
//! and running iproute2 / tc / conntrack inside a netns to get the reference view.

use std::process::Command;

use tplab_testkit::{Failed, fail};

/// Small xorshift RNG seeded from time and pid (printed, so a failure can be replayed
/// with `TPT_PROBE_SEED=<n>`).
pub struct Rng(u64);

impl Rng {
    pub fn new() -> Self {
        let seed = std::env::var("TPT_PROBE_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                let t = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(1, |d| d.as_nanos());
                #[expect(clippy::cast_possible_truncation, reason = "seed mixing")]
                let s = (t as u64) ^ (u64::from(std::process::id()) << 32);
                s | 1
            });
        eprintln!("TPT_PROBE_SEED={seed}");
        Rng(seed)
    }

    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }

    pub fn byte(&mut self) -> u8 {
        u8::try_from(self.next() & 0xff).unwrap_or(0)
    }

    pub fn coin(&mut self) -> bool {
        self.next() & 1 == 1
    }

    /// A locally administered unicast MAC.
    pub fn mac(&mut self) -> String {
        let mut b = [0u8; 6];
        for x in &mut b {
            *x = self.byte();
        }
        b[0] = (b[0] & 0xfc) | 0x02;
        b.iter()
            .map(|x| format!("{x:02x}"))
            .collect::<Vec<_>>()
            .join(":")
    }

    pub fn tag(&mut self) -> String {
        format!("{:06x}", self.next() & 0xff_ffff)
    }
}

/// Named namespaces deleted on drop (deleting a netns removes its links, routes,
/// qdiscs, filters, conntrack table and iptables rules with it).
pub struct Topo {
    pub names: Vec<String>,
}

impl Topo {
    pub fn new(rng: &mut Rng, count: usize, prefix: &str) -> Result<Self, Failed> {
        let tag = rng.tag();
        let mut topo = Topo { names: Vec::new() };
        for i in 0..count {
            let name = format!("{prefix}{tag}-{i}");
            tplab_netns::create(&name).map_err(fail)?;
            topo.names.push(name);
        }
        for n in &topo.names {
            sh(n, "ip link set lo up")?;
        }
        Ok(topo)
    }

    pub fn ns(&self, i: usize) -> &str {
        &self.names[i]
    }

    pub fn path(&self, i: usize) -> std::path::PathBuf {
        tplab_netns::path_of(&self.names[i])
    }
}

impl Drop for Topo {
    fn drop(&mut self) {
        for n in &self.names {
            let _ = tplab_netns::delete(n);
        }
    }
}

/// Runs `cmd` with `sh -c` inside netns `ns`; fails with its stderr.
pub fn sh(ns: &str, cmd: &str) -> Result<String, Failed> {
    let out = Command::new("ip")
        .args(["netns", "exec", ns, "sh", "-c", cmd])
        .output()
        .map_err(|e| fail(format!("running `{cmd}`: {e}")))?;
    if !out.status.success() {
        return Err(fail(format!(
            "`{cmd}` in {ns} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Runs a JSON-printing tool inside `ns` and parses its output.
pub fn json(ns: &str, cmd: &str) -> Result<serde_json::Value, Failed> {
    let text = sh(ns, cmd)?;
    if text.trim().is_empty() {
        return Ok(serde_json::Value::Array(Vec::new()));
    }
    serde_json::from_str(&text)
        .map_err(|e| fail(format!("`{cmd}` printed invalid JSON ({e}): {text}")))
}

/// The probe under test, run synchronously in `ns`.
pub fn probe(
    ns: &std::path::Path,
    kinds: &[tplab_probe::FactKind],
) -> Result<Vec<tplab_probe::Facts>, Failed> {
    tplab_probe::collect_many_sync(Some(ns), kinds).map_err(|e| fail(format!("probe: {e}")))
}

/// Asserts two sorted lists are equal, printing only the differences.
pub fn same_set<T: Ord + std::fmt::Debug + Clone>(
    what: &str,
    mut ours: Vec<T>,
    mut theirs: Vec<T>,
) -> Result<(), Failed> {
    ours.sort();
    theirs.sort();
    if ours == theirs {
        return Ok(());
    }
    let only_ours: Vec<_> = ours.iter().filter(|x| !theirs.contains(x)).collect();
    let only_theirs: Vec<_> = theirs.iter().filter(|x| !ours.contains(x)).collect();
    Err(fail(format!(
        "{what} differ:\n  only in tplab: {only_ours:#?}\n  only in reference: {only_theirs:#?}"
    )))
}

pub fn s(v: &serde_json::Value, k: &str) -> Option<String> {
    match v.get(k)? {
        serde_json::Value::Null => None,
        serde_json::Value::String(x) => Some(x.clone()),
        other => Some(other.to_string()),
    }
}
