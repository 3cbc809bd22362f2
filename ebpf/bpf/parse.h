/* Shared IPv4 parsing for tplab's tc programs.
 * bpf_skb_load_bytes is used instead of direct packet access: it copes with
 * non-linear skbs (GSO/GRO on veth) and keeps the verifier happy without bounds dances. */
#pragma once
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/in.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct flow4 {
	__be32 saddr;
	__be32 daddr;
	__be16 sport; /* ICMP echo: the echo id (as Cilium does) */
	__be16 dport;
	__u8 proto;
	__u8 tcp_flags;
	__u8 icmp_type;
	__u8 icmp_code;
	__u16 icmp_id; /* host order */
	__u16 len;     /* IPv4 total length */
};

/* Returns 0 when the skb carries IPv4 and fills `f`; -1 otherwise. */
static __always_inline int parse_flow4(struct __sk_buff *skb, struct flow4 *f)
{
	struct iphdr ip;
	__u32 l4;

	if (skb->protocol != bpf_htons(ETH_P_IP))
		return -1;
	if (bpf_skb_load_bytes(skb, ETH_HLEN, &ip, sizeof(ip)) < 0)
		return -1;
	if (ip.version != 4 || ip.ihl < 5)
		return -1;
	f->saddr = ip.saddr;
	f->daddr = ip.daddr;
	f->proto = ip.protocol;
	f->len = bpf_ntohs(ip.tot_len);
	f->sport = 0;
	f->dport = 0;
	f->tcp_flags = 0;
	f->icmp_type = 0;
	f->icmp_code = 0;
	f->icmp_id = 0;
	l4 = ETH_HLEN + ip.ihl * 4;
	/* Later fragments carry no L4 header. */
	if (ip.frag_off & bpf_htons(0x1fff))
		return 0;

	if (ip.protocol == IPPROTO_TCP) {
		__u8 hdr[14];
		if (bpf_skb_load_bytes(skb, l4, hdr, sizeof(hdr)) < 0)
			return 0;
		f->sport = (__be16)(hdr[0] | (hdr[1] << 8));
		f->dport = (__be16)(hdr[2] | (hdr[3] << 8));
		f->tcp_flags = hdr[13];
	} else if (ip.protocol == IPPROTO_UDP) {
		struct udphdr udp;
		if (bpf_skb_load_bytes(skb, l4, &udp, sizeof(udp)) < 0)
			return 0;
		f->sport = udp.source;
		f->dport = udp.dest;
	} else if (ip.protocol == IPPROTO_ICMP) {
		__u8 hdr[8];
		if (bpf_skb_load_bytes(skb, l4, hdr, sizeof(hdr)) < 0)
			return 0;
		f->icmp_type = hdr[0];
		f->icmp_code = hdr[1];
		f->icmp_id = (hdr[4] << 8) | hdr[5];
	}
	return 0;
}
