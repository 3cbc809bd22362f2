#!/bin/sh
# The 3-node lab topology of tests/fixtures/topology/three-nodes.md built the classic way
# (iproute2, one iptables-restore per node with topology.sh's rules), the peer that
# bench/sandbox/nodes.sh times `tplab sandbox up --lab` against. No eBPF, no API, no HTTP.
# Usage: topology_nodes.sh up ID | down ID
set -eu
cmd=${1:?usage: topology_nodes.sh up|down ID}
id=${2:?usage: topology_nodes.sh up|down ID}
here=$(dirname "$0")
p=tplab-$id
# node number, pod CIDR base, cilium_host, eth0, eth1, pod name, pod ip
nodes="1 10.244.0.128 10.244.0.201 198.51.100.2 10.135.0.11 pod 10.244.0.213
2 10.244.0.0 10.244.0.73 198.51.100.3 10.135.0.12 web 10.244.0.85
3 10.244.1.0 10.244.1.73 198.51.100.4 10.135.0.13 api 10.244.1.85"
case $cmd in
up)
	rules=$(sed -n "/<<'RULES'/,/^RULES/p" "$here/topology.sh" | sed '1d;$d')
	ip netns add "$p-world"
	ip netns add "$p-lan"
	ip -n "$p-world" link set lo up
	ip -n "$p-world" addr add 203.0.113.10/32 dev lo
	ip -n "$p-world" link add eth0 type bridge
	ip -n "$p-world" addr add 198.51.100.1/24 dev eth0
	ip -n "$p-world" link set eth0 up
	ip -n "$p-lan" link add br0 type bridge
	ip -n "$p-lan" link set br0 up
	echo "$nodes" | while read -r n cidr host eth0 eth1 pod podip; do
		ns=$p-node$n pns=$p-$pod
		ip netns add "$ns"
		ip netns add "$pns"
		ip -n "$ns" link set lo up
		ip -n "$pns" link set lo up
		ip netns exec "$ns" sysctl -qw net.ipv4.ip_forward=1
		ip -n "$ns" link add cilium_host type veth peer name cilium_net
		ip -n "$ns" link set cilium_host arp off
		ip -n "$ns" addr add "$host/32" dev cilium_host
		ip -n "$ns" link set cilium_net up
		ip -n "$ns" link set cilium_host up
		ip -n "$ns" link add "lxc$n" type veth peer name eth0 netns "$pns"
		ip netns exec "$ns" sysctl -qw "net.ipv4.conf.lxc$n.proxy_arp=1"
		ip -n "$ns" link set "lxc$n" up
		ip -n "$ns" route add "$podip/32" dev "lxc$n" scope link
		ip -n "$pns" addr add "$podip/32" dev eth0
		ip -n "$pns" link set eth0 up
		ip -n "$pns" route add "$host/32" dev eth0 scope link
		ip -n "$pns" route add default via "$host" dev eth0
		ip -n "$ns" link add eth0 type veth peer name "up-node$n" netns "$p-world"
		ip -n "$ns" addr add "$eth0/24" dev eth0
		ip -n "$ns" link set eth0 up
		ip -n "$ns" route add default via 198.51.100.1 dev eth0
		ip -n "$p-world" link set "up-node$n" master eth0 up
		ip -n "$ns" link add eth1 type veth peer name "node$n" netns "$p-lan"
		ip -n "$ns" addr add "$eth1/16" dev eth1
		ip -n "$ns" link set eth1 up
		ip -n "$p-lan" link set "node$n" master br0 up
		echo "$nodes" | while read -r m ocidr _ _ oeth1 _ _; do
			[ "$m" = "$n" ] || ip -n "$ns" route add "$ocidr/25" via "$oeth1" dev eth1
		done
		printf '%s\n' "$rules" | ip netns exec "$ns" iptables-restore
	done
	;;
down)
	echo "$nodes" | while read -r n _ _ _ _ pod _; do
		ip netns del "$p-node$n"
		ip netns del "$p-$pod"
	done
	ip netns del "$p-world"
	ip netns del "$p-lan"
	;;
*) echo "usage: topology_nodes.sh up|down ID" >&2; exit 2 ;;
esac
