#!/usr/bin/env bash
# The main job on the embedded default (demo world + the shipped tiny SD model):
# sets up the environment (same script as the tests), then trains the P-Decoder on 100
# labelled images, generates a synthetic set, trains the downstream segmentor on real only
# and on real + synthetic, and prints the IoUMetric table on test and test_shifted.
#
#   bash scripts/demo.sh            # reuses finished stages of an earlier run
#   bash scripts/demo.sh --fresh    # recompute everything
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${MMDATASETDM_VENV:-$ROOT/.venv}
bash "$ROOT/scripts/setup_env.sh"
cd "$ROOT"
exec "$VENV/bin/python" projects/demo_world/tools/run_demo.py "$@"
