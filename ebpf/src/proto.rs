//! IP protocol numbers as tplab names them (lowercase in queries, upper case in Cilium output).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    Icmp,
    Tcp,
    Udp,
    #[serde(untagged)]
    Other(u8),
}

impl Proto {
    pub fn from_number(n: u8) -> Self {
        match n {
            1 => Proto::Icmp,
            6 => Proto::Tcp,
            17 => Proto::Udp,
            n => Proto::Other(n),
        }
    }

    pub fn number(self) -> u8 {
        match self {
            Proto::Icmp => 1,
            Proto::Tcp => 6,
            Proto::Udp => 17,
            Proto::Other(n) => n,
        }
    }

    /// Name as Cilium prints it in `bpf ct list` (`TCP`, `ICMP`...).
    pub fn cilium_name(self) -> String {
        match self {
            Proto::Icmp => "ICMP".into(),
            Proto::Tcp => "TCP".into(),
            Proto::Udp => "UDP".into(),
            Proto::Other(n) => format!("PROTO{n}"),
        }
    }
}

impl std::fmt::Display for Proto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Proto::Icmp => f.write_str("icmp"),
            Proto::Tcp => f.write_str("tcp"),
            Proto::Udp => f.write_str("udp"),
            Proto::Other(n) => write!(f, "proto {n}"),
        }
    }
}
