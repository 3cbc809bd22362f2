/* CT map layout of Cilium 1.16 (bpf/lib/common.h: ipv4_ct_tuple, ct_entry), mirrored by
 * ebpf/src/ct/raw.rs, so one reader serves the sandbox and a real 1.16 agent's
 * cilium_ct4_global / cilium_ct_any4_global. Written from the layout, not copied. */
#pragma once
#include <linux/types.h>

#define TUPLE_F_OUT 0
#define TUPLE_F_IN 1
#define TUPLE_F_RELATED 2
#define TUPLE_F_SERVICE 4

/* Entry flag bits, as Cilium's ct_entry bitfield (the seed prints Flags=0x0013 for the
 * first three together). */
#define CT_F_RX_CLOSING 0x01
#define CT_F_TX_CLOSING 0x02
#define CT_F_SEEN_NON_SYN 0x10

/* Cilium's tuple: the address fields hold the *reply* direction (`daddr` is the address
 * that opened the flow), the port fields the original one. 14 bytes, packed. */
struct ipv4_ct_tuple {
	__be32 daddr;
	__be32 saddr;
	__be16 dport;
	__be16 sport;
	__u8 nexthdr;
	__u8 flags;
} __attribute__((packed));

/* 56 bytes. Since 1.16 one packets/bytes pair counts both directions. */
struct ct_entry {
	__u64 reserved0;
	__u64 backend_id;
	__u64 packets;
	__u64 bytes;
	__u32 lifetime; /* absolute expiry, seconds of CLOCK_MONOTONIC (bpf_mono_now) */
	__u16 flags;    /* Cilium's rx_closing:1, tx_closing:1, ... bitfield */
	__u16 rev_nat_index;
	__u16 ifindex;
	__u8 tx_flags_seen;
	__u8 rx_flags_seen;
	__u32 src_sec_id;
	__u32 last_tx_report;
	__u32 last_rx_report;
};
