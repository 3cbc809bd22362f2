#!/usr/bin/env bash
# The six checks done the way hosted lab platforms do it: a verify script that runs
# ip / tc / conntrack in the target and greps their text output. Exit 0 when all pass.
# Usage: verify.sh <pod-ns> <node-ns> <gw> <pod-ip> <world-ip> <lxc> [check 1-6 | all]
set -u
POD=$1 NODE=$2 GW=$3 POD_IP=$4 WORLD=$5 LXC=$6 ONLY=${7:-all}
fail=0
want() { [ "$ONLY" = all ] || [ "$ONLY" = "$1" ]; }
gw_mac() { ip netns exec "$POD" ip neigh show "$GW" dev eth0 | grep -o 'lladdr [0-9a-f:]*' | cut -d' ' -f2; }
# 1. pod default route via the gateway
want 1 && { ip netns exec "$POD" ip route | grep -q "^default via $GW dev eth0" || { echo "FAIL 1 default route"; fail=1; }; }
# 2. pod has a neighbour entry (MAC) for the gateway
want 2 && { [ -n "$(gw_mac)" ] || { echo "FAIL 2 neighbour"; fail=1; }; }
# 3. the node link holding the gateway MAC is an lxc interface (MAC captured in step 2)
want 3 && { MAC=${MAC:-$(gw_mac)}; ip netns exec "$NODE" ip link 2>/dev/null | grep -B1 -i "link/ether $MAC" | grep -q ': lxc' || { echo "FAIL 3 lxc link"; fail=1; }; }
# 4. cilium_host holds the gateway IP
want 4 && { ip netns exec "$NODE" ip addr show cilium_host | grep -q "inet $GW/" || { echo "FAIL 4 cilium_host"; fail=1; }; }
# 5. a BPF program on lxc ingress
want 5 && { ip netns exec "$NODE" tc filter show dev "$LXC" ingress | grep -q ' bpf ' || { echo "FAIL 5 bpf"; fail=1; }; }
# 6. conntrack: the pod's ICMP flow was source-NATed (reply dst != pod IP)
want 6 && { ip netns exec "$NODE" conntrack -L -p icmp 2>/dev/null \
  | grep "src=$POD_IP dst=$WORLD " | grep -vq "dst=$POD_IP " || { echo "FAIL 6 conntrack"; fail=1; }; }
exit $fail
