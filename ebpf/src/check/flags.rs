//! TCP flags a `packets` hop requires (`flags: [syn, ack]`) or refuses (`not_flags:
//! [rst]`): "the web server answered" is a SYN/ACK, and a RST is no answer.

use std::fmt;

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize, Serializer};

/// Flag names in the order of their bits in the TCP header's flags byte.
const NAMES: [(&str, u8); 8] = [
    ("fin", 0x01),
    ("syn", 0x02),
    ("rst", 0x04),
    ("psh", 0x08),
    ("ack", 0x10),
    ("urg", 0x20),
    ("ece", 0x40),
    ("cwr", 0x80),
];

/// A set of TCP flags, as the observer's event carries them (one byte).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    /// Every flag of `self` is set in `byte`.
    pub fn all_in(self, byte: u8) -> bool {
        byte & self.0 == self.0
    }

    /// No flag of `self` is set in `byte`.
    pub fn none_in(self, byte: u8) -> bool {
        byte & self.0 == 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    fn parse(name: &str) -> Result<u8, String> {
        let lower = name.trim().to_ascii_lowercase();
        NAMES
            .iter()
            .find(|(n, _)| *n == lower)
            .map(|(_, bit)| *bit)
            .ok_or_else(|| {
                let names: Vec<&str> = NAMES.iter().map(|(n, _)| *n).collect();
                format!(
                    "unknown TCP flag `{name}`: expected some of {}",
                    names.join(", ")
                )
            })
    }
}

/// `SYN,ACK`: how `tcpdump` and `tplab trace` spell a flags byte.
impl fmt::Display for TcpFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<String> = NAMES
            .iter()
            .filter(|(_, bit)| self.0 & bit != 0)
            .map(|(n, _)| n.to_ascii_uppercase())
            .collect();
        f.write_str(&names.join(","))
    }
}

impl Serialize for TcpFlags {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let names: Vec<&str> = NAMES
            .iter()
            .filter(|(_, bit)| self.0 & bit != 0)
            .map(|(n, _)| *n)
            .collect();
        names.serialize(s)
    }
}

/// A list of names (`[syn, ack]`) or one name (`rst`).
impl<'de> Deserialize<'de> for TcpFlags {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> de::Visitor<'de> for V {
            type Value = TcpFlags;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a TCP flag or a list of them, e.g. `[syn, ack]`")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<TcpFlags, E> {
                TcpFlags::parse(s).map(TcpFlags).map_err(E::custom)
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<TcpFlags, A::Error> {
                let mut bits = 0;
                while let Some(name) = seq.next_element::<String>()? {
                    bits |= TcpFlags::parse(&name).map_err(de::Error::custom)?;
                }
                Ok(TcpFlags(bits))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::TcpFlags;

    #[test]
    fn names_bits_and_matching() {
        let synack: TcpFlags = serde_json::from_str(r#"["syn", "ACK"]"#).unwrap();
        assert_eq!(synack, TcpFlags(0x12));
        assert_eq!(synack.to_string(), "SYN,ACK");
        assert!(synack.all_in(0x12) && synack.all_in(0x1a) && !synack.all_in(0x02));
        let rst: TcpFlags = serde_json::from_str(r#""rst""#).unwrap();
        assert!(rst.none_in(0x12) && !rst.none_in(0x14));
        let err = serde_json::from_str::<TcpFlags>(r#"["syn", "synack"]"#).unwrap_err();
        assert!(
            err.to_string().contains("unknown TCP flag `synack`"),
            "{err}"
        );
        assert_eq!(serde_json::to_string(&synack).unwrap(), r#"["syn","ack"]"#);
    }
}
