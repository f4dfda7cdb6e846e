#!/usr/bin/env bash
# Runs every test: the remote agent's (pytest) and the app's (vitest).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/python.sh
echo "== remote agent (pytest, $FRACTAL_PYTHON)"
"$FRACTAL_PYTHON" -m pytest -q remote-agent/tests
echo "== typecheck (main + CLI, renderer)"
npx tsc -p tsconfig.json --noEmit
npx tsc -p src-renderer/tsconfig.json --noEmit
echo "== app (vitest)"
npx vitest run
