#!/usr/bin/env bash
# Shared launcher behind slurm_train.sh / slurm_generate.sh: srun, one task per process.
#   tools/slurm_launch.sh TOOL.py PARTITION JOB_NAME CONFIG [tool args...]
# GPUS (tasks), GPUS_PER_NODE, CPUS_PER_TASK, SRUN_ARGS as in the OpenMMLab toolboxes.
# On a cluster without GPUs (no nvidia-smi, or GPUS_PER_NODE=0) no --gres is requested and
# the tasks use gloo on the CPU.
set -euo pipefail
TOOL=$1
PARTITION=$2
JOB_NAME=$3
CONFIG=$4
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-8}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SRUN_ARGS=${SRUN_ARGS:-""}
PYTHON=${PYTHON:-python}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
GRES=()
if [[ $GPUS_PER_NODE -gt 0 ]] && command -v nvidia-smi >/dev/null 2>&1; then
    GRES=(--gres="gpu:${GPUS_PER_NODE}")
fi
PER_NODE=$GPUS_PER_NODE
[[ $PER_NODE -gt 0 ]] || PER_NODE=$GPUS
# shellcheck disable=SC2086
PYTHONPATH="$ROOT:${PYTHONPATH:-}" exec srun -p "$PARTITION" --job-name="$JOB_NAME" "${GRES[@]}" \
    --ntasks="$GPUS" --ntasks-per-node="$PER_NODE" --cpus-per-task="$CPUS_PER_TASK" \
    --kill-on-bad-exit=1 $SRUN_ARGS \
    "$PYTHON" -u "$ROOT/tools/$TOOL" "$CONFIG" --launcher slurm "${@:5}"
