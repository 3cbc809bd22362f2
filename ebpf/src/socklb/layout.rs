//! The LB maps' keys and values, byte for byte as `ebpf/bpf/lb.h` (Cilium 1.16's layout).

/// `struct lb4_key`: a frontend (`backend_slot` 0) or one of its backend slots.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Lb4Key {
    /// Network order, as read from the socket address.
    pub address: [u8; 4],
    pub dport: [u8; 2],
    pub backend_slot: u16,
    /// 0: any protocol (Cilium 1.16 writes 0).
    pub proto: u8,
    pub scope: u8,
    pub pad: [u8; 2],
}

/// `struct lb4_service`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Lb4Service {
    pub backend_id: u32,
    pub count: u16,
    pub rev_nat_index: u16,
    pub flags: u8,
    pub flags2: u8,
    pub pad: [u8; 2],
}

/// `struct lb4_backend`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Lb4Backend {
    pub address: [u8; 4],
    pub port: [u8; 2],
    pub proto: u8,
    pub flags: u8,
    pub cluster_id: u16,
    pub zone: u8,
    pub pad: u8,
}

// SAFETY: plain `repr(C)` integers and byte arrays laid out without implicit padding
// (12 bytes each, checked below): any bit pattern is valid.
unsafe impl aya::Pod for Lb4Key {}
// SAFETY: as above.
unsafe impl aya::Pod for Lb4Service {}
// SAFETY: as above.
unsafe impl aya::Pod for Lb4Backend {}

const _: () = assert!(std::mem::size_of::<Lb4Key>() == 12);
const _: () = assert!(std::mem::size_of::<Lb4Service>() == 12);
const _: () = assert!(std::mem::size_of::<Lb4Backend>() == 12);

/// Cilium's `SVC_FLAG_*` bits this sandbox writes (none for a plain `ClusterIP`).
pub const SVC_FLAG_NONE: u8 = 0;
