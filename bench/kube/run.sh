#!/usr/bin/env bash
# Benchmark: the kube environment against a sandbox's Kubernetes API. Opening it (sweep,
# node pod, shipping tplab's binary into it over exec stdin, starting the node agent,
# reading the facts) — the first step's extra cost — then, steady state, each step's
# checks (report.json's duration_ms summed per step) over `run --auto` of the seed lab,
# its packets steps included (the node agent's eBPF observer: observe, watch, unobserve).
# Brings up its own sandbox, removed at exit.
# Usage: sudo bench/kube/run.sh [runs]   (default 3; TPLAB_BIN=path to skip the build)
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${1:-3}
[ "$(id -u)" = 0 ] || { echo "run as root (network namespaces)"; exit 1; }
if [ -n "${TPLAB_BIN:-}" ]; then T=$TPLAB_BIN; else cargo build -q --release -p tplab; T=$PWD/target/release/tplab; fi
ID=$("$T" sandbox up --json | sed -n 's/^  "id": "\(.*\)",$/\1/p')
[ -n "$ID" ] || { echo "sandbox up printed no id"; exit 1; }
OUT=$(mktemp -d)
trap '"$T" sandbox down "$ID" >/dev/null; rm -rf "$OUT"' EXIT
KC=$(TPLAB_SANDBOX=$ID "$T" sandbox kubeconfig)
LAB=tests/fixtures/labs/kube-lab-pod.md
echo "binary shipped: $(stat -c %s "$T") bytes"
for i in $(seq "$N"); do
  # A run of the small lab is open + one short step: its wall time is the open's cost.
  t0=$(date +%s%N)
  "$T" run "$LAB" --auto --env kube --kubeconfig "$KC" --report "$OUT/mini$i" >/dev/null
  t1=$(date +%s%N)
  echo "run $i: open (pods, shipping, agent, facts) + 2 short steps: $(( (t1 - t0) / 1000000 )) ms"
  "$T" run labs/ebpf-network-deep-dive --auto --env kube --pod pod --kubeconfig "$KC" --report "$OUT/seed$i" >/dev/null
done
python3 - "$OUT" "$N" <<'PY'
import json, sys, statistics
out, n = sys.argv[1], int(sys.argv[2])
per, kinds = {}, {}
for i in range(1, n + 1):
    r = json.load(open(f"{out}/seed{i}/report.json"))
    for s in r["steps"]:
        per.setdefault(s["id"], []).append(sum(c.get("duration_ms") or 0 for c in s["checks"]))
        # Which steps observe packets / read the CT maps through the node agent.
        kinds.setdefault(s["id"], set()).update(
            c["kind"] for c in s["checks"] if c.get("kind") in ("packets", "bpf_map"))
print("seed lab, checks per step (steady state, median ms over runs; p10-p90):")
for sid, ms in per.items():
    q = statistics.quantiles(ms, n=10) if len(ms) > 1 else [ms[0]] * 9
    tag = ",".join(sorted(kinds.get(sid, ())))
    print(f"  {sid:28} {statistics.median(ms):8.0f}  {q[0]:6.0f}-{q[-1]:<6.0f} {tag}")
PY
