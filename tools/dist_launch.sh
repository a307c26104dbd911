#!/usr/bin/env bash
# Shared launcher behind dist_train.sh / dist_test.sh / dist_generate.sh: torchrun on this node.
#   tools/dist_launch.sh TOOL.py CONFIG NPROC [tool args...]
# NNODES, NODE_RANK, MASTER_ADDR, PORT as in the OpenMMLab toolboxes. Without a GPU the
# processes use gloo on the CPU (chosen in mmdatasetdm.utils.setup_distributed).
set -euo pipefail
TOOL=$1
CONFIG=$2
NPROC=$3
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-"127.0.0.1"}
PYTHON=${PYTHON:-python}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PYTHONPATH="$ROOT:${PYTHONPATH:-}" exec "$PYTHON" -m torch.distributed.run \
    --nnodes="$NNODES" --node_rank="$NODE_RANK" --master_addr="$MASTER_ADDR" \
    --nproc_per_node="$NPROC" --master_port="$PORT" -- \
    "$ROOT/tools/$TOOL" "$CONFIG" --launcher pytorch "${@:4}"
