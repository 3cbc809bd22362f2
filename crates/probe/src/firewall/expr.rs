//! `nf_tables` rule expressions (`NFTA_RULE_EXPRESSIONS`) parsed into a typed list.
//! Attribute numbers are those of `linux/netfilter/nf_tables.h`. Every read is bounds
//! checked: a malformed expression becomes [`Expr::Malformed`], never a panic.

use crate::ctparse::attrs;

/// A register number as the kernel normalises it: 32-bit slots, the verdict in slot 0.
pub type Slot = u32;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    /// `payload load`: `len` bytes at `offset` of header `base` into `dreg`.
    Payload {
        dreg: Slot,
        base: u32,
        offset: u32,
        len: u32,
    },
    /// `meta load KEY => dreg`.
    Meta {
        dreg: Slot,
        key: u32,
    },
    /// `ct load KEY => dreg` (`ct state`, `ct mark`...): described, not decoded.
    Ct {
        dreg: Slot,
        key: u32,
    },
    /// `meta set KEY <- sreg` (e.g. `meta mark set`).
    MetaSet {
        sreg: Slot,
        key: u32,
    },
    Cmp {
        sreg: Slot,
        op: u32,
        data: Vec<u8>,
    },
    /// `dreg = (sreg & mask) ^ xor`; shifts and other ops are `shift: true`.
    Bitwise {
        sreg: Slot,
        dreg: Slot,
        mask: Vec<u8>,
        xor: Vec<u8>,
        shift: bool,
    },
    Range {
        sreg: Slot,
        op: u32,
        from: Vec<u8>,
        to: Vec<u8>,
    },
    Counter {
        packets: u64,
        bytes: u64,
    },
    Verdict {
        code: i32,
        chain: Option<String>,
    },
    /// `immediate` of plain data into a register (NAT addresses and ports).
    Immediate {
        dreg: Slot,
        data: Vec<u8>,
    },
    Lookup {
        sreg: Slot,
        set: String,
        inverted: bool,
    },
    Match {
        name: String,
        rev: u32,
        info: Vec<u8>,
    },
    Target {
        name: String,
        rev: u32,
        info: Vec<u8>,
    },
    /// Native `snat` / `dnat`.
    Nat {
        dnat: bool,
        family: u32,
        addr: Option<(Slot, Slot)>,
        port: Option<(Slot, Slot)>,
        flags: u32,
    },
    /// Native `masquerade` (`redirect: false`) or `redirect`.
    Masq {
        redirect: bool,
        port: Option<(Slot, Slot)>,
        flags: u32,
    },
    Reject {
        kind: u32,
        code: u8,
    },
    Log {
        prefix: Option<String>,
    },
    /// An expression of a kind not decoded (`ct`, `limit`, `notrack`, ...).
    Other(String),
    /// A known kind whose attributes were missing or malformed.
    Malformed(String),
}

/// Parses `NFTA_RULE_EXPRESSIONS` (a list of `NFTA_LIST_ELEM`).
pub fn list(buf: &[u8]) -> Vec<Expr> {
    attrs(buf)
        .filter(|(k, _)| *k == 1)
        .map(|(_, e)| one(e))
        .collect()
}

fn one(e: &[u8]) -> Expr {
    let name = get(e, 1).map(cstr).unwrap_or_default();
    let data = get(e, 2).unwrap_or_default();
    parse(&name, data).unwrap_or(Expr::Malformed(name))
}

