#!/usr/bin/env bash
# tools/slurm_generate.sh PARTITION JOB_NAME CONFIG OUT_DIR [generate.py args...]
set -euo pipefail
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
OUT_DIR=$4
exec bash "$(dirname "$0")/slurm_launch.sh" generate.py "$PARTITION" "$JOB_NAME" "$CONFIG" \
    --out="$OUT_DIR" "${@:5}"
