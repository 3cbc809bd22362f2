#!/usr/bin/env bash
# Benchmark: `tplab grade` over a generated class of N reports (default 200), target < 1 s.
# The class holds the cases grading must catch (tampered, copied, other lab version,
# duplicate, truncated file): see crates/report/src/fixture.rs `class()`.
# Usage: bench/grade/run.sh [N] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/../.."
N="${1:-200}"
RUNS="${2:-5}"
cargo build -q --release -p tplab-report --example gen_reports --example grade
bin=target/release/examples
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$bin/gen_reports" "$work" "$N" >/dev/null
bytes=$(du -sk "$work/reports" | cut -f1)
times=()
for _ in $(seq "$RUNS"); do
  start=$(date +%s%N)
  # Exit status 1 is expected: the class contains flagged reports and a truncated file.
  "$bin/grade" "$work/reports" --lab "$work/lab.md" -o "$work/out" >/dev/null || [ $? -eq 1 ]
  end=$(date +%s%N)
  times+=($(( (end - start) / 1000000 )))
done
sorted=($(printf '%s\n' "${times[@]}" | sort -n))
flags=$(( $(wc -l < "$work/out/flags.csv") - 1 ))
echo "grade: $((N + 1)) files (${bytes} KiB), $RUNS runs: min ${sorted[0]} ms, median ${sorted[$((RUNS / 2))]} ms, max ${sorted[$((RUNS - 1))]} ms (target < 1000 ms)"
echo "       $flags flag/error lines in flags.csv; gradebook rows: $(( $(wc -l < "$work/out/canvas.csv") - 2 ))"
