#!/usr/bin/env bash
# Fills fuzz/corpus/lab/ (git-ignored) with real labs to start from: the shipped labs,
# the test fixtures and the Markdown examples of the docs. Safe to run again: files are
# named by their content's hash.
set -euo pipefail
cd "$(dirname "$0")/.."
out=fuzz/corpus/lab
mkdir -p "$out"
add() { cp "$1" "$out/seed-$(sha1sum < "$1" | cut -c1-16)"; }
for f in labs/*/lab.md; do add "$f"; done
find tests/fixtures -name '*.md' -print0 | while IFS= read -r -d '' f; do add "$f"; done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Each ````markdown block of the docs is a lab (or part of one) as an author writes it.
for doc in docs/*.md README.md; do
  awk -v prefix="$tmp/$(basename "$doc" .md)-" '
    /^````markdown/ { n++; file = prefix n ".md"; inside = 1; next }
    /^````/ && inside { inside = 0; close(file); next }
    inside { print > file }' "$doc"
done
for f in "$tmp"/*.md; do
  if [ -e "$f" ]; then add "$f"; fi
done
echo "seed corpus: $(find "$out" -name 'seed-*' | wc -l) file(s) in $out"
