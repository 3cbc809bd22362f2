//! Byte layout of Cilium 1.16's CT map (`ipv4_ct_tuple` key, `ct_entry` value), mirroring
//! `ebpf/bpf/ct.h`; sizes are asserted below and checked against a pinned map's own.

/// `ipv4_ct_tuple`, 14 bytes, packed. Cilium stores the addresses of the REPLY direction:
/// `daddr` is the address that opened the flow, `saddr` its peer; ports keep the original
/// direction (`sport` the opener's port).
#[repr(C, packed)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RawCtKey {
    pub daddr: [u8; 4],
    pub saddr: [u8; 4],
    /// Network byte order, as on the wire.
    pub dport: [u8; 2],
    pub sport: [u8; 2],
    pub nexthdr: u8,
    pub flags: u8,
}

/// `ct_entry`, 56 bytes (one packets/bytes pair for both directions since 1.16).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RawCtValue {
    pub reserved0: u64,
    pub backend_id: u64,
    pub packets: u64,
    pub bytes: u64,
    pub lifetime: u32,
    pub flags: u16,
    pub rev_nat_index: u16,
    pub ifindex: u16,
    pub tx_flags_seen: u8,
    pub rx_flags_seen: u8,
    pub src_sec_id: u32,
    pub last_tx_report: u32,
    pub last_rx_report: u32,
}

// SAFETY: plain `repr(C)` integers and byte arrays without implicit padding: any bit
// pattern is valid.
unsafe impl aya::Pod for RawCtKey {}
// SAFETY: as above (the u64 alignment leaves no hole: 56 is a multiple of 8).
unsafe impl aya::Pod for RawCtValue {}

pub const KEY_SIZE: usize = std::mem::size_of::<RawCtKey>();
pub const VALUE_SIZE: usize = std::mem::size_of::<RawCtValue>();
const _: () = assert!(KEY_SIZE == 14);
const _: () = assert!(VALUE_SIZE == 56);

pub const TUPLE_F_IN: u8 = 1;
pub const TUPLE_F_RELATED: u8 = 2;
pub const TUPLE_F_SERVICE: u8 = 4;
