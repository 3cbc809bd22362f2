/* CT map layout, mirrored by ebpf/src/ct/raw.rs. Shaped like Cilium's ipv4_ct_tuple and
 * ct_entry so `cilium bpf ct list global` can be answered from real state. */
#pragma once
#include <linux/types.h>

#define TUPLE_F_OUT 0
#define TUPLE_F_IN 1
#define TUPLE_F_RELATED 2

/* Entry flags, same bits as Cilium (the seed prints Flags=0x0013 for these three). */
#define CT_F_RX_CLOSING 0x01
#define CT_F_TX_CLOSING 0x02
#define CT_F_SEEN_NON_SYN 0x10

struct ct_key {
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__u8 nexthdr;
	__u8 flags;
	__u16 pad;
};

struct ct_value {
	__u64 rx_packets;
	__u64 rx_bytes;
	__u64 tx_packets;
	__u64 tx_bytes;
	__u32 lifetime; /* absolute expiry, seconds of CLOCK_MONOTONIC (like Cilium) */
	__u16 flags;
	__u16 rev_nat_index;
	__u8 tx_flags_seen;
	__u8 rx_flags_seen;
	__u16 pad;
	__u32 src_sec_id;
	__u32 last_tx_report;
	__u32 last_rx_report;
	__u32 ifindex;
	__u32 pad2;
};
