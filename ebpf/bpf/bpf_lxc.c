// SPDX-License-Identifier: GPL-2.0
/* tplab's sandbox datapath, named like Cilium 1.16's bpf_lxc.o: a conntrack table fed
 * from the pod's lxc veth. cil_from_container runs on lxc ingress (packets leaving the
 * pod), cil_to_container on lxc egress (packets towards the pod). Both only observe:
 * traffic always passes unchanged (TC_ACT_OK). NAT stays in iptables.
 * TCP flows go to cilium_ct4_global, the others to cilium_ct_any4_global, keyed and
 * valued as Cilium 1.16 does (ct.h). */
#include "parse.h"
#include "ct.h"

#define TC_ACT_OK 0

#define CT_LIFETIME_SYN 60
#define CT_LIFETIME_TCP 21600
#define CT_LIFETIME_CLOSE 10
#define CT_LIFETIME_NONTCP 60

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04

#define ICMP_ECHOREPLY_T 0
#define ICMP_ECHO_T 8

/* Overridden by the loader with the sandbox pod's identity. */
volatile const __u32 tplab_security_id = 42837;

/* LRU like Cilium's. The loader sets a sandbox's capacities (ebpf/src/datapath.rs,
 * CT_TCP_MAX / CT_ANY_MAX: LRU maps are preallocated, and many sandboxes share a machine);
 * these are what a load without that override gets. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct ipv4_ct_tuple);
	__type(value, struct ct_entry);
} cilium_ct4_global SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 32768);
	__type(key, struct ipv4_ct_tuple);
	__type(value, struct ct_entry);
} cilium_ct_any4_global SEC(".maps");

/* Cilium's reserved identity of `world`, the source of connections opened towards a pod. */
#define WORLD_ID 2

static __always_inline void *ct_map(__u8 proto)
{
	if (proto == IPPROTO_TCP)
		return &cilium_ct4_global;
	return &cilium_ct_any4_global;
}

static __always_inline __u32 now_sec(void)
{
	return (__u32)(bpf_ktime_get_ns() / 1000000000ULL);
}

static __always_inline void ct_account(struct ct_entry *v, const struct flow4 *f, __u32 len, int tx)
{
	__u32 now = now_sec();
	__u8 closing = f->tcp_flags & (TCP_FIN | TCP_RST);
	__u32 lifetime = CT_LIFETIME_NONTCP;

	/* One counter pair for both directions, as since Cilium 1.16. */
	__sync_fetch_and_add(&v->packets, 1);
	__sync_fetch_and_add(&v->bytes, len);
	if (tx) {
		v->tx_flags_seen |= f->tcp_flags;
		v->last_tx_report = now;
		if (closing)
			v->flags |= CT_F_TX_CLOSING;
	} else {
		v->rx_flags_seen |= f->tcp_flags;
		v->last_rx_report = now;
		if (closing)
			v->flags |= CT_F_RX_CLOSING;
	}
	if (f->proto == IPPROTO_TCP) {
		if (!(f->tcp_flags & TCP_SYN))
			v->flags |= CT_F_SEEN_NON_SYN;
		if ((v->flags & (CT_F_RX_CLOSING | CT_F_TX_CLOSING)) ==
		    (CT_F_RX_CLOSING | CT_F_TX_CLOSING))
			lifetime = CT_LIFETIME_CLOSE;
		else if (v->flags & CT_F_SEEN_NON_SYN)
			lifetime = CT_LIFETIME_TCP;
		else
			lifetime = CT_LIFETIME_SYN;
	}
	v->lifetime = now + lifetime;
}

static __always_inline void ct_create(void *map, struct ipv4_ct_tuple *k, const struct flow4 *f,
				     __u32 len, int from_pod)
{
	struct ct_entry fresh = {};
	struct ct_entry *v;

	fresh.src_sec_id = from_pod ? tplab_security_id : WORLD_ID;
	bpf_map_update_elem(map, k, &fresh, BPF_NOEXIST);
	/* Re-read: another CPU may have created it first. */
	v = bpf_map_lookup_elem(map, k);
	if (v)
		ct_account(v, f, len, 1);
}

/* Fills a tuple from the flow's ORIGINAL direction (s:sp -> d:dp). Cilium stores the
 * addresses reversed: `daddr` holds the opener's address, `saddr` the peer's; the ports
 * keep their names. */
static __always_inline void key_fill(struct ipv4_ct_tuple *k, __be32 s, __be32 d, __be16 sp,
				     __be16 dp, __u8 proto, __u8 flags)
{
	k->daddr = s;
	k->saddr = d;
	k->sport = sp;
	k->dport = dp;
	k->nexthdr = proto;
	k->flags = flags;
}

/* ICMP echo uses the id as a port, like Cilium: request id->0, reply 0->id.
 * Returns 1 when the packet is an ICMP error (tracked as a "related" entry). */
static __always_inline int icmp_ports(struct flow4 *f)
{
	if (f->proto != IPPROTO_ICMP)
		return 0;
	if (f->icmp_type == ICMP_ECHO_T) {
		f->sport = bpf_htons(f->icmp_id);
		f->dport = 0;
		return 0;
	}
	if (f->icmp_type == ICMP_ECHOREPLY_T) {
		f->sport = 0;
		f->dport = bpf_htons(f->icmp_id);
		return 0;
	}
	f->sport = 0;
	f->dport = 0;
	return 1;
}

/* `from_pod`: 1 on lxc ingress (pod -> outside), 0 on lxc egress (outside -> pod). */
static __always_inline int ct_track(struct __sk_buff *skb, int from_pod)
{
	struct flow4 f;
	struct ipv4_ct_tuple k;
	struct ct_entry *v;
	void *map;
	__u8 fwd = from_pod ? TUPLE_F_OUT : TUPLE_F_IN;
	__u8 rev = from_pod ? TUPLE_F_IN : TUPLE_F_OUT;

	if (parse_flow4(skb, &f) < 0)
		return TC_ACT_OK;
	map = ct_map(f.proto);
	if (icmp_ports(&f)) {
		key_fill(&k, f.saddr, f.daddr, 0, 0, f.proto, fwd | TUPLE_F_RELATED);
		v = bpf_map_lookup_elem(map, &k);
		if (v)
			ct_account(v, &f, skb->len, 1);
		else
			ct_create(map, &k, &f, skb->len, from_pod);
		return TC_ACT_OK;
	}
	/* Reply of a connection opened the other way? */
	key_fill(&k, f.daddr, f.saddr, f.dport, f.sport, f.proto, rev);
	v = bpf_map_lookup_elem(map, &k);
	if (v) {
		ct_account(v, &f, skb->len, 0);
		return TC_ACT_OK;
	}
	key_fill(&k, f.saddr, f.daddr, f.sport, f.dport, f.proto, fwd);
	v = bpf_map_lookup_elem(map, &k);
	if (v)
		ct_account(v, &f, skb->len, 1);
	else
		ct_create(map, &k, &f, skb->len, from_pod);
	return TC_ACT_OK;
}

/* Cilium 1.16 puts its entry points in section "tc"; aya 0.14 loads "classifier". */
SEC("classifier")
int cil_from_container(struct __sk_buff *skb)
{
	return ct_track(skb, 1);
}

SEC("classifier")
int cil_to_container(struct __sk_buff *skb)
{
	return ct_track(skb, 0);
}

char _license[] SEC("license") = "GPL";
