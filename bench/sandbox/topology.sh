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
*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:CILIUM_OUTPUT_raw - [0:0]
:CILIUM_PRE_raw - [0:0]
-A OUTPUT -m comment --comment "cilium-feeder: CILIUM_OUTPUT_raw" -j CILIUM_OUTPUT_raw
-A PREROUTING -m comment --comment "cilium-feeder: CILIUM_PRE_raw" -j CILIUM_PRE_raw
COMMIT
*mangle
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:CILIUM_POST_mangle - [0:0]
:CILIUM_PRE_mangle - [0:0]
-A POSTROUTING -m comment --comment "cilium-feeder: CILIUM_POST_mangle" -j CILIUM_POST_mangle
-A PREROUTING -m comment --comment "cilium-feeder: CILIUM_PRE_mangle" -j CILIUM_PRE_mangle
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:CILIUM_INPUT - [0:0]
:CILIUM_OUTPUT - [0:0]
:CILIUM_FORWARD - [0:0]
:KUBE-FIREWALL - [0:0]
:KUBE-FORWARD - [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-EXTERNAL-SERVICES - [0:0]
:KUBE-NODEPORTS - [0:0]
-A INPUT -m comment --comment "cilium-feeder: CILIUM_INPUT" -j CILIUM_INPUT
-A OUTPUT -m comment --comment "cilium-feeder: CILIUM_OUTPUT" -j CILIUM_OUTPUT
-A FORWARD -m comment --comment "cilium-feeder: CILIUM_FORWARD" -j CILIUM_FORWARD
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
-A CILIUM_FORWARD -o cilium_host -m comment --comment "cilium: any->cluster on cilium_host forward accept" -j ACCEPT
-A CILIUM_FORWARD -i cilium_host -m comment --comment "cilium: cluster->any on cilium_host forward accept (nodeport)" -j ACCEPT
-A CILIUM_FORWARD -i lxc+ -m comment --comment "cilium: cluster->any on lxc+ forward accept" -j ACCEPT
-A CILIUM_FORWARD -i cilium_net -m comment --comment "cilium: cluster->any on cilium_net forward accept (nodeport)" -j ACCEPT
-A CILIUM_OUTPUT -m mark ! --mark 0xe00/0xf00 -m mark ! --mark 0xd00/0xf00 -m mark ! --mark 0x400/0xf00 -m mark ! --mark 0xa00/0xe00 -m mark ! --mark 0x800/0xe00 -m mark ! --mark 0xf00/0xf00 -m comment --comment "cilium: host->any mark as from host" -j MARK --set-xmark 0xc00/0xf00
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:CILIUM_POST_nat - [0:0]
:CILIUM_OUTPUT_nat - [0:0]
:CILIUM_PRE_nat - [0:0]
:KUBE-SERVICES - [0:0]
:KUBE-POSTROUTING - [0:0]
:KUBE-MARK-MASQ - [0:0]
:KUBE-NODEPORTS - [0:0]
-A POSTROUTING -m comment --comment "cilium-feeder: CILIUM_POST_nat" -j CILIUM_POST_nat
-A OUTPUT -m comment --comment "cilium-feeder: CILIUM_OUTPUT_nat" -j CILIUM_OUTPUT_nat
-A PREROUTING -m comment --comment "cilium-feeder: CILIUM_PRE_nat" -j CILIUM_PRE_nat
-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING
-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000
-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0
-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully
-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS
-A CILIUM_POST_nat -s 10.244.0.0/16 ! -d 10.244.0.0/16 ! -o cilium_+ -m comment --comment "cilium masquerade non-cluster" -j MASQUERADE
-A CILIUM_POST_nat -m mark --mark 0xa00/0xe00 -m comment --comment "exclude proxy return traffic from masquerade" -j ACCEPT
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
