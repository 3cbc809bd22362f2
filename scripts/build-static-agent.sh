#!/bin/sh
# Builds a statically linked tplab (glibc's static libraries, on the gnu target: the
# only one installed) so `tplab agent` can be shipped alone into a node pod over exec
# stdin, with nothing of the tplab install and no shared library of the image.
# Usage: scripts/build-static-agent.sh [--release]   -> prints the binary's path
set -eu
cd "$(dirname "$0")/.."
profile=debug
flags=""
if [ "${1:-}" = "--release" ]; then profile=release; flags="--release"; fi
target=x86_64-unknown-linux-gnu
[ -f /usr/lib/x86_64-linux-gnu/libc.a ] || {
    echo "glibc's static libraries are missing: apt-get install libc6-dev" >&2
    exit 1
}
# --target keeps build scripts and proc macros dynamic (RUSTFLAGS then only apply to
# the target crates) and the output apart from the ordinary build.
RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static" \
    cargo build -p tplab --bin tplab --target "$target" $flags >&2
bin="$(pwd)/target/$target/$profile/tplab"
# Proof it is self-contained: no dynamic section (`file` says "static-pie linked"), and it
# answers from an empty directory with an empty environment.
case "$(file -b "$bin")" in
    *static*) ;;
    *) file "$bin" >&2; echo "not a static binary" >&2; exit 1 ;;
esac
empty=$(mktemp -d)
trap 'rmdir "$empty"' EXIT
answer=$(cd "$empty" && printf '%s\n' '{"format":"tplab.facts/1","id":"t","queries":[{"id":"a","kinds":["links"]}]}' |
    env -i "$bin" agent)
case "$answer" in
    *'"kind":"links"'*) ;;
    *) echo "the static agent did not answer: $answer" >&2; exit 1 ;;
esac
echo "$bin"
