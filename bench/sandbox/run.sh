#!/bin/sh
# Sandbox up+down: in-process netlink build vs the iproute2/iptables script topology.sh,
# interleaved in the same run. Needs root. Usage: bench/sandbox/run.sh [ROUNDS]
set -eu
cd "$(dirname "$0")/../.."
rounds=${1:-30}
if [ "$(id -u)" != 0 ]; then
	echo "bench/sandbox needs root (network namespaces): sudo $0 $rounds" >&2
	exit 1
fi
cargo build --release -q -p tplab-sandbox --example bench --example bench_nodes
echo "machine: $(nproc) cores, kernel $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)"
target/release/examples/bench "$rounds"
# A lab-declared topology: 3 nodes, pods on nodes 2 and 3, two Services (issue 15).
target/release/examples/bench_nodes "$rounds"