fn parse(name: &str, d: &[u8]) -> Option<Expr> {
    Some(match name {
        "payload" if get(d, 5).is_some() => Expr::Other("payload write".into()),
        "payload" => Expr::Payload {
            dreg: reg(d, 1)?,
            base: be32(get(d, 2)?)?,
            offset: be32(get(d, 3)?)?,
            len: be32(get(d, 4)?)?,
        },
        "meta" => match reg(d, 1) {
            Some(dreg) => Expr::Meta {
                dreg,
                key: be32(get(d, 2)?)?,
            },
            None => Expr::MetaSet {
                sreg: reg(d, 3)?,
                key: be32(get(d, 2)?)?,
            },
        },
        "ct" => match reg(d, 1) {
            Some(dreg) => Expr::Ct {
                dreg,
                key: be32(get(d, 2)?)?,
            },
            None => Expr::Other("ct set".into()),
        },
        "cmp" => Expr::Cmp {
            sreg: reg(d, 1)?,
            op: be32(get(d, 2)?)?,
            data: value(get(d, 3)?)?,
        },
        "bitwise" => Expr::Bitwise {
            sreg: reg(d, 1)?,
            dreg: reg(d, 2)?,
            mask: get(d, 4).and_then(value).unwrap_or_default(),
            xor: get(d, 5).and_then(value).unwrap_or_default(),
            // NFTA_BITWISE_OP: 0 is the mask-and-xor form, the rest shift.
            shift: get(d, 6).and_then(be32).is_some_and(|op| op != 0),
        },
        "range" => Expr::Range {
            sreg: reg(d, 1)?,
            op: be32(get(d, 2)?)?,
            from: value(get(d, 3)?)?,
            to: value(get(d, 4)?)?,
        },
        "counter" => Expr::Counter {
            bytes: be64(get(d, 1)?)?,
            packets: be64(get(d, 2)?)?,
        },
        "immediate" => immediate(d)?,
        "lookup" => Expr::Lookup {
            sreg: reg(d, 2)?,
            set: get(d, 1).map(cstr).unwrap_or_default(),
            inverted: get(d, 5).and_then(be32).is_some_and(|f| f & 1 != 0),
        },
        "match" | "target" => {
            let (n, rev, info) = (cstr(get(d, 1)?), be32(get(d, 2)?)?, get(d, 3)?.to_vec());
            if name == "match" {
                Expr::Match { name: n, rev, info }
            } else {
                Expr::Target { name: n, rev, info }
            }
        }
        "nat" => Expr::Nat {
            dnat: be32(get(d, 1)?)? == 1,
            family: be32(get(d, 2)?)?,
            addr: pair(d, 3, 4),
            port: pair(d, 5, 6),
            flags: get(d, 7).and_then(be32).unwrap_or(0),
        },
        "masq" => Expr::Masq {
            redirect: false,
            port: pair(d, 2, 3),
            flags: get(d, 1).and_then(be32).unwrap_or(0),
        },
        "redir" => Expr::Masq {
            redirect: true,
            port: pair(d, 1, 2),
            flags: get(d, 3).and_then(be32).unwrap_or(0),
        },
        "reject" => Expr::Reject {
            kind: be32(get(d, 1)?)?,
            code: get(d, 2).and_then(|c| c.first().copied()).unwrap_or(0),
        },
        "log" => Expr::Log {
            prefix: get(d, 2).map(cstr),
        },
        other => Expr::Other(other.to_string()),
    })
}

fn immediate(d: &[u8]) -> Option<Expr> {
    let dreg = reg(d, 1)?;
    let data = get(d, 2)?;
    if let Some(v) = get(data, 2) {
        // NFTA_DATA_VERDICT: code (signed, big-endian) and chain for jump/goto.
        let code = i32::from_be_bytes(get(v, 1)?.get(..4)?.try_into().ok()?);
        return Some(Expr::Verdict {
            code,
            chain: get(v, 2).map(cstr),
        });
    }
    Some(Expr::Immediate {
        dreg,
        data: value(data)?,
    })
}

/// A register attribute normalised to its 32-bit slot (`nft_parse_register`):
/// `NFT_REG_1..4` are 16 bytes wide and alias `NFT_REG32_00..` (slot 4 onwards).
fn reg(d: &[u8], kind: u16) -> Option<Slot> {
    match be32(get(d, kind)?)? {
        r @ 0..=4 => Some(r * 4),
        r @ 8..=23 => Some(r - 4),
        _ => None,
    }
}

fn pair(d: &[u8], min: u16, max: u16) -> Option<(Slot, Slot)> {
    let lo = reg(d, min)?;
    Some((lo, reg(d, max).unwrap_or(lo)))
}

/// The bytes of an `NFTA_DATA_VALUE` inside an `nft_data` attribute.
fn value(p: &[u8]) -> Option<Vec<u8>> {
    get(p, 1).map(<[u8]>::to_vec)
}

pub fn get(b: &[u8], kind: u16) -> Option<&[u8]> {
    attrs(b).find(|(k, _)| *k == kind).map(|(_, p)| p)
}

pub fn be32(p: &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(p.get(..4)?.try_into().ok()?))
}

pub fn be64(p: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(p.get(..8)?.try_into().ok()?))
}

/// A NUL-terminated (or NUL-padded) string; lossy on bad UTF-8.
pub fn cstr(p: &[u8]) -> String {
    let end = p.iter().position(|c| *c == 0).unwrap_or(p.len());
    String::from_utf8_lossy(&p[..end]).into_owned()
}
