/* Service load-balancing maps in the layout of Cilium 1.16's (bpf/lib/common.h: lb4_key,
 * lb4_service, lb4_backend; bpf/lib/lb.h: ipv4_revnat_tuple/entry), mirrored by
 * ebpf/src/socklb/layout.rs. Written from the layout, not copied. */
#pragma once
#include <linux/types.h>

/* cilium_lb4_services_v2 key: slot 0 is the Service itself (`count` backends), slots
 * 1..count name one backend each. `proto` 0 (any), as Cilium 1.16 writes it. */
struct lb4_key {
	__be32 address;
	__be16 dport;
	__u16 backend_slot;
	__u8 proto;
	__u8 scope;
	__u8 pad[2];
};

struct lb4_service {
	__u32 backend_id; /* slot > 0: the backend; slot 0: unused here */
	__u16 count;
	__u16 rev_nat_index; /* the Service's id (`cilium service list` ID column) */
	__u8 flags;
	__u8 flags2;
	__u8 pad[2];
};

/* cilium_lb4_backends_v3 value, keyed by backend id (__u32). */
struct lb4_backend {
	__be32 address;
	__be16 port;
	__u8 proto;
	__u8 flags;
	__u16 cluster_id;
	__u8 zone;
	__u8 pad;
};

/* cilium_lb4_reverse_sk: what a socket was really connected to, so getpeername() and
 * recvmsg() show the Service address instead of the backend's. */
struct ipv4_revnat_tuple {
	__u64 cookie;
	__be32 address;
	__be16 port;
	__u16 pad;
};

struct ipv4_revnat_entry {
	__be32 address;
	__be16 port;
	__u16 rev_nat_index;
};
