#!/usr/bin/env bash
# Watch-mode latency: the time from a change of the student's state (a route, a
# neighbour, a ping) to the tick on screen, while `tplab run` watches in tmux.
# Event-driven watch (netlink/conntrack notifications, the observer's ring buffer) and
# the old 1 s polling (TPLAB_WATCH_POLL=1) run side by side on one sandbox, their rounds
# interleaved; each prints p50/p95/min/max over ROUNDS changes.
#
#   sudo bench/watch/run.sh [ROUNDS]      (default 21: 7 routes, 7 neighbours, 7 pings)
#
# A ping is three echo requests 0.2 s apart (a student pings more than once): the
# observer is restarted between two watch rounds, and a lone packet may fall in that gap.
# The delay before each change is random (0.2-1.2 s) so changes fall at every phase of
# the polling period. The screen is read every ~5 ms: figures carry that resolution.
set -euo pipefail
ROUNDS=${1:-21}
cd "$(dirname "$0")/../.."
TPLAB=${TPLAB:-$PWD/target/release/tplab}
[ -x "$TPLAB" ] || { echo "build first: cargo build --release -p tplab" >&2; exit 1; }
command -v tmux >/dev/null || { echo "needs tmux" >&2; exit 1; }
WORK=$(mktemp -d)
ID=""
cleanup() {
  for m in event poll; do tmux -L "tplab-watch-$$" kill-session -t "$m" 2>/dev/null || true; done
  tmux -L "tplab-watch-$$" kill-server 2>/dev/null || true
  [ -n "$ID" ] && "$TPLAB" sandbox down "$ID" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
export TPLAB_STATE_DIR=$WORK/state

ID=$("$TPLAB" sandbox up --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
POD_NS=tplab-$ID-pod
POD_IP=$(ip -n "$POD_NS" -j -4 addr show dev eth0 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["addr_info"][0]["local"])')
WORLD_IP=203.0.113.10

# One lab per mode (distinct prefixes: the two sessions never see each other's changes).
gen_lab() { # mode octet
  local mode=$1 o=$2
  {
    printf -- '---\nid: watch-bench-%s\ntitle: watch latency\nenvironments: [sandbox]\nroles: [pod, node, local]\n---\n\n' "$mode"
    for i in $(seq 1 "$ROUNDS"); do
      printf '## Step %s {#s%s}\n\n```check\n' "$i" "$i"
      case $((i % 3)) in
        1) printf -- '- name: route %s\n  route: { dst: 192.0.%s.%s/32, dev: eth0 }\n  target: pod\n' "$i" "$o" "$i" ;;
        2) printf -- '- name: neighbour %s\n  neighbour: { ip: 198.18.%s.%s, dev: eth0 }\n  target: pod\n' "$i" "$o" "$i" ;;
        0) printf -- '- name: ping %s\n  packets:\n    proto: icmp\n    src: "{{ pod_ip }}"\n    dst: "{{ world_ip }}"\n    within: 8s\n    path:\n      - { at: "pod:eth0", dir: egress }\n' "$i" ;;
      esac
      printf '```\n\n'
    done
  } > "$WORK/$mode.md"
}
gen_lab event 2
gen_lab poll 3

T="tmux -L tplab-watch-$$"
screen() { $T capture-pane -p -J -S -5000 -t "$1"; }
count() { screen "$1" | grep -c "$2" || true; }
wait_count() { # session pattern n -> waits until the pattern shows n times
  local end=$((SECONDS + 30))
  while [ "$(count "$1" "$2")" -lt "$3" ]; do
    [ $SECONDS -lt $end ] || { echo "timeout waiting for '$2' x$3 in $1:" >&2; screen "$1" | tail -20 >&2; exit 1; }
    sleep 0.005
  done
}
start() { # mode env
  $T new-session -d -s "$1" -x 120 -y 40 \
    "env $2 TPLAB_STATE_DIR=$WORK/state-$1 $TPLAB run $WORK/$1.md --sandbox $ID --no-color; sleep 600"
}
start event ""
start poll TPLAB_WATCH_POLL=1

change() { # mode round octet
  local i=$2 o=$3
  case $(( i % 3 )) in
    1) ip -n "$POD_NS" route add "192.0.$o.$i/32" dev eth0 ;;
    2) ip -n "$POD_NS" neigh replace "198.18.$o.$i" dev eth0 lladdr "02:00:00:00:$o:$(printf %02x "$i")" nud permanent ;;
    0) ip netns exec "$POD_NS" ping -c 3 -i 0.2 -W 1 "$WORLD_IP" >/dev/null 2>&1 & ;;
  esac
}

declare -A LAT
for i in $(seq 1 "$ROUNDS"); do
  for mode in event poll; do
    o=2; [ $mode = poll ] && o=3
    wait_count "$mode" "What do you want to do" "$i"
    $T send-keys -t "$mode" Enter   # the first entry: watch
    wait_count "$mode" "Press Enter to stop watching" "$i"
    sleep "0.$((RANDOM % 10 + 2))"
    t0=$(date +%s%N)
    change "$mode" "$i" "$o"
    wait_count "$mode" "All checks pass for this step" "$i"
    t1=$(date +%s%N)
    LAT[$mode]+="$(( (t1 - t0) / 1000000 )) "
  done
done

stats() {
  python3 - "$@" <<'PY'
import sys, statistics
name, *xs = sys.argv[1:]
xs = sorted(int(x) for x in xs)
q = lambda p: xs[min(len(xs) - 1, int(round(p * (len(xs) - 1))))]
print(f"{name:<28} p50 {q(.5):>5} ms   p95 {q(.95):>5} ms   min {xs[0]:>5}   max {xs[-1]:>5}   (n={len(xs)})")
PY
}
echo "watch mode: state change -> tick on screen ($ROUNDS rounds each, interleaved; routes, neighbours, pings)"
# shellcheck disable=SC2086
stats "event-driven" ${LAT[event]}
# shellcheck disable=SC2086
stats "1 s polling (TPLAB_WATCH_POLL=1)" ${LAT[poll]}
for kind in route neighbour ping; do
  for mode in event poll; do
    set -- ${LAT[$mode]}
    xs=(); j=0
    for v in "$@"; do j=$((j + 1)); case $((j % 3)) in 1) k=route;; 2) k=neighbour;; 0) k=ping;; esac; [ $k = $kind ] && xs+=("$v"); done
    stats "  $kind, $mode" "${xs[@]}"
  done
done
