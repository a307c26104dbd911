#!/usr/bin/env bash
# Install everything (idempotent, see scripts/setup_env.sh), then run the test suite.
#
#   bash scripts/test.sh                 # all tests, the slow suite included (what CI runs)
#   bash scripts/test.sh -m "not slow"   # quick loop while developing
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${MMDATASETDM_VENV:-$ROOT/.venv}
bash "$ROOT/scripts/setup_env.sh"
cd "$ROOT"
if [[ $# -eq 0 ]]; then
    set -- tests -ra --durations=15
fi
exec "$VENV/bin/python" -m pytest "$@"
