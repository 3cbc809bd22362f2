//! The cluster's stable identity (node name `node-xxxxx`, the Cilium pod's suffix, a seed
//! for object uids), drawn once at `sandbox up` and kept in `kube/cluster.json`.

use std::io::Read;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{KubeApiError, Result};

/// Contents of `kube/cluster.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// `node-` + 5 random lowercase letters and digits, as the seed's `node-7o7xd`.
    pub node_name: String,
    /// Suffix of the Cilium agent pod (`cilium-r7ffp`).
    pub cilium_suffix: String,
    /// `controller-revision-hash` of the Cilium `DaemonSet`'s pods.
    pub revision_hash: String,
    /// Hex seed from which object uids derive.
    pub seed: String,
    /// The API's address, `https://127.0.0.1:<port>`.
    pub server: String,
    /// The Cilium image the agent pods show, when a fault mode (`cilium-version=V`) sets
    /// one other than the followed release's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cilium_image: Option<String>,
    /// No Cilium agent pod is listed (fault mode `no-cilium`): a node without Cilium.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub no_cilium_pod: bool,
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    // /dev/urandom never blocks once the system has booted; a failure leaves zeros,
    // which only makes names less random.
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        let _ = f.read_exact(&mut buf);
    }
    buf
}

/// `n` random characters among lowercase letters and digits (Kubernetes' suffix alphabet
/// is `bcdfghjklmnpqrstvwxz2456789`; the seed's names use any alnum).
pub(crate) fn random_alnum(n: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    random_bytes::<32>()
        .iter()
        .take(n)
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// FNV-1a, 64 bits: stable across builds (uids must not change between processes).
fn fnv(data: &[u8], salt: u64) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ salt;
    for b in data {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

impl Identity {
    /// A fresh identity for a server at `server`.
    pub fn draw(server: String) -> Identity {
        Identity {
            node_name: format!("node-{}", random_alnum(5)),
            cilium_suffix: random_alnum(5),
            revision_hash: hex(&random_bytes::<5>()),
            seed: hex(&random_bytes::<16>()),
            server,
            cilium_image: None,
            no_cilium_pod: false,
        }
    }

    /// What the fault modes change in the cluster's identity (the Cilium pods).
    #[must_use]
    pub fn with_faults(mut self, faults: &crate::faults::Faults) -> Identity {
        self.cilium_image = faults
            .cilium_version
            .as_ref()
            .map(|v| format!("quay.io/cilium/cilium:v{v}"));
        self.no_cilium_pod = faults.no_cilium;
        self
    }

    /// The image of the Cilium agent pods.
    pub fn cilium_image(&self) -> &str {
        self.cilium_image
            .as_deref()
            .unwrap_or(crate::objects::CILIUM_IMAGE)
    }

    /// A stable UUID-shaped uid for the object `key` (e.g. `pod/kube-system/cilium-x`).
    pub fn uid(&self, key: &str) -> String {
        let data = format!("{}/{key}", self.seed);
        let a = fnv(data.as_bytes(), 1);
        let b = fnv(data.as_bytes(), 2);
        let h = format!("{a:016x}{b:016x}");
        format!(
            "{}-{}-4{}-a{}-{}",
            &h[0..8],
            &h[8..12],
            &h[13..16],
            &h[17..20],
            &h[20..32]
        )
    }

    /// A container id (`containerd://<64 hex>`) for `key`.
    pub fn container_id(&self, key: &str) -> String {
        let parts: Vec<String> = (0..4)
            .map(|i| {
                format!(
                    "{:016x}",
                    fnv(format!("{}/{key}", self.seed).as_bytes(), 10 + i)
                )
            })
            .collect();
        format!("containerd://{}", parts.concat())
    }

    pub fn cilium_pod(&self) -> String {
        format!("cilium-{}", self.cilium_suffix)
    }

    pub fn save(&self, path: &Path) -> Result<()> {
        let bytes = serde_json::to_vec_pretty(self).map_err(|e| KubeApiError::Json {
            what: path.display().to_string(),
            source: e,
        })?;
        std::fs::write(path, bytes)
            .map_err(|e| KubeApiError::io(format!("writing {}", path.display()), e))
    }

    pub fn load(path: &Path) -> Result<Identity> {
        let bytes = std::fs::read(path)
            .map_err(|e| KubeApiError::io(format!("reading {}", path.display()), e))?;
        serde_json::from_slice(&bytes).map_err(|e| KubeApiError::Json {
            what: path.display().to_string(),
            source: e,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_look_like_the_seeds() {
        let id = Identity::draw("https://127.0.0.1:1".into());
        assert_eq!(id.node_name.len(), 10);
        assert!(id.node_name.starts_with("node-"));
        assert!(
            id.cilium_suffix
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        );
        let uid = id.uid("pod/default/pod");
        assert_eq!(uid.len(), 36);
        assert_eq!(uid, id.uid("pod/default/pod"));
        assert_ne!(uid, id.uid("pod/default/other"));
        assert_eq!(id.container_id("x").len(), "containerd://".len() + 64);
    }
}
