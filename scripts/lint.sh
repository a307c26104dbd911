#!/usr/bin/env bash
# Lint the repository in the OpenMMLab manner: flake8 (pycodestyle + pyflakes) and isort,
# both configured in setup.cfg (line length 100). .ci/run runs this before the tests.
#
#   bash scripts/lint.sh          # check (a few seconds)
#   bash scripts/lint.sh --fix    # sort the imports in place (flake8's findings stay yours)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${MMDATASETDM_VENV:-$ROOT/.venv}
bash "$ROOT/scripts/setup_env.sh"
cd "$ROOT"
if [[ ${1:-} == --fix ]]; then
    "$VENV/bin/isort" --quiet .
fi
"$VENV/bin/isort" --check-only --diff --quiet .
"$VENV/bin/flake8" .
echo "lint: flake8 and isort clean"
