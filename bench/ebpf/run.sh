#!/bin/sh
# Observer overhead: iperf3 throughput pod -> world across the sandbox-like veth path
# (pod eth0 -> lxc -> node routing + MASQUERADE -> node eth0 -> world), with the
# from_container datapath attached, alternating runs WITHOUT and WITH the observer
# (TCX first on pod eth0, lxc, node eth0), same topology, same run. Prints medians.
# Usage (root): bench/ebpf/run.sh [SECONDS_PER_RUN=3] [ROUNDS=8]
# iperf3 on 2 shared cores is noisy: rounds alternate the order and medians are reported.
set -eu
T=${1:-3}
ROUNDS=${2:-8}
here=$(cd "$(dirname "$0")/../.." && pwd)
[ "$(id -u)" = 0 ] || { echo "run as root (netns, BPF)"; exit 1; }
for t in iperf3 python3 ip iptables; do
    command -v $t >/dev/null || { echo "missing $t (apt-get install iperf3 python3 iproute2 iptables)"; exit 1; }
done
cargo build --quiet --release -p tplab-ebpf --example ebpf_tool --manifest-path "$here/Cargo.toml"
tool="$here/target/release/examples/ebpf_tool"

id="tpt-ebpf-bench$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')"
P=$id-pod N=$id-node W=$id-world LXC=lxc$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')
PIN=/run/tplab/bpf/$id
srv_pid=
cleanup() {
    [ -n "$srv_pid" ] && kill "$srv_pid" 2>/dev/null || true
    "$tool" detach "/run/netns/$N" "$LXC" "$PIN" >/dev/null 2>&1 || true
    for ns in $P $N $W; do ip netns del "$ns" 2>/dev/null || true; done
}
trap cleanup EXIT INT TERM

for ns in $P $N $W; do ip netns add "$ns"; done
ip -n "$N" link add "$LXC" type veth peer name eth0 netns "$P"
ip -n "$N" link add eth0 type veth peer name eth0 netns "$W"
ip -n "$N" link add cilium_host type veth peer name cilium_net
ip -n "$P" link set lo up; ip -n "$P" addr add 10.244.0.213/32 dev eth0; ip -n "$P" link set eth0 up
ip -n "$P" route add 10.244.0.201 dev eth0 scope link; ip -n "$P" route add default via 10.244.0.201
ip -n "$N" link set lo up; ip -n "$N" addr add 10.244.0.201/32 dev cilium_host
ip -n "$N" link set cilium_host up; ip -n "$N" link set cilium_net up; ip -n "$N" link set "$LXC" up
ip -n "$N" route add 10.244.0.213/32 dev "$LXC"
ip -n "$N" addr add 198.51.100.2/24 dev eth0; ip -n "$N" link set eth0 up
ip -n "$N" route add default via 198.51.100.1
ip -n "$W" link set lo up; ip -n "$W" addr add 198.51.100.1/24 dev eth0
ip -n "$W" addr add 203.0.113.10/32 dev eth0; ip -n "$W" link set eth0 up
ip netns exec "$N" sysctl -qw net.ipv4.ip_forward=1 "net.ipv4.conf.$LXC.proxy_arp=1"
ip netns exec "$N" iptables -t nat -A POSTROUTING -s 10.244.0.0/16 -o eth0 -j MASQUERADE
"$tool" attach "/run/netns/$N" "$LXC" "$PIN" >/dev/null

ip netns exec "$W" iperf3 -s -B 203.0.113.10 >/dev/null 2>&1 &
srv_pid=$!
sleep 0.5
ip netns exec "$P" ping -c 1 -W 2 203.0.113.10 >/dev/null

run() { # prints Gbit/s received
    ip netns exec "$P" iperf3 -c 203.0.113.10 -t "$T" -J |
        python3 -c 'import json,sys; print("%.3f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]/1e9))'
}
observed() { # one iperf3 run with the observer on the three hops; sets o and e
    "$tool" observe $((T + 2)) "/run/netns/$P:eth0:pod:eth0" "/run/netns/$N:$LXC:node:lxc" \
        "/run/netns/$N:eth0:node:eth0" >/tmp/$id.obs &
    opid=$!
    sleep 0.5
    o=$(run)
    wait $opid
    e=$(awk '/^events/ {s+=$3} /^lost/ {l=$2} /^cpu/ {c=$2} END {printf "%d events, %d lost, reader cpu %ss", s, l, c}' /tmp/$id.obs)
}
base="" obs=""
i=0
while [ $i -lt "$ROUNDS" ]; do
    # Alternate the order so drift (other load on the machine) hits both sides alike.
    if [ $((i % 2)) = 0 ]; then b=$(run); observed; else observed; b=$(run); fi
    base="$base $b" obs="$obs $o"
    echo "round $((i + 1)): without observer $b Gbit/s, with observer $o Gbit/s ($e)"
    i=$((i + 1))
done
rm -f /tmp/$id.obs
python3 - "$base" "$obs" <<'PY'
import random, statistics, sys
b = [float(x) for x in sys.argv[1].split()]
o = [float(x) for x in sys.argv[2].split()]
mb, mo = statistics.median(b), statistics.median(o)
print(f"without observer, Gbit/s min/median/max: {min(b):.3f} / {mb:.3f} / {max(b):.3f}")
print(f"with observer,    Gbit/s min/median/max: {min(o):.3f} / {mo:.3f} / {max(o):.3f}")
# Per-round loss pairs runs made back to back, so slow drift of the machine's load cancels.
losses = sorted(100 * (1 - oo / bb) for bb, oo in zip(b, o))
med = statistics.median(losses)
# 90 % bootstrap interval of the median per-round loss (fixed seed: reproducible output).
rng = random.Random(16)
boot = sorted(statistics.median(rng.choices(losses, k=len(losses))) for _ in range(2000))
lo, hi = boot[len(boot) // 20], boot[-len(boot) // 20 - 1]
print(f"throughput loss of the medians: {100 * (mb - mo) / mb:.1f} %")
print(f"per-round loss: median {med:.1f} % (90 % CI {lo:.1f} .. {hi:.1f} %), "
      f"rounds {losses[0]:.1f} .. {losses[-1]:.1f} % over {len(losses)} (target < 5 %)")
PY
