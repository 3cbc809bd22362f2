//! What each `nf_tables` register holds while a rule's expressions are replayed: a load
//! names *what* a later `cmp` compares (source address, l4 protocol, interface name...),
//! and an `immediate` gives a later `nat` its address and ports.

use super::expr::Slot;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Val {
    Payload {
        base: u32,
        offset: u32,
        len: u32,
    },
    Meta(u32),
    /// A load masked by `bitwise` (prefixes that are not byte aligned, mark masks).
    Masked(Box<Val>, Vec<u8>),
    Imm(Vec<u8>),
    /// Something we do not follow (a shift, a lookup result...), described.
    Opaque(String),
}

/// Register contents, keyed by first 32-bit slot and width in slots.
#[derive(Debug, Default)]
pub struct Regs {
    held: Vec<(Slot, u32, Val)>,
}

impl Regs {
    /// Writes `len` bytes at `slot`, forgetting whatever the write overlaps.
    pub fn set(&mut self, slot: Slot, len: usize, v: Val) {
        let width = u32::try_from(len.div_ceil(4).max(1)).unwrap_or(u32::MAX);
        let end = slot.saturating_add(width);
        self.held
            .retain(|(s, w, _)| s.saturating_add(*w) <= slot || *s >= end);
        self.held.push((slot, width, v));
    }

    pub fn get(&self, slot: Slot) -> Option<&Val> {
        self.held
            .iter()
            .find(|(s, _, _)| *s == slot)
            .map(|(_, _, v)| v)
    }
}
