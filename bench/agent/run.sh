#!/usr/bin/env bash
# Benchmark: one step's kernel-fact probes through the node agent (`tplab agent`, one
# JSON-lines batch per step over a pipe, as the kube environment will send over exec
# stdin) — steady state on one agent session, and whole `tplab check` runs with facts
# read in-process vs through the agent. Brings up its own sandbox, removed at exit.
# Usage: sudo bench/agent/run.sh [iterations]   (default 200; TPLAB_BIN=path to skip the build)
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-200}
[ "$(id -u)" = 0 ] || { echo "run as root (network namespaces)"; exit 1; }
# TPLAB_BIN: measure that binary instead of building the release one.
if [ -n "${TPLAB_BIN:-}" ]; then T=$TPLAB_BIN; else cargo build -q --release -p tplab; T=$PWD/target/release/tplab; fi
ID=$("$T" sandbox up --json | sed -n 's/^  "id": "\(.*\)",$/\1/p')
[ -n "$ID" ] || { echo "sandbox up printed no id"; exit 1; }
trap '"$T" sandbox down "$ID" >/dev/null' EXIT
NODE=/run/netns/tplab-$ID-node
"$T" sandbox exec pod --sandbox "$ID" -- ping -c 1 -W 2 203.0.113.10 >/dev/null

# The seed's "pod" and "node" steps: six queries, the pod found from its IP.
BATCH='{"format":"tplab.facts/1","id":"s","queries":[
{"id":"1","netns":{"pod_ip":"10.244.0.213"},"query":{"route":{"dst":"default","gateway":"10.244.0.201"}}},
{"id":"2","netns":{"pod_ip":"10.244.0.213"},"query":{"neighbour":{"ip":"10.244.0.201"}}},
{"id":"3","netns":{"pod_ip":"10.244.0.213"},"query":{"link":{"name":"eth0"}}},
{"id":"4","netns":{"path":"'$NODE'"},"query":{"link":{"name":{"regex":"^lxc"}}}},
{"id":"5","netns":{"path":"'$NODE'"},"query":{"address":{"ifname":"cilium_host"}}},
{"id":"6","netns":{"path":"'$NODE'"},"query":{"bpf_attached":{"direction":"ingress"}}}]}'
BATCH=$(printf '%s' "$BATCH" | tr -d '\n')

coproc AGENT { "$T" agent --scan "/run/netns/tplab-$ID-"; }
times=()
for _ in $(seq "$N"); do
  t0=$(date +%s%N)
  printf '%s\n' "$BATCH" >&"${AGENT[1]}"
  IFS= read -r answer <&"${AGENT[0]}"
  t1=$(date +%s%N)
  case "$answer" in *'"error"'*) echo "error answer: ${answer:0:300}"; exit 1 ;; esac
  times+=($(( (t1 - t0) / 1000 )))
done
exec {AGENT[1]}>&-
wait "$AGENT_PID" || true
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "one step's 6 probes, one agent batch (steady state): median $(median "${times[@]}") us over $N"

LAB=tests/fixtures/labs/seed-observations.md
run() { local t0 t1; t0=$(date +%s%N); "$@" >/dev/null; t1=$(date +%s%N); echo $(( (t1 - t0) / 1000 )); }
inproc=() via=()
for _ in $(seq 20); do
  inproc+=($(run "$T" check "$LAB" --sandbox "$ID" --step pod))
  via+=($(TPLAB_FACTS_VIA=agent run "$T" check "$LAB" --sandbox "$ID" --step pod))
done
echo "tplab check --step pod (process start included): in-process median $(median "${inproc[@]}") us, through the agent (spawned per run) $(median "${via[@]}") us over 20"
