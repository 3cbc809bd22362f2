#!/bin/sh
# Rebuilds tplab's committed eBPF objects from their C sources (needs clang + libbpf-dev).
# Usage: ebpf/build.sh [OUT_DIR]   (default: beside the sources)
# Builds from a fixed cwd with -fdebug-prefix-map so objects do not depend on where the
# checkout lives; tests/objects_fresh.rs compares a fresh build with the committed objects.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-}
CLANG=${CLANG:-clang}
multiarch=$(gcc -print-multiarch 2>/dev/null || echo "$(uname -m)-linux-gnu")
build() { # src-dir source object
    dir=$1 src=$2 obj=$3
    dest=${out:-$here/$dir}
    mkdir -p "$dest"
    (cd "$here/$dir" && "$CLANG" -O2 -g -target bpf -Wall -Werror \
        -fdebug-prefix-map="$here/$dir"=. -fdebug-prefix-map="$here"=. \
        -I"/usr/include/$multiarch" -I. \
        -c "$src" -o "$dest/$obj")
    echo "built $dest/$obj"
}
# bpf_lxc.o: named like Cilium's object for the endpoint (lxc) programs.
build bpf bpf_lxc.c bpf_lxc.o
build bpf observer.bpf.c observer.bpf.o
# sock_lb.bpf.o: the socket load-balancer (Cilium's bpf_sock.o counterpart).
build bpf sock_lb.bpf.c sock_lb.bpf.o
build tests/fixtures bad.bpf.c bad.bpf.o
