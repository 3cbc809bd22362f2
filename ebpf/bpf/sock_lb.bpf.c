// SPDX-License-Identifier: GPL-2.0
/* tplab's socket load-balancing, what Cilium's kube-proxy replacement does at the socket
 * layer (its bpf_sock.o): a connect() (or an unconnected UDP sendmsg()) to a Service's
 * ClusterIP:port is rewritten, before any packet exists, to one of its backends. No
 * packet ever carries the ClusterIP, so there is no DNAT on the wire and no NAT entry in
 * conntrack. getpeername() and recvmsg() translate back, so the application still sees
 * the ClusterIP. Attached to the sandbox's cgroup (v2), programs named as Cilium's. */
#include <linux/bpf.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include "lb.h"

#define SYS_PROCEED 1

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct lb4_key);
	__type(value, struct lb4_service);
} cilium_lb4_services_v2 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct lb4_backend);
} cilium_lb4_backends_v3 SEC(".maps");

/* LRU: preallocated, so smaller than Cilium's (many sandboxes share a machine). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct ipv4_revnat_tuple);
	__type(value, struct ipv4_revnat_entry);
} cilium_lb4_reverse_sk SEC(".maps");

static __always_inline int l4_proto_ok(struct bpf_sock_addr *ctx)
{
	return ctx->protocol == IPPROTO_TCP || ctx->protocol == IPPROTO_UDP;
}

/* Frontend → backend: picks a backend at random (as Cilium's default `random`). */
static __always_inline void xlate_to_backend(struct bpf_sock_addr *ctx)
{
	struct lb4_key key = {};
	struct lb4_service *svc, *slot;
	struct lb4_backend *be;
	__u32 backend_id;

	if (!l4_proto_ok(ctx))
		return;
	key.address = ctx->user_ip4;
	key.dport = (__be16)ctx->user_port;
	svc = bpf_map_lookup_elem(&cilium_lb4_services_v2, &key);
	if (!svc || svc->count == 0)
		return;
	key.backend_slot = (bpf_get_prandom_u32() % svc->count) + 1;
	slot = bpf_map_lookup_elem(&cilium_lb4_services_v2, &key);
	if (!slot)
		return;
	backend_id = slot->backend_id;
	be = bpf_map_lookup_elem(&cilium_lb4_backends_v3, &backend_id);
	if (!be)
		return;

	struct ipv4_revnat_tuple rk = {};
	struct ipv4_revnat_entry rv = {};
	rk.cookie = bpf_get_socket_cookie(ctx);
	rk.address = be->address;
	rk.port = be->port;
	rv.address = key.address;
	rv.port = key.dport;
	rv.rev_nat_index = svc->rev_nat_index;
	bpf_map_update_elem(&cilium_lb4_reverse_sk, &rk, &rv, BPF_ANY);

	ctx->user_ip4 = be->address;
	ctx->user_port = (__u32)be->port;
}

/* Backend → frontend, for a socket this program translated. */
static __always_inline void xlate_to_frontend(struct bpf_sock_addr *ctx)
{
	struct ipv4_revnat_tuple rk = {};
	struct ipv4_revnat_entry *rv;

	rk.cookie = bpf_get_socket_cookie(ctx);
	rk.address = ctx->user_ip4;
	rk.port = (__be16)ctx->user_port;
	rv = bpf_map_lookup_elem(&cilium_lb4_reverse_sk, &rk);
	if (!rv)
		return;
	ctx->user_ip4 = rv->address;
	ctx->user_port = (__u32)rv->port;
}

SEC("cgroup/connect4")
int cil_sock4_connect(struct bpf_sock_addr *ctx)
{
	xlate_to_backend(ctx);
	return SYS_PROCEED;
}

SEC("cgroup/sendmsg4")
int cil_sock4_sendmsg(struct bpf_sock_addr *ctx)
{
	xlate_to_backend(ctx);
	return SYS_PROCEED;
}

SEC("cgroup/recvmsg4")
int cil_sock4_recvmsg(struct bpf_sock_addr *ctx)
{
	xlate_to_frontend(ctx);
	return SYS_PROCEED;
}

SEC("cgroup/getpeername4")
int cil_sock4_getpeername(struct bpf_sock_addr *ctx)
{
	xlate_to_frontend(ctx);
	return SYS_PROCEED;
}

char _license[] SEC("license") = "GPL";
