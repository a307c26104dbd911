#!/usr/bin/env bash
# tools/dist_train.sh CONFIG GPUS [train.py args...]   (CPU processes with gloo when no GPU)
exec bash "$(dirname "$0")/dist_launch.sh" train.py "$@"
