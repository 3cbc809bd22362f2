#!/bin/sh
# `tplab sandbox up` + `tplab sandbox down ID` through the CLI a user runs (release build:
# netns, links, rules, the eBPF datapath, the world's HTTP server and the Kubernetes API
# daemon) versus the iproute2/iptables script topology.sh (same topology and rules, the same
# HTTP daemon; no eBPF, no API), interleaved in the same run, alternating which goes first.
# Prints min / median / max of each and the ratio of the medians (plus the per-round ratio's
# spread). Needs root. Usage: bench/sandbox/cli.sh [ROUNDS=20]
# Only the sandboxes this script creates are removed (never `down --all`).
# LAB=path builds that lab's topology (`sandbox up --lab`) and PEER=script is its classic
# build (bench/sandbox/nodes.sh: the 3-node lab and topology_nodes.sh).
set -eu
cd "$(dirname "$0")/../.."
rounds=${1:-20}
if [ "$(id -u)" != 0 ]; then
	echo "bench/sandbox/cli.sh needs root (network namespaces, BPF): sudo $0 $rounds" >&2
	exit 1
fi
export CARGO_INCREMENTAL=0
[ -n "${TPLAB:-}" ] || cargo build --release -q -p tplab
tplab=${TPLAB:-$PWD/target/release/tplab}
script=${PEER:-$PWD/bench/sandbox/topology.sh}
lab=${LAB:+--lab $LAB}
out=$(mktemp -d)
live=""
cleanup() {
	for id in $live; do "$tplab" sandbox down "$id" >/dev/null 2>&1 || true; done
	for f in "$out"/script-*; do
		[ -e "$f" ] && sh "$script" down "$(cat "$f")" >/dev/null 2>&1 || true
	done
	rm -rf "$out"
}
trap cleanup EXIT INT TERM
now() { date +%s%N; }

cli_round() { # appends "up_ns down_ns" to $out/cli
	t0=$(now)
	# shellcheck disable=SC2086 # $lab is empty or two words
	id=$("$tplab" --json sandbox up $lab | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
	t1=$(now)
	live="$live $id"
	"$tplab" sandbox down "$id" >/dev/null
	t2=$(now)
	live=$(echo "$live" | sed "s/ $id//")
	echo "$((t1 - t0)) $((t2 - t1))" >>"$out/cli"
}
script_round() { # appends "up_ns down_ns" to $out/script
	id="bc$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')"
	echo "$id" >"$out/script-$id"
	t0=$(now)
	HTTPD="$tplab __tplab-sandbox-daemon http --id $id --bind 203.0.113.10:80" sh "$script" up "$id"
	t1=$(now)
	sh "$script" down "$id"
	t2=$(now)
	rm -f "$out/script-$id"
	echo "$((t1 - t0)) $((t2 - t1))" >>"$out/script"
}

echo "machine: $(nproc) cores, kernel $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)"
# Two warm-up rounds each (page cache, module loading), not counted.
cli_round; script_round; : >"$out/cli"; : >"$out/script"
i=0
while [ $i -lt "$rounds" ]; do
	if [ $((i % 2)) = 0 ]; then cli_round; script_round; else script_round; cli_round; fi
	i=$((i + 1))
done
python3 - "$out/cli" "$out/script" <<'PY'
import statistics, sys
def load(p):
    return [tuple(int(x) / 1e6 for x in l.split()) for l in open(p) if l.strip()]
cli, sh = load(sys.argv[1]), load(sys.argv[2])
def row(name, rows):
    cols = {"up": [r[0] for r in rows], "down": [r[1] for r in rows], "up+down": [r[0] + r[1] for r in rows]}
    cells = "  ".join(f"{k} {min(v):6.1f} / {statistics.median(v):6.1f} / {max(v):6.1f}" for k, v in cols.items())
    print(f"{name:<22} {cells}   ms min/median/max over {len(rows)}")
    return statistics.median(cols["up+down"])
print(f"load now {open('/proc/loadavg').read().split()[0]}")
mc = row("tplab CLI", cli)
ms = row("iproute2 script", sh)
ratios = sorted((s[0] + s[1]) / (c[0] + c[1]) for c, s in zip(cli, sh))
print(f"script / CLI, up+down medians: {ms / mc:.2f}x (per round {ratios[0]:.2f}x .. {ratios[-1]:.2f}x, median {statistics.median(ratios):.2f}x)")
PY
