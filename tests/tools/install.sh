#!/usr/bin/env bash
# Installs (idempotently) the independent consumers the export tests run against tplab's
# JUnit XML: junitparser (PyPI, pinned in requirements.txt) into tests/tools/python, and
# junit2json (npm, pinned by package-lock.json) into tests/tools/node_modules. xmllint comes
# from Debian's libxml2-utils (scripts/setup.sh). Needs no root.
set -euo pipefail
cd "$(dirname "$0")"
want=$(sed -n 's/^junitparser==//p' requirements.txt)
if ! PYTHONPATH=python python3 -c "import sys, junitparser; sys.exit(junitparser.version != '$want')" 2>/dev/null; then
  rm -rf python
  python3 -m pip install --quiet --disable-pip-version-check --no-warn-script-location \
    --root-user-action=ignore --target python -r requirements.txt
fi
if [ ! -x node_modules/.bin/junit2json ] || ! cmp -s package-lock.json node_modules/.package-lock.json.tplab; then
  npm ci --no-audit --no-fund --silent
  cp package-lock.json node_modules/.package-lock.json.tplab
fi
echo "export test tools: ok (junitparser $want, junit2json $(node -p "require('./node_modules/junit2json/package.json').version"))"
