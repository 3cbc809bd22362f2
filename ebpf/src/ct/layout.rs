//! Which Cilium versions' CT layout tplab reads. A version tplab does not know is an
//! error naming it (a checker error, never a student's failure): misreading Cilium's
//! bytes would turn its entries into nonsense.

use std::path::Path;

use crate::error::EbpfError;

use super::raw::{KEY_SIZE, VALUE_SIZE};

/// A CT map layout tplab knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CtLayout {
    /// Cilium 1.16 (`ct_entry` with one packets/bytes pair): what the sandbox writes.
    Cilium116,
}

/// Cilium minor versions whose CT layout is [`CtLayout::Cilium116`].
const V1_16_MINORS: [u32; 1] = [16];

impl CtLayout {
    /// The layout of the sandbox's own datapath.
    pub const SANDBOX: CtLayout = CtLayout::Cilium116;

    /// The layout of Cilium `version` (`1.16.3`, `v1.16.0-rc.1`), or an error naming it.
    pub fn for_cilium_version(version: &str) -> Result<Self, EbpfError> {
        let v = version.trim().trim_start_matches('v');
        let mut parts = v.split(['.', '-']);
        let major = parts.next().and_then(|p| p.parse::<u32>().ok());
        let minor = parts.next().and_then(|p| p.parse::<u32>().ok());
        match (major, minor) {
            (Some(1), Some(m)) if V1_16_MINORS.contains(&m) => Ok(CtLayout::Cilium116),
            _ => Err(EbpfError::UnknownCiliumVersion {
                version: version.to_string(),
                known: Self::known(),
            }),
        }
    }

    /// The versions tplab reads, for messages.
    pub fn known() -> String {
        "1.16".into()
    }

    pub fn name(self) -> &'static str {
        match self {
            CtLayout::Cilium116 => "Cilium 1.16",
        }
    }

    /// Refuses a map whose sizes are not this layout's.
    pub(crate) fn check(self, path: &Path, key: u32, value: u32) -> Result<(), EbpfError> {
        let (want_key, want_value) = match self {
            CtLayout::Cilium116 => (KEY_SIZE, VALUE_SIZE),
        };
        if key as usize == want_key && value as usize == want_value {
            return Ok(());
        }
        Err(EbpfError::CtLayout {
            path: path.to_path_buf(),
            key,
            value,
            layout: self.name(),
            want_key,
            want_value,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(
            CtLayout::for_cilium_version("1.16.3").ok(),
            Some(CtLayout::Cilium116)
        );
        assert_eq!(
            CtLayout::for_cilium_version("v1.16.0-rc.1").ok(),
            Some(CtLayout::Cilium116)
        );
        let err = CtLayout::for_cilium_version("1.15.7")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("Cilium 1.15.7") && err.contains("1.16"),
            "{err}"
        );
        assert!(CtLayout::for_cilium_version("garbage").is_err());
    }

    #[test]
    fn sizes_are_checked() {
        let l = CtLayout::Cilium116;
        assert!(l.check(Path::new("/x"), 14, 56).is_ok());
        let err = l.check(Path::new("/x"), 14, 64).unwrap_err().to_string();
        assert!(err.contains("64") && err.contains("Cilium 1.16"), "{err}");
    }
}
