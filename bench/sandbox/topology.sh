#!/bin/sh
# The sandbox topology built the classic way (iproute2 + one iptables-restore), used by
# bench/sandbox/run.sh as the baseline the in-process netlink build is compared with.
# Usage: topology.sh up ID | down ID
# HTTPD (optional): command started detached in the world netns to serve HTTP on :80.
set -eu
cmd=${1:?usage: topology.sh up|down ID}
id=${2:?usage: topology.sh up|down ID}
pod=tplab-$id-pod node=tplab-$id-node world=tplab-$id-world
lxc=lxc$(printf '%s' "$id" | od -An -tx1 | tr -d ' \n' | cut -c1-12)
piddir=/run/tplab/bench
case $cmd in
up)
	ip netns add "$pod"
	ip netns add "$node"
	ip netns add "$world"
	ip -n "$pod" link set lo up
	ip -n "$node" link set lo up
	ip -n "$world" link set lo up
	ip netns exec "$node" sysctl -qw net.ipv4.ip_forward=1
	# pod <-> node: the pod's eth0 and Cilium-like lxc peer
	ip -n "$node" link add "$lxc" type veth peer name eth0 netns "$pod"
	ip netns exec "$node" sysctl -qw "net.ipv4.conf.$lxc.proxy_arp=1"
	ip -n "$node" link set "$lxc" up
	ip -n "$pod" addr add 10.244.0.213/32 dev eth0
	ip -n "$pod" link set eth0 up
	ip -n "$pod" route add 10.244.0.201/32 dev eth0 scope link
	ip -n "$pod" route add default via 10.244.0.201 dev eth0
	# cilium_host / cilium_net hold the gateway address
	ip -n "$node" link add cilium_host type veth peer name cilium_net
	ip -n "$node" link set cilium_host arp off
	ip -n "$node" addr add 10.244.0.201/32 dev cilium_host
	ip -n "$node" link set cilium_net up
	ip -n "$node" link set cilium_host up
	ip -n "$node" route add 10.244.0.213/32 dev "$lxc" scope link
	# node <-> world uplink
	ip -n "$node" link add eth0 type veth peer name eth0 netns "$world"
	ip -n "$node" addr add 198.51.100.2/24 dev eth0
	ip -n "$node" link set eth0 up
	ip -n "$node" route add default via 198.51.100.1 dev eth0
	ip -n "$world" addr add 198.51.100.1/24 dev eth0
	ip -n "$world" link set eth0 up
	ip -n "$world" addr add 203.0.113.10/32 dev lo
	ip netns exec "$node" iptables-restore <<'RULES'
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:KUBE-FIREWALL - [0:0]
:KUBE-FORWARD - [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-EXTERNAL-SERVICES - [0:0]
:KUBE-NODEPORTS - [0:0]
-A INPUT -m comment --comment "kubernetes health check service ports" -j KUBE-NODEPORTS
-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES
-A INPUT -j KUBE-FIREWALL
-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD
-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A OUTPUT -j KUBE-FIREWALL
-A KUBE-FIREWALL ! -s 127.0.0.0/8 -d 127.0.0.0/8 -m comment --comment "block incoming localnet connections" -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP
-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT
-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-POSTROUTING - [0:0]
:KUBE-MARK-MASQ - [0:0]
:KUBE-NODEPORTS - [0:0]
-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING
-A POSTROUTING -s 10.244.0.0/16 -o eth0 -m comment --comment "cilium masquerade non-cluster" -j MASQUERADE
-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000
-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0
-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully
-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS
COMMIT
RULES
	if [ -n "${HTTPD:-}" ]; then
		mkdir -p "$piddir"
		ip netns exec "$world" setsid $HTTPD </dev/null >/dev/null 2>&1 &
		echo $! >"$piddir/$id.pid"
	fi
	;;
down)
	if [ -f "$piddir/$id.pid" ]; then
		kill "$(cat "$piddir/$id.pid")" 2>/dev/null || true
		rm -f "$piddir/$id.pid"
	fi
	ip netns del "$pod"
	ip netns del "$node"
	ip netns del "$world"
	;;
*) echo "usage: topology.sh up|down ID" >&2; exit 2 ;;
esac
