//! Detection of the kernel features a lab requires (`requires.features`), for real: a link
//! kind is created in a throwaway network namespace tplab creates and deletes (which also
//! loads its module, as the student's own `ip link add` would), TCX is told by the kernel
//! version, the BPF LSM by the active LSM list. Without root a link kind falls back to its
//! module's presence; when nothing can tell, the feature is *unknown* (a note, not a refusal).

use std::process::{Command, Stdio};

use tplab_vocab::Lang;
use tplab_vocab::lifecycle::KernelFeature;

/// What the machine says about one feature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Presence {
    Available,
    /// Missing: what to do, in the lab's language.
    Missing(String),
    /// Cannot tell here: why, in the lab's language.
    Unknown(String),
}

/// A network namespace of tplab's own for one probe, deleted when dropped.
struct ProbeNetns(String);

impl ProbeNetns {
    fn create(feature: KernelFeature) -> Option<Self> {
        let name = format!("tplab-probe-{}-{}", std::process::id(), feature.name());
        tplab_netns::create(&name).ok()?;
        Some(ProbeNetns(name))
    }

    /// `ip -n <ns> <args>`: whether it succeeded (`None`: `ip` could not run).
    fn ip(&self, args: &[&str]) -> Option<bool> {
        Command::new("ip")
            .args(["-n", &self.0])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .ok()
            .map(|s| s.success())
    }

    /// `ip -d -j link show <dev>` in the netns, parsed.
    fn link_json(&self, dev: &str) -> Option<serde_json::Value> {
        let out = Command::new("ip")
            .args(["-n", &self.0, "-d", "-j", "link", "show", dev])
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .ok()?;
        serde_json::from_slice::<serde_json::Value>(&out.stdout).ok()
    }
}

impl Drop for ProbeNetns {
    fn drop(&mut self) {
        let _ = tplab_netns::delete(&self.0);
    }
}

/// The module a link kind comes from (for the fallback and the advice).
fn module_of(feature: KernelFeature) -> Option<&'static str> {
    match feature {
        KernelFeature::Vlan => Some("8021q"),
        KernelFeature::Bridge | KernelFeature::BridgeVlanFiltering => Some("bridge"),
        KernelFeature::Vxlan => Some("vxlan"),
        KernelFeature::Veth => Some("veth"),
        KernelFeature::Tcx | KernelFeature::BpfLsm => None,
    }
}

/// What to do when `feature` is missing.
fn advice(feature: KernelFeature, lang: Lang) -> String {
    match feature {
        KernelFeature::Vlan | KernelFeature::Vxlan | KernelFeature::Veth | KernelFeature::Bridge => {
            let module = module_of(feature).unwrap_or_default();
            let kind = match feature {
                KernelFeature::Vlan => "802.1Q VLAN (`type vlan`)",
                KernelFeature::Vxlan => "VXLAN (`type vxlan`)",
                KernelFeature::Veth => "veth (`type veth`)",
                _ => "bridge (`type bridge`)",
            };
            lang.pick(
                format!("{kind} links cannot be created here: `sudo modprobe {module}`, or a kernel built with it"),
                format!("impossible de créer ici des liens {kind} : `sudo modprobe {module}`, ou un noyau qui l’inclut"),
            )
        }
        KernelFeature::BridgeVlanFiltering => lang.pick(
            "bridges cannot filter VLANs here (`vlan_filtering 1`): a kernel built with CONFIG_BRIDGE_VLAN_FILTERING".to_string(),
            "les bridges ne peuvent pas filtrer les VLAN ici (`vlan_filtering 1`) : il faut un noyau avec CONFIG_BRIDGE_VLAN_FILTERING".to_string(),
        ),
        KernelFeature::Tcx => {
            let release = kernel_release().unwrap_or_default();
            lang.pick(
                format!("TCX needs Linux 6.6 or later (this kernel is {release}): a newer kernel, or the lab's legacy tc mode"),
                format!("TCX demande Linux 6.6 ou plus récent (ce noyau est {release}) : un noyau plus récent, ou le mode tc classique du TP"),
            )
        }
        KernelFeature::BpfLsm => lang.pick(
            "the BPF LSM is not active: add `bpf` to the kernel's `lsm=` boot parameter (kernel built with CONFIG_BPF_LSM=y) and reboot".to_string(),
            "le LSM BPF n’est pas actif : ajoutez `bpf` au paramètre de démarrage `lsm=` du noyau (noyau compilé avec CONFIG_BPF_LSM=y) et redémarrez".to_string(),
        ),
    }
}

fn kernel_release() -> Option<String> {
    Some(
        nix::sys::utsname::uname()
            .ok()?
            .release()
            .to_string_lossy()
            .into_owned(),
    )
}

