#!/usr/bin/env bash
# Benchmark: one step's kernel-fact probes through the node agent (`tplab agent`, one
# JSON-lines batch per step over a pipe, as the kube environment will send over exec
# stdin) — steady state on one agent session; whole `tplab check` runs with facts
# read in-process vs through the agent; and per-step latency through the CLI (first
# step, agent start included, vs steady state; one agent round trip per step), side by
# side with their spread. Brings up its own sandbox, removed at exit.
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
"$T" sandbox exec pod --sandbox "$ID" -- sh -c 'ping -c 1 -W 2 203.0.113.10 && wget -q -O /dev/null http://203.0.113.10/' >/dev/null

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

# Per step, through the CLI: `check --step S` evaluates every step up to S, so with the
# fixture's three steps of independent fact checks (4, 4 and 3 checks, one agent round
# trip each), T(step 1) is the first step (process start and, via the agent, its
# spawn) and (T(step 3) - T(step 1)) / 2 a steady-state step; each run's pair is taken
# back to back, and the spread is p10-p90 over the runs.
STEPS=tests/fixtures/labs/agent-batches.md
M=${STEPS_RUNS:-30}
pct() { local p=$1; shift; printf '%s\n' "$@" | sort -n | awk -v p="$p" '{a[NR]=$1} END {i=int(NR*p/100+0.5); if (i<1) i=1; print a[i]}'; }
per_step() {
  local first=() steady=() t1 t3
  for _ in $(seq "$M"); do
    t1=$(run "$T" check "$STEPS" --sandbox "$ID" --step pod)
    t3=$(run "$T" check "$STEPS" --sandbox "$ID" --step ct)
    first+=("$t1"); steady+=($(( (t3 - t1) / 2 )))
  done
  echo "$(median "${first[@]}") $(pct 10 "${first[@]}") $(pct 90 "${first[@]}") $(median "${steady[@]}") $(pct 10 "${steady[@]}") $(pct 90 "${steady[@]}")"
}
"$T" check "$STEPS" --sandbox "$ID" >/dev/null || { echo "the fixture's checks do not pass on this sandbox"; exit 1; }
read -r if1 if1lo if1hi is is_lo is_hi <<<"$(per_step)"
read -r af1 af1lo af1hi as as_lo as_hi <<<"$(TPLAB_FACTS_VIA=agent per_step)"
trips=$(TPLAB_FACTS_VIA=agent TPLAB_AGENT_LOG=batches "$T" check "$STEPS" --sandbox "$ID" 2>&1 >/dev/null | grep -c '^tplab agent: request ')
printf '\nper-step latency, us (median [p10-p90] over %s runs; %s agent round trips for the 3 steps):\n' "$M" "$trips"
printf '  %-34s %-26s %s\n' "" "in-process" "through the agent"
printf '  %-34s %-26s %s\n' "first step (process + agent start)" "$if1 [$if1lo-$if1hi]" "$af1 [$af1lo-$af1hi]"
printf '  %-34s %-26s %s\n' "steady-state step" "$is [$is_lo-$is_hi]" "$as [$as_lo-$as_hi]"
