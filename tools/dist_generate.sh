#!/usr/bin/env bash
# tools/dist_generate.sh CONFIG NPROC [generate.py args...]
exec bash "$(dirname "$0")/dist_launch.sh" generate.py "$@"
