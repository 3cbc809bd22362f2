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
build() { # src-dir name
    dir=$1 name=$2
    dest=${out:-$here/$dir}
    mkdir -p "$dest"
    (cd "$here/$dir" && "$CLANG" -O2 -g -target bpf -Wall -Werror \
        -fdebug-prefix-map="$here/$dir"=. -fdebug-prefix-map="$here"=. \
        -I"/usr/include/$multiarch" -I. \
        -c "$name.bpf.c" -o "$dest/$name.bpf.o")
    echo "built $dest/$name.bpf.o"
}
build bpf from_container
build bpf observer
build tests/fixtures bad
