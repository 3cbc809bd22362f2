#!/usr/bin/env bash
# Benchmark: tplab evaluating the seed lab's six observations in-process (netlink /
# bpf syscall + matcher) vs the same checks as a hosted-platform verify script
# (verify.sh: ip / tc / conntrack + grep). Builds its own netns topology
# (tpt-probe-bench-*), removed at exit. Needs root, iproute2, iptables, conntrack, clang.
# Usage: sudo bench/probe/run.sh [iterations]   (default 200)
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-200}
[ "$(id -u)" = 0 ] || { echo "run as root (network namespaces)"; exit 1; }
for t in ip tc iptables conntrack clang ping; do
  command -v $t >/dev/null || { echo "missing $t: apt-get install iproute2 iptables conntrack clang iputils-ping"; exit 1; }
done

# Build first: conntrack ICMP entries only live 30 s after the ping below.
cargo build -q --release -p tplab-probe --example probe_bench
BIN=target/release/examples/probe_bench

TAG=$(printf '%04x' $((RANDOM)))
POD=tpt-probe-bench-$TAG-pod NODE=tpt-probe-bench-$TAG-node WORLD=tpt-probe-bench-$TAG-world
TMP=$(mktemp -d)
cleanup() { ip netns del "$POD" 2>/dev/null; ip netns del "$NODE" 2>/dev/null; ip netns del "$WORLD" 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT

GW=10.244.0.201 POD_IP=10.244.0.213 WORLD_IP=203.0.113.10 LXC=lxcbench$TAG
ip netns add "$POD"; ip netns add "$NODE"; ip netns add "$WORLD"
for ns in "$POD" "$NODE" "$WORLD"; do ip -n "$ns" link set lo up; done
# pod: eth0 /32, host route to the gateway, default via it (as in the seed)
ip -n "$POD" link add eth0 type veth peer name "$LXC" netns "$NODE"
ip -n "$POD" addr add $POD_IP/32 dev eth0; ip -n "$POD" link set eth0 up
ip -n "$POD" route add $GW dev eth0 scope link; ip -n "$POD" route add default via $GW dev eth0
# node: lxc with proxy-ARP, cilium_host holding the gateway IP, eth0 to the world + MASQUERADE
ip -n "$NODE" link set "$LXC" up
ip netns exec "$NODE" sysctl -qw net.ipv4.conf.$LXC.proxy_arp=1 net.ipv4.ip_forward=1
ip -n "$NODE" link add cilium_host type veth peer name cilium_net
ip -n "$NODE" link set cilium_host up; ip -n "$NODE" link set cilium_net up
ip -n "$NODE" addr add $GW/32 dev cilium_host
ip -n "$NODE" route add $POD_IP dev "$LXC"
ip -n "$NODE" link add eth0 type veth peer name eth0 netns "$WORLD"
ip -n "$NODE" addr add 198.51.100.1/24 dev eth0; ip -n "$NODE" link set eth0 up
ip -n "$NODE" route add default via 198.51.100.2
ip -n "$WORLD" addr add 198.51.100.2/24 dev eth0; ip -n "$WORLD" addr add $WORLD_IP/32 dev eth0
ip -n "$WORLD" link set eth0 up
ip netns exec "$NODE" iptables -t nat -A POSTROUTING -s 10.244.0.0/16 -o eth0 -j MASQUERADE
# a legacy tc BPF filter on lxc ingress, named like Cilium's
clang -O2 -g -target bpf -c crates/probe/tests/fixtures/tpt_pass.bpf.c -o "$TMP/bpf_lxc.o"
ip netns exec "$NODE" tc qdisc add dev "$LXC" clsact
ip netns exec "$NODE" tc filter add dev "$LXC" ingress bpf da obj "$TMP/bpf_lxc.o" sec classifier
# some routes/neighbours/conntrack noise so dumps are not trivially small
for i in $(seq 1 40); do ip -n "$NODE" route add 192.0.2.$i via 198.51.100.2 table $((100 + i % 5)); done
ip netns exec "$POD" ping -c 2 -i 0.2 -W 1 $WORLD_IP >/dev/null

echo "== tplab in-process =="
"$BIN" /run/netns/$POD /run/netns/$NODE $GW $POD_IP $WORLD_IP "$LXC" "$N" > "$TMP/inproc"
grep -vE '^(CHECK |INPROC_|BATCHED_)' "$TMP/inproc"

echo "== verify.sh (ip / tc / conntrack + grep), mean of $N runs =="
bench/probe/verify.sh "$POD" "$NODE" $GW $POD_IP $WORLD_IP "$LXC" || { echo "verify.sh failed on a correct state"; exit 1; }
: > "$TMP/shell"
for c in 1 2 3 4 5 6; do
  start=$(date +%s%N)
  for _ in $(seq 1 "$N"); do bench/probe/verify.sh "$POD" "$NODE" $GW $POD_IP $WORLD_IP "$LXC" $c >/dev/null; done
  end=$(date +%s%N)
  echo "$c $(( (end - start) / N / 1000 ))" >> "$TMP/shell"
  printf '  check %d %24s %6d us\n' $c "" $(( (end - start) / N / 1000 ))
done

echo "== result (per check) =="
awk 'NR==FNR { sh[$1] = $2; next }
     /^CHECK / { n++; t = $3; s = sh[$2]; r = s / t; name = $0; sub(/^CHECK [0-9]+ [0-9.]+ /, "", name)
                 printf "  %-28s verify.sh %7d us   tplab %8.1f us   %5.1fx\n", name, s, t, r
                 ts += s; tt += t; lr += log(r); if (r >= 10) ok++ }
     END { printf "  all six: verify.sh %d us, tplab %.1f us: %.1fx overall, geometric mean %.1fx per check; %d/%d checks >= 10x\n", ts, tt, ts / tt, exp(lr / n), ok, n }' \
  "$TMP/shell" "$TMP/inproc"
BA_US=$(sed -n 's/^BATCHED_PER_CHECK_US=//p' "$TMP/inproc")
echo "  batched (one thread + socket per netns for the step): ${BA_US} us per check"
echo "  note: tplab reads conntrack from procfs (RCU walk); conntrack -L dumps over ctnetlink," \
     "a locked walk of the kernel's global hash ($(cat /proc/sys/net/netfilter/nf_conntrack_buckets) buckets)."
