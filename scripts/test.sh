#!/usr/bin/env bash
# Runs every test: the remote agent's (pytest) and the app's (vitest).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/python.sh
# The typecheck runs beside pytest: tsc keeps one core busy, and pytest leaves about one idle (its tests
# wait on daemons and sockets), so this saves the typecheck's ~45 s. Its output is printed after pytest's.
typecheck_log="$(mktemp)"
trap 'rm -f "$typecheck_log"' EXIT
( npx tsc -p tsconfig.json --noEmit && npx tsc -p src-renderer/tsconfig.json --noEmit ) >"$typecheck_log" 2>&1 &
typecheck=$!
echo "== remote agent (pytest, $FRACTAL_PYTHON)"
"$FRACTAL_PYTHON" -m pytest -q remote-agent/tests || { wait "$typecheck" || true; exit 1; }
echo "== typecheck (main + CLI, renderer)"
status=0; wait "$typecheck" || status=$?
cat "$typecheck_log"
[ "$status" -eq 0 ] || { echo "typecheck failed" >&2; exit "$status"; }
echo "== app (vitest)"
npx vitest run
