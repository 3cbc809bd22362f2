//! Fault modes: the API answers like common failures of a real cluster, so the error
//! paths of the kube environment can be tested. Chosen at `tplab sandbox up`
//! (`--kube-fault MODE`, repeatable) and/or in `TPLAB_KUBEAPI_FAULTS` (comma-separated),
//! saved in the sandbox's kube dir for the daemon (and a restarted one) to read.

use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{KubeApiError, Result};

/// The environment variable read by [`Faults::from_env`].
pub const FAULTS_ENV: &str = "TPLAB_KUBEAPI_FAULTS";

/// Which failures the API simulates.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Faults {
    /// RBAC denies `create` on `pods/exec` and `pods/attach`.
    pub exec_forbidden: bool,
    /// Pod Security Admission (`baseline`) rejects privileged and host-namespace pods.
    pub psa_privileged: bool,
    /// Every image pull of a created pod fails (`ErrImagePull`, then `ImagePullBackOff`).
    pub image_pull: bool,
    /// Created pods stay `ContainerCreating` this long before they run.
    #[serde(with = "millis")]
    pub slow_start: Option<Duration>,
    /// The Cilium agent pods run this Cilium version (an image tag tplab may not know).
    pub cilium_version: Option<String>,
    /// No Cilium agent pod runs on the node.
    pub no_cilium: bool,
}

mod millis {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    #[allow(clippy::ref_option)]
    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        Ok(Option::<u64>::deserialize(d)?.map(Duration::from_millis))
    }
}

/// The modes, as the CLI spells them.
pub const MODES: &str = "exec-forbidden, psa-privileged, image-pull, slow-start=DURATION, cilium-version=X.Y.Z, no-cilium";

/// `5s`, `1500ms`, `2m`, or bare seconds.
fn duration(text: &str) -> Option<Duration> {
    let t = text.trim();
    let (num, unit) = t
        .find(|c: char| !c.is_ascii_digit())
        .map_or((t, "s"), |i| t.split_at(i));
    let n: u64 = num.parse().ok()?;
    match unit {
        "ms" => Some(Duration::from_millis(n)),
        "s" => Some(Duration::from_secs(n)),
        "m" => Some(Duration::from_secs(n.checked_mul(60)?)),
        _ => None,
    }
}

impl Faults {
    /// Adds one mode (`exec-forbidden`, …, `slow-start=5s`).
    pub fn add(&mut self, mode: &str) -> Result<()> {
        let bad = || {
            KubeApiError::Usage(format!(
                "unknown kube fault `{mode}`: expected one of {MODES}"
            ))
        };
        match mode.trim().split_once('=') {
            None => match mode.trim() {
                "exec-forbidden" => self.exec_forbidden = true,
                "psa-privileged" => self.psa_privileged = true,
                "image-pull" => self.image_pull = true,
                "no-cilium" => self.no_cilium = true,
                "" => {}
                _ => return Err(bad()),
            },
            Some(("slow-start", d)) => {
                self.slow_start = Some(duration(d).ok_or_else(|| {
                    KubeApiError::Usage(format!(
                        "kube fault `{mode}`: bad duration `{d}` (e.g. 5s, 1500ms, 2m)"
                    ))
                })?);
            }
            Some(("cilium-version", v)) => {
                let v = v.trim().trim_start_matches('v');
                let ok = !v.is_empty()
                    && v.split('.').count() <= 3
                    && v.split('.')
                        .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
                if !ok {
                    return Err(KubeApiError::Usage(format!(
                        "kube fault `{mode}`: expected a version like 1.17.0"
                    )));
                }
                self.cilium_version = Some(v.to_string());
            }
            Some(_) => return Err(bad()),
        }
        Ok(())
    }

    /// The modes of `modes` plus those of [`FAULTS_ENV`].
    pub fn parse<S: AsRef<str>>(modes: &[S]) -> Result<Faults> {
        let mut f = Faults::default();
        for m in modes {
            f.add(m.as_ref())?;
        }
        if let Ok(env) = std::env::var(FAULTS_ENV) {
            for m in env.split(',') {
                f.add(m)?;
            }
        }
        Ok(f)
    }

    /// Reads the saved modes (none when the file is absent).
    pub fn load(path: &Path) -> Result<Faults> {
        match std::fs::read(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Faults::default()),
            Err(e) => Err(KubeApiError::io(format!("reading {}", path.display()), e)),
            Ok(b) => serde_json::from_slice(&b).map_err(|source| KubeApiError::Json {
                what: path.display().to_string(),
                source,
            }),
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse() {
        let mut f = Faults::default();
        f.add("exec-forbidden").unwrap();
        f.add("slow-start=1500ms").unwrap();
        f.add("slow-start=2").unwrap();
        assert!(f.exec_forbidden && !f.image_pull);
        assert_eq!(f.slow_start, Some(Duration::from_secs(2)));
        assert!(f.add("slow-start=soon").is_err());
        assert!(f.add("explode").is_err());
        f.add("cilium-version=v1.99.0").unwrap();
        f.add("no-cilium").unwrap();
        assert_eq!(f.cilium_version.as_deref(), Some("1.99.0"));
        assert!(f.no_cilium);
        assert!(f.add("cilium-version=latest").is_err());
        let back: Faults = serde_json::from_str(&f.to_json()).unwrap();
        assert_eq!(back, f);
        assert_eq!(duration("2m"), Some(Duration::from_secs(120)));
    }
}
