/* Observer event layout, mirrored by ebpf/src/observer/event.rs (RawEvent).
 * No netns id here: bpf_get_netns_cookie(skb) in tc follows skb->sk (init_net when the
 * skb has no socket), so each observation point loads its own instance with its id. */
#pragma once
#include <linux/types.h>

#define OBS_DIR_INGRESS 0
#define OBS_DIR_EGRESS 1

struct pkt_event {
	__u64 ts_ns;        /* bpf_ktime_get_ns (CLOCK_MONOTONIC) */
	__u32 point_id;     /* which observation point (set per loaded instance) */
	__u32 ifindex;
	__u32 skb_len;      /* bytes on the wire at tc, L2 header included */
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__u16 ip_len;
	__u16 icmp_id;
	__u8 proto;
	__u8 dir;
	__u8 tcp_flags;
	__u8 icmp_type;
	__u8 icmp_code;
	__u8 pad[7];
};
