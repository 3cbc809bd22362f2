//! Byte layout of the CT map, mirroring `ebpf/bpf/ct.h` (sizes are asserted below).

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RawCtKey {
    pub saddr: [u8; 4],
    pub daddr: [u8; 4],
    /// Network byte order, as on the wire.
    pub sport: [u8; 2],
    pub dport: [u8; 2],
    pub nexthdr: u8,
    pub flags: u8,
    pub pad: u16,
}

#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RawCtValue {
    pub rx_packets: u64,
    pub rx_bytes: u64,
    pub tx_packets: u64,
    pub tx_bytes: u64,
    pub lifetime: u32,
    pub flags: u16,
    pub rev_nat_index: u16,
    pub tx_flags_seen: u8,
    pub rx_flags_seen: u8,
    pub pad: u16,
    pub src_sec_id: u32,
    pub last_tx_report: u32,
    pub last_rx_report: u32,
    pub ifindex: u32,
    pub pad2: u32,
}

// SAFETY: plain `repr(C)` integers with explicit padding fields: any bit pattern is valid.
unsafe impl aya::Pod for RawCtKey {}
// SAFETY: as above.
unsafe impl aya::Pod for RawCtValue {}

const _: () = assert!(std::mem::size_of::<RawCtKey>() == 16);
const _: () = assert!(std::mem::size_of::<RawCtValue>() == 64);

pub const TUPLE_F_IN: u8 = 1;
pub const TUPLE_F_RELATED: u8 = 2;
