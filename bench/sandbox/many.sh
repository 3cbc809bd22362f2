#!/bin/sh
# N sandboxes side by side through the CLI (release build): time of each `tplab sandbox up`
# (min / median / max, first vs last tenth), memory per sandbox (the kernel's BPF map
# memlock from `bpftool -j map show pinned`, the daemons' RSS and PSS from /proc, the drop
# of MemAvailable), then the time to remove them all.
# Removes ONLY the sandboxes it created, one `tplab sandbox down ID` each (never
# `down --all`: other sandboxes on the machine stay), also on Ctrl-C.
# Needs root. Usage: bench/sandbox/many.sh [N=100]
set -eu
cd "$(dirname "$0")/../.."
n=${1:-100}
if [ "$(id -u)" != 0 ]; then
	echo "bench/sandbox/many.sh needs root (network namespaces, BPF): sudo $0 $n" >&2
	exit 1
fi
for t in bpftool python3; do
	command -v $t >/dev/null || { echo "missing $t" >&2; exit 1; }
done
export CARGO_INCREMENTAL=0
[ -n "${TPLAB:-}" ] || cargo build --release -q -p tplab
tplab=${TPLAB:-$PWD/target/release/tplab}
out=$(mktemp -d)
cleanup() {
	[ -f "$out/ids" ] && while read -r id _; do
		"$tplab" sandbox down "$id" >/dev/null 2>&1 || true
	done <"$out/ids"
	rm -rf "$out"
}
trap cleanup EXIT INT TERM
now() { date +%s%N; }
avail() { awk '/^MemAvailable/ {print $2}' /proc/meminfo; }

echo "machine: $(nproc) cores, kernel $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)"
before=$(avail)
i=0
while [ $i -lt "$n" ]; do
	t0=$(now)
	id=$("$tplab" --json sandbox up | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
	t1=$(now)
	echo "$id $((t1 - t0))" >>"$out/ids"
	i=$((i + 1))
done
sleep 1 # let the freshly started daemons settle before reading their memory
after=$(avail)

# Per sandbox: memlock of its pinned maps, RSS/PSS of its daemons.
while read -r id _; do
	maps=0
	for m in $(find "/run/tplab/bpf/$id" -type f -name 'cilium_ct*' 2>/dev/null); do
		b=$(bpftool -j map show pinned "$m" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("bytes_memlock", 0))')
		maps=$((maps + b))
	done
	rss=0 pss=0
	for pid in $(python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); print(" ".join(str(p) for p in set(([s["daemon_pid"]] if s.get("daemon_pid") else []) + s.get("daemons", []))))' "/run/tplab/sandboxes/$id.json"); do
		r=$(awk '/^Rss:/ {print $2}' "/proc/$pid/smaps_rollup" 2>/dev/null || echo 0)
		p=$(awk '/^Pss:/ {print $2}' "/proc/$pid/smaps_rollup" 2>/dev/null || echo 0)
		rss=$((rss + ${r:-0})) pss=$((pss + ${p:-0}))
	done
	echo "$id $maps $rss $pss" >>"$out/mem"
done <"$out/ids"

t0=$(now)
while read -r id _; do
	d0=$(now)
	"$tplab" sandbox down "$id" >/dev/null
	echo "$(( $(now) - d0 ))" >>"$out/down"
done <"$out/ids"
t1=$(now)
mv "$out/ids" "$out/ups" # removed: nothing left for the trap

python3 - "$n" "$out" "$before" "$after" "$((t1 - t0))" <<'PY'
import statistics, sys
n, out = int(sys.argv[1]), sys.argv[2]
before, after, down_total = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]) / 1e6
ups = [int(l.split()[1]) / 1e6 for l in open(f"{out}/ups") if l.strip()]
downs = [int(l) / 1e6 for l in open(f"{out}/down") if l.strip()]
mem = [[int(x) for x in l.split()[1:]] for l in open(f"{out}/mem") if l.strip()]
def spread(v):
    return f"{min(v):.1f} / {statistics.median(v):.1f} / {max(v):.1f}"
tenth = max(1, n // 10)
print(f"sandbox up, ms min/median/max over {n}: {spread(ups)} "
      f"(first {tenth}: median {statistics.median(ups[:tenth]):.1f}, last {tenth}: {statistics.median(ups[-tenth:]):.1f})")
mib = lambda b: b / 1048576
maps = [m[0] for m in mem]
rss = [m[1] * 1024 for m in mem]
pss = [m[2] * 1024 for m in mem]
print(f"per sandbox, MiB median (min..max): BPF maps memlock {mib(statistics.median(maps)):.2f} "
      f"({mib(min(maps)):.2f}..{mib(max(maps)):.2f}), daemons RSS {mib(statistics.median(rss)):.2f} "
      f"({mib(min(rss)):.2f}..{mib(max(rss)):.2f}), daemons PSS {mib(statistics.median(pss)):.2f}")
print(f"per sandbox, maps + daemons PSS: {mib(statistics.median(maps) + statistics.median(pss)):.2f} MiB; "
      f"MemAvailable dropped {(before - after) / 1024 / n:.2f} MiB per sandbox "
      f"(whole machine, includes netns/veth/nftables kernel memory and other load)")
print(f"sandbox down ID, ms min/median/max: {spread(downs)}; all {n}: {down_total / 1000:.2f} s")
PY
