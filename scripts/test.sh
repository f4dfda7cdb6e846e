#!/usr/bin/env bash
# Runs every test: the remote agent's (pytest) and the app's (vitest).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/python.sh
echo "== remote agent (pytest, $FRACTAL_PYTHON)"
"$FRACTAL_PYTHON" -m pytest -q remote-agent/tests
echo "== app (vitest)"
npx vitest run
