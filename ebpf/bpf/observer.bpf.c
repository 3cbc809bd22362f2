// SPDX-License-Identifier: GPL-2.0
/* tplab's packet observer: TCX programs attached FIRST on chosen interfaces, one per
 * direction, pushing one event per IPv4 packet into a ring buffer. They return
 * TC_ACT_UNSPEC so the next program (e.g. the datapath) still runs: pure observation.
 * One instance is loaded per observation point (ifindexes repeat across namespaces);
 * events carry that point's id. */
#include "parse.h"
#include "event.h"

#define TC_ACT_UNSPEC (-1)

/* Set by the loader: index of the observation point this instance serves. */
volatile const __u32 tplab_point_id = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 * 1024 * 1024);
} tplab_obs_rb SEC(".maps");

/* Events that did not fit in the ring buffer: the reader reports them, never hides them. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} tplab_obs_lost SEC(".maps");

static __always_inline int observe(struct __sk_buff *skb, __u8 dir)
{
	struct flow4 f;
	struct pkt_event *e;

	if (parse_flow4(skb, &f) < 0)
		return TC_ACT_UNSPEC;
	e = bpf_ringbuf_reserve(&tplab_obs_rb, sizeof(*e), 0);
	if (!e) {
		__u32 zero = 0;
		__u64 *lost = bpf_map_lookup_elem(&tplab_obs_lost, &zero);
		if (lost)
			*lost += 1;
		return TC_ACT_UNSPEC;
	}
	e->ts_ns = bpf_ktime_get_ns();
	e->point_id = tplab_point_id;
	e->ifindex = skb->ifindex;
	e->skb_len = skb->len;
	e->saddr = f.saddr;
	e->daddr = f.daddr;
	e->sport = f.sport;
	e->dport = f.dport;
	e->ip_len = f.len;
	e->icmp_id = f.icmp_id;
	e->proto = f.proto;
	e->dir = dir;
	e->tcp_flags = f.tcp_flags;
	e->icmp_type = f.icmp_type;
	e->icmp_code = f.icmp_code;
	__builtin_memset(e->pad, 0, sizeof(e->pad));
	/* Adaptive wakeup (flags 0): the kernel wakes the reader only when this record is the
	 * first it has not consumed, so an idle reader sleeps in epoll and a busy one (which
	 * batches, see reader.rs) is woken once per batch, not per packet. */
	bpf_ringbuf_submit(e, 0);
	return TC_ACT_UNSPEC;
}

SEC("classifier")
int tplab_obs_ing(struct __sk_buff *skb)
{
	return observe(skb, OBS_DIR_INGRESS);
}

SEC("classifier")
int tplab_obs_egr(struct __sk_buff *skb)
{
	return observe(skb, OBS_DIR_EGRESS);
}

char _license[] SEC("license") = "GPL";
