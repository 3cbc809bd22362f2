// SPDX-License-Identifier: GPL-2.0
/* tplab's sandbox datapath: a conntrack-like table fed from the pod's lxc veth.
 * from_container runs on lxc ingress (packets leaving the pod, as Cilium's
 * cil_from_container), to_container on lxc egress (packets towards the pod).
 * Both only observe: traffic always passes unchanged (TC_ACT_OK). NAT stays in iptables. */
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

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct ct_key);
	__type(value, struct ct_value);
} tplab_ct4 SEC(".maps");

static __always_inline __u32 now_sec(void)
{
	return (__u32)(bpf_ktime_get_ns() / 1000000000ULL);
}

static __always_inline void ct_account(struct ct_value *v, const struct flow4 *f, __u32 len, int tx)
{
	__u32 now = now_sec();
	__u8 closing = f->tcp_flags & (TCP_FIN | TCP_RST);
	__u32 lifetime = CT_LIFETIME_NONTCP;

	if (tx) {
		__sync_fetch_and_add(&v->tx_packets, 1);
		__sync_fetch_and_add(&v->tx_bytes, len);
		v->tx_flags_seen |= f->tcp_flags;
		v->last_tx_report = now;
		if (closing)
			v->flags |= CT_F_TX_CLOSING;
	} else {
		__sync_fetch_and_add(&v->rx_packets, 1);
		__sync_fetch_and_add(&v->rx_bytes, len);
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

static __always_inline void ct_create(struct ct_key *k, const struct flow4 *f, __u32 len)
{
	struct ct_value fresh = {};
	struct ct_value *v;

	fresh.src_sec_id = tplab_security_id;
	bpf_map_update_elem(&tplab_ct4, k, &fresh, BPF_NOEXIST);
	/* Re-read: another CPU may have created it first. */
	v = bpf_map_lookup_elem(&tplab_ct4, k);
	if (v)
		ct_account(v, f, len, 1);
}

static __always_inline void key_fill(struct ct_key *k, __be32 s, __be32 d, __be16 sp, __be16 dp,
				     __u8 proto, __u8 flags)
{
	k->saddr = s;
	k->daddr = d;
	k->sport = sp;
	k->dport = dp;
	k->nexthdr = proto;
	k->flags = flags;
	k->pad = 0;
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
	struct ct_key k;
	struct ct_value *v;
	__u8 fwd = from_pod ? TUPLE_F_OUT : TUPLE_F_IN;
	__u8 rev = from_pod ? TUPLE_F_IN : TUPLE_F_OUT;

	if (parse_flow4(skb, &f) < 0)
		return TC_ACT_OK;
	if (icmp_ports(&f)) {
		key_fill(&k, f.saddr, f.daddr, 0, 0, f.proto, fwd | TUPLE_F_RELATED);
		v = bpf_map_lookup_elem(&tplab_ct4, &k);
		if (v)
			ct_account(v, &f, skb->len, 1);
		else
			ct_create(&k, &f, skb->len);
		return TC_ACT_OK;
	}
	/* Reply of a connection opened the other way? */
	key_fill(&k, f.daddr, f.saddr, f.dport, f.sport, f.proto, rev);
	v = bpf_map_lookup_elem(&tplab_ct4, &k);
	if (v) {
		ct_account(v, &f, skb->len, 0);
		return TC_ACT_OK;
	}
	key_fill(&k, f.saddr, f.daddr, f.sport, f.dport, f.proto, fwd);
	v = bpf_map_lookup_elem(&tplab_ct4, &k);
	if (v)
		ct_account(v, &f, skb->len, 1);
	else
		ct_create(&k, &f, skb->len);
	return TC_ACT_OK;
}

SEC("classifier")
int from_container(struct __sk_buff *skb)
{
	return ct_track(skb, 1);
}

SEC("classifier")
int to_container(struct __sk_buff *skb)
{
	return ct_track(skb, 0);
}

char _license[] SEC("license") = "GPL";
