#!/usr/bin/env bash
# tools/slurm_train.sh PARTITION JOB_NAME CONFIG WORK_DIR [train.py args...]
# GPUS=16 GPUS_PER_NODE=8 CPUS_PER_TASK=5 SRUN_ARGS="..." as in the OpenMMLab toolboxes
# (see tools/slurm_launch.sh; on CPU nodes GPUS counts processes, which use gloo).
set -euo pipefail
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
WORK_DIR=$4
exec bash "$(dirname "$0")/slurm_launch.sh" train.py "$PARTITION" "$JOB_NAME" "$CONFIG" \
    --work-dir="$WORK_DIR" "${@:5}"
