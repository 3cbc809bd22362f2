#!/bin/sh
# `tplab check` of a whole lab on a ready sandbox, nobody sending traffic (release build):
# min / median / max over ROUNDS, beside what observing the lab's `packets` windows one
# after another would wait (the sum of their `within`, as before the shared window) and
# what the one shared window waits (the longest). Also `check --step STEP`.
# Needs root. Usage: bench/check/run.sh [ROUNDS=5] [LAB=labs/ebpf-network-deep-dive] [STEP=node-conntrack]
# Only the sandbox this script creates is removed.
set -eu
cd "$(dirname "$0")/../.."
rounds=${1:-5}
lab=${2:-labs/ebpf-network-deep-dive}
step=${3:-node-conntrack}
[ "$(id -u)" = 0 ] || { echo "bench/check/run.sh needs root: sudo $0 $rounds" >&2; exit 1; }
export CARGO_INCREMENTAL=0
[ -n "${TPLAB:-}" ] || cargo build --release -q -p tplab
tplab=${TPLAB:-$PWD/target/release/tplab}
id=$("$tplab" --json sandbox up | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
trap '"$tplab" sandbox down "$id" >/dev/null 2>&1 || true' EXIT INT TERM
now() { date +%s%N; }
whole="" one=""
i=0
while [ $i -lt "$rounds" ]; do
	t0=$(now); "$tplab" check "$lab" --sandbox "$id" >/dev/null 2>&1 || true; t1=$(now)
	"$tplab" check "$lab" --sandbox "$id" --step "$step" >/dev/null 2>&1 || true; t2=$(now)
	whole="$whole $(((t1 - t0) / 1000000))" one="$one $(((t2 - t1) / 1000000))"
	i=$((i + 1))
done
python3 - "$whole" "$one" "$lab" <<'PY'
import pathlib, re, statistics, sys
w = [int(x) for x in sys.argv[1].split()]
o = [int(x) for x in sys.argv[2].split()]
lab = pathlib.Path(sys.argv[3])
text = (lab / "lab.md" if lab.is_dir() else lab).read_text()
# `within:` of each packets check (seconds; `8s`, `1500ms`).
def secs(v):
    return float(v[:-2]) / 1000 if v.endswith("ms") else float(v.rstrip("s"))
windows = [secs(m) for m in re.findall(r"^\s+within:\s*(\S+)", text, re.M)]
print(f"load {open('/proc/loadavg').read().split()[0]}; packets windows of the lab: {windows} s")
print(f"whole lab      {min(w)} / {statistics.median(w)} / {max(w)} ms min/median/max over {len(w)}"
      f"  (windows one after another: {sum(windows):.0f} s; shared window: {max(windows, default=0):.0f} s)")
print(f"--step         {min(o)} / {statistics.median(o)} / {max(o)} ms")
PY
