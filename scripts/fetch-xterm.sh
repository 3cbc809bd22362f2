#!/usr/bin/env bash
# Fetches the pinned xterm.js (and its fit add-on) from the npm registry into
# runner/assets/, where `tplab serve` embeds them with include_bytes!. The files are
# committed, so building tplab needs no network; run this only to change the version.
set -euo pipefail
cd "$(dirname "$0")/.."
XTERM=5.5.0
FIT=0.10.0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm init -y >/dev/null && npm i --no-audit --no-fund --silent "@xterm/xterm@$XTERM" "@xterm/addon-fit@$FIT")
out=runner/assets/xterm
mkdir -p "$out"
cp "$tmp/node_modules/@xterm/xterm/lib/xterm.js" "$out/xterm.js"
cp "$tmp/node_modules/@xterm/xterm/css/xterm.css" "$out/xterm.css"
cp "$tmp/node_modules/@xterm/addon-fit/lib/addon-fit.js" "$out/addon-fit.js"
cp "$tmp/node_modules/@xterm/xterm/LICENSE" "$out/LICENSE"
echo "xterm $XTERM, addon-fit $FIT -> $out"