/// `6.8.0-45-generic` → (6, 8).
fn version_of(release: &str) -> Option<(u32, u32)> {
    let mut parts = release.split(|c: char| !c.is_ascii_digit());
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

/// Whether the active LSM list (`/sys/kernel/security/lsm`'s text) holds the BPF LSM.
fn lsm_has_bpf(list: &str) -> bool {
    list.trim().split(',').any(|l| l == "bpf")
}

/// The link a probe creates for `feature`, as `ip link` arguments (after a veth base
/// `b0`/`b1` for a VLAN).
fn probe_link(ns: &ProbeNetns, feature: KernelFeature) -> Option<bool> {
    match feature {
        KernelFeature::Vlan => {
            // A VLAN needs a real device under it (not `lo`): a veth, or a bridge.
            let base = ns.ip(&["link", "add", "b0", "type", "veth", "peer", "name", "b1"])?
                || ns.ip(&["link", "add", "b0", "type", "bridge"])?;
            if !base {
                return Some(false);
            }
            ns.ip(&[
                "link", "add", "link", "b0", "name", "v10", "type", "vlan", "id", "10",
            ])
        }
        KernelFeature::Bridge => ns.ip(&["link", "add", "br0", "type", "bridge"]),
        KernelFeature::BridgeVlanFiltering => {
            if !ns.ip(&[
                "link",
                "add",
                "br0",
                "type",
                "bridge",
                "vlan_filtering",
                "1",
            ])? {
                return Some(false);
            }
            // A kernel without CONFIG_BRIDGE_VLAN_FILTERING ignores the flag: read it back.
            let link = ns.link_json("br0")?;
            let on = link
                .pointer("/0/linkinfo/info_data/vlan_filtering")
                .and_then(serde_json::Value::as_u64);
            Some(on == Some(1))
        }
        KernelFeature::Vxlan => ns.ip(&[
            "link",
            "add",
            "vx0",
            "type",
            "vxlan",
            "id",
            "42",
            "dstport",
            "4789",
            "local",
            "127.0.0.1",
        ]),
        KernelFeature::Veth => ns.ip(&["link", "add", "p0", "type", "veth", "peer", "name", "p1"]),
        KernelFeature::Tcx | KernelFeature::BpfLsm => None,
    }
}

/// Whether `feature` is there, with `module_available` telling a module's presence
/// (loaded, built in or installed; `None`: cannot tell) for the unprivileged fallback.
pub fn presence(
    feature: KernelFeature,
    lang: Lang,
    module_available: &dyn Fn(&str) -> Option<bool>,
) -> Presence {
    match feature {
        KernelFeature::Tcx => match kernel_release().as_deref().and_then(version_of) {
            Some(v) if v >= (6, 6) => Presence::Available,
            Some(_) => Presence::Missing(advice(feature, lang)),
            None => Presence::Unknown(lang.pick(
                "the kernel version cannot be read".to_string(),
                "la version du noyau est illisible".to_string(),
            )),
        },
        KernelFeature::BpfLsm => match std::fs::read_to_string("/sys/kernel/security/lsm") {
            Ok(list) if lsm_has_bpf(&list) => Presence::Available,
            Ok(_) => Presence::Missing(advice(feature, lang)),
            Err(_) => Presence::Unknown(
                lang.pick(
                    "/sys/kernel/security/lsm cannot be read (securityfs not mounted, or not root)"
                        .to_string(),
                    "/sys/kernel/security/lsm est illisible (securityfs non monté, ou pas root)"
                        .to_string(),
                ),
            ),
        },
        _ => link_presence(feature, lang, module_available),
    }
}

fn link_presence(
    feature: KernelFeature,
    lang: Lang,
    module_available: &dyn Fn(&str) -> Option<bool>,
) -> Presence {
    let probed = tplab_netns::have_privileges()
        .then(|| ProbeNetns::create(feature))
        .flatten()
        .and_then(|ns| probe_link(&ns, feature));
    match probed {
        Some(true) => Presence::Available,
        Some(false) => Presence::Missing(advice(feature, lang)),
        // Not root (or no `ip`): the module's presence is all that can be told; VLAN
        // filtering is a build option no module list shows.
        None => match (feature, module_of(feature).and_then(module_available)) {
            (KernelFeature::BridgeVlanFiltering, _) | (_, None) => Presence::Unknown(lang.pick(
                "probing needs root and `ip` (a throwaway network namespace)".to_string(),
                "le test demande root et `ip` (un espace de noms réseau jetable)".to_string(),
            )),
            (_, Some(true)) => Presence::Available,
            (_, Some(false)) => Presence::Missing(advice(feature, lang)),
        },
    }
}

/// Kernel release parsing and the LSM list, tested without a kernel.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_and_lsm_lists() {
        assert_eq!(version_of("6.8.0-45-generic"), Some((6, 8)));
        assert_eq!(
            version_of("5.15.153.1-microsoft-standard-WSL2"),
            Some((5, 15))
        );
        assert_eq!(version_of("garbage"), None);
        assert!(lsm_has_bpf(
            "lockdown,capability,landlock,yama,apparmor,bpf\n"
        ));
        assert!(!lsm_has_bpf("lockdown,capability,bpfx"));
    }

    #[test]
    fn advice_is_bilingual_and_says_what_to_do() {
        let en = advice(KernelFeature::Vlan, Lang::En);
        let fr = advice(KernelFeature::Vlan, Lang::Fr);
        assert!(en.contains("sudo modprobe 8021q"), "{en}");
        assert!(
            fr.contains("sudo modprobe 8021q") && fr.contains("impossible"),
            "{fr}"
        );
    }

    #[test]
    fn without_a_probe_the_module_decides() {
        // Run unprivileged or privileged, TCX and the fallback give an answer, never a panic.
        let p = presence(KernelFeature::Tcx, Lang::En, &|_| None);
        assert!(matches!(
            p,
            Presence::Available | Presence::Missing(_) | Presence::Unknown(_)
        ));
        if !tplab_netns::have_privileges() {
            assert_eq!(
                presence(KernelFeature::Vxlan, Lang::En, &|_| Some(true)),
                Presence::Available
            );
        }
    }
}
