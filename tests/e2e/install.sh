#!/usr/bin/env bash
# Installs (idempotently) playwright-core (npm, pinned by package-lock.json) into
# tests/e2e/node_modules: the browser tests of `tplab serve` drive Debian's chromium
# with it (tests/integration/serve.rs). No browser download; needs no root.
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -f node_modules/playwright-core/package.json ] || ! cmp -s package-lock.json node_modules/.package-lock.json.tplab; then
  npm ci --no-audit --no-fund --silent
  cp package-lock.json node_modules/.package-lock.json.tplab
fi
echo "browser test tools: ok (playwright-core $(node -p "require('./node_modules/playwright-core/package.json').version"))"
