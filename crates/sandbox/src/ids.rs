//! Sandbox ids, netns names and random hex (Cilium-like `lxc` names, MAC addresses).

use std::io::Read;

/// Every netns of every sandbox starts with this; `down_all` sweeps it.
pub const NETNS_PREFIX: &str = "tplab-";

/// Random bytes from the kernel (no extra dependency; failure falls back to time+pid).
pub(crate) fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    let ok = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .is_ok();
    if !ok {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
            ^ u128::from(std::process::id());
        for (i, b) in buf.iter_mut().enumerate() {
            *b = seed.to_le_bytes()[i % 16];
        }
    }
    buf
}

pub(crate) fn random_hex(len: usize) -> String {
    let bytes = random_bytes::<16>();
    let mut s = String::with_capacity(32);
    for b in bytes {
        use std::fmt::Write;
        let _ = write!(s, "{b:02x}");
    }
    s.truncate(len);
    s
}

/// A fresh sandbox id: 6 hex digits.
pub(crate) fn new_id() -> String {
    random_hex(6)
}

/// Ids become netns names and file names: lowercase alphanumerics only.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 12
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
}

/// `tplab-<id>-<suffix>`.
pub fn netns_name(id: &str, suffix: &str) -> String {
    format!("{NETNS_PREFIX}{id}-{suffix}")
}

/// The sandbox id a `tplab-<id>-<suffix>` netns belongs to.
pub fn id_of_netns(name: &str) -> Option<&str> {
    let rest = name.strip_prefix(NETNS_PREFIX)?;
    let (id, suffix) = rest.split_once('-')?;
    (valid_id(id) && !suffix.is_empty()).then_some(id)
}

/// Cilium names a pod's host-side veth `lxc` + 12 hex digits.
pub(crate) fn lxc_name() -> String {
    format!("lxc{}", random_hex(12))
}

/// A random unicast, locally administered MAC (set at creation so no read-back is needed).
pub(crate) fn random_mac() -> [u8; 6] {
    let mut mac = random_bytes::<6>();
    mac[0] = (mac[0] & 0xfe) | 0x02;
    mac
}

pub(crate) fn mac_text(mac: &[u8]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_names() {
        let id = new_id();
        assert!(valid_id(&id));
        assert_eq!(id_of_netns(&netns_name(&id, "pod")), Some(id.as_str()));
        assert_eq!(id_of_netns("tplab-UP-pod"), None);
        assert_eq!(id_of_netns("other-abc-pod"), None);
        let lxc = lxc_name();
        assert_eq!(lxc.len(), 15);
        let mac = random_mac();
        assert_eq!(mac[0] & 0x03, 0x02);
        assert_eq!(mac_text(&[0xf6, 0x93, 0, 1, 2, 3]), "f6:93:00:01:02:03");
    }
}
