#!/bin/sh
# The 3-node lab topology (tests/fixtures/topology/three-nodes.md: 3 nodes on a private
# eth1 network, a pod on each, two Services; Cilium's datapath on every pod's lxc and the
# Kubernetes API) through the CLI, `tplab sandbox up --lab` + `down`, versus its classic
# build with iproute2 (topology_nodes.sh: the same links, routes and one iptables-restore
# per node; no eBPF, no API), interleaved. Target (issue 15): CLI up < 300 ms.
# Needs root. Usage: bench/sandbox/nodes.sh [ROUNDS=20]
set -eu
cd "$(dirname "$0")/../.."
LAB=$PWD/tests/fixtures/topology/three-nodes.md PEER=$PWD/bench/sandbox/topology_nodes.sh \
	exec sh bench/sandbox/cli.sh "${1:-20}"
