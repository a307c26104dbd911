#!/usr/bin/env bash
# tools/slurm_generate.sh PARTITION JOB_NAME CONFIG OUT_DIR [generate.py args...]
# GPUS=16 GPUS_PER_NODE=8 CPUS_PER_TASK=5 SRUN_ARGS="..." as in slurm_train.sh; each task
# writes its own shard, rank 0 merges them. After a failure, the same command with --resume.
set -euo pipefail
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
OUT_DIR=$4
exec bash "$(dirname "$0")/slurm_launch.sh" generate.py "$PARTITION" "$JOB_NAME" "$CONFIG" \
    --out="$OUT_DIR" "${@:5}"
