#!/usr/bin/env bash
# Shared launcher behind slurm_train.sh / slurm_test.sh / slurm_generate.sh: srun, one task per
# process.
#   tools/slurm_launch.sh TOOL.py PARTITION JOB_NAME CONFIG [tool args...]
# GPUS (tasks, default 8), GPUS_PER_NODE (default 8), CPUS_PER_TASK (default 5), SRUN_ARGS,
# PYTHON as in the OpenMMLab toolboxes.
#
# GPUs are requested (--gres=gpu:N) only when the partition's nodes have GPU gres (asked of
# the scheduler with sinfo, not of the submitting host, which is often a login node without
# GPUs); GPUS_PER_NODE=0 never requests any. Without GPUs, GPUS counts CPU processes and the
# tasks use gloo (chosen in mmdatasetdm.utils.setup_distributed). A job smaller than a node
# (GPUS < GPUS_PER_NODE) asks for GPUS tasks and GPUs on one node, not for the whole node.
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

PER_NODE=$GPUS_PER_NODE
if [[ $PER_NODE -le 0 || $PER_NODE -gt $GPUS ]]; then
    PER_NODE=$GPUS
fi
GRES=()
if [[ $GPUS_PER_NODE -gt 0 ]] && sinfo -h -p "$PARTITION" -o %G 2>/dev/null | grep -q 'gpu'; then
    GRES=(--gres="gpu:${PER_NODE}")
fi
# shellcheck disable=SC2086
PYTHONPATH="$ROOT:${PYTHONPATH:-}" exec srun -p "$PARTITION" --job-name="$JOB_NAME" "${GRES[@]}" \
    --ntasks="$GPUS" --ntasks-per-node="$PER_NODE" --cpus-per-task="$CPUS_PER_TASK" \
    --kill-on-bad-exit=1 $SRUN_ARGS \
    "$PYTHON" -u "$ROOT/tools/$TOOL" "$CONFIG" --launcher slurm "${@:5}"
