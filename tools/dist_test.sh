#!/usr/bin/env bash
# tools/dist_test.sh CONFIG CHECKPOINT GPUS [test.py args...]   (CPU processes with gloo when no GPU)
set -euo pipefail
CONFIG=$1
CHECKPOINT=$2
GPUS=$3
exec bash "$(dirname "$0")/dist_launch.sh" test.py "$CONFIG" "$GPUS" "$CHECKPOINT" "${@:4}"
