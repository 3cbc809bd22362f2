#!/usr/bin/env bash
# Parse + lint a generated 500-step lab (release build) and print the figures.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo bench -p tplab --bench parse 2>/dev/null
