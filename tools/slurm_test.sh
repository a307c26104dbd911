#!/usr/bin/env bash
# tools/slurm_test.sh PARTITION JOB_NAME CONFIG CHECKPOINT [test.py args...]
# GPUS=8 GPUS_PER_NODE=8 CPUS_PER_TASK=5 SRUN_ARGS="..." as in the OpenMMLab toolboxes
# (see tools/slurm_launch.sh; on CPU nodes GPUS counts processes, which use gloo).
set -euo pipefail
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
CHECKPOINT=$4
exec bash "$(dirname "$0")/slurm_launch.sh" test.py "$PARTITION" "$JOB_NAME" "$CONFIG" \
    "$CHECKPOINT" "${@:5}"
