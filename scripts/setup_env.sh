#!/usr/bin/env bash
# Create (or bring up to date) the project's virtual environment, idempotently.
#
#   bash scripts/setup_env.sh
#
# What it does, from a clean clone on a fresh machine:
#   1. a virtual environment in $MMDATASETDM_VENV (default: <repo>/.venv);
#   2. torch + torchvision from the package registry (requirements/torch.txt);
#   3. mmcv 2.1.0 compiled from source with its CPU ops, once per (mmcv, torch,
#      python) triple; the wheel is cached in $MMDATASETDM_CACHE (default:
#      ~/.cache/mmdatasetdm) so later runs and later clones skip the ~25 minute build;
#   4. the OpenMMLab toolboxes (--no-deps), their runtime dependencies, diffusers,
#      transformers, the linter and this package (editable, with the repository root on
#      the path so that projects/ imports), all pinned by requirements/constraints.txt.
# A stamp file records the hash of the inputs; when nothing changed the script
# returns in about a second.
#
# pip is always run with --isolated: the machine's own pip configuration points
# at a local CPU-only torch file that does not match the registry's torchvision.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${MMDATASETDM_VENV:-$ROOT/.venv}
CACHE=${MMDATASETDM_CACHE:-$HOME/.cache/mmdatasetdm}
PYTHON=${PYTHON:-python3.11}
MMCV_VERSION=2.1.0
STAMP=$VENV/.mmdatasetdm-env

log() { printf '[setup_env %s] %s\n' "$(date +%H:%M:%S)" "$*"; }

inputs_hash() {
    cat "$ROOT"/requirements/*.txt "$ROOT/setup.py" "$ROOT/scripts/setup_env.sh" | sha256sum | cut -d' ' -f1
}

want=$(inputs_hash)
if [[ -f $STAMP && $(cat "$STAMP") == "$want" && -x $VENV/bin/python ]]; then
    log "environment in $VENV is up to date"
    exit 0
fi

start=$(date +%s)
if [[ ! -x $VENV/bin/python ]]; then
    log "creating virtual environment $VENV with $PYTHON"
    "$PYTHON" -m venv "$VENV"
fi
PY=$VENV/bin/python
pip_install() {
    # PIP_CERT is honoured explicitly because --isolated ignores environment variables.
    local cert_args=()
    [[ -n ${PIP_CERT:-} ]] && cert_args=(--cert "$PIP_CERT")
    "$PY" -m pip --isolated --disable-pip-version-check install --progress-bar off \
        "${cert_args[@]}" -c "$ROOT/requirements/constraints.txt" "$@"
}

log "build tools (setuptools < 81 keeps pkg_resources, which mmcv's build and mmengine need)"
pip_install -q --upgrade pip wheel ninja psutil setuptools

log "torch + torchvision"
pip_install -q -r "$ROOT/requirements/torch.txt"

TORCH_VERSION=$("$PY" -c 'import torch; print(torch.__version__.split("+")[0])')
PY_TAG=$("$PY" -c 'import sys; print(f"cp{sys.version_info.major}{sys.version_info.minor}")')
WHEEL_DIR=$CACHE/wheels/mmcv-$MMCV_VERSION-torch$TORCH_VERSION-$PY_TAG-cpu
if ! ls "$WHEEL_DIR"/mmcv-*.whl >/dev/null 2>&1; then
    log "building mmcv $MMCV_VERSION with CPU ops against torch $TORCH_VERSION (about 25 minutes on 2 cores)"
    mkdir -p "$WHEEL_DIR.partial"
    pip_install -q "numpy" "opencv-python-headless" addict yapf pyyaml packaging pillow "mmengine" --no-deps
    cert_args=()
    [[ -n ${PIP_CERT:-} ]] && cert_args=(--cert "$PIP_CERT")
    MMCV_WITH_OPS=1 FORCE_CUDA=0 MAX_JOBS=${MAX_JOBS:-$(nproc)} \
        "$PY" -m pip --isolated wheel --no-build-isolation --no-deps --progress-bar off "${cert_args[@]}" \
        -w "$WHEEL_DIR.partial" "mmcv==$MMCV_VERSION"
    rm -rf "$WHEEL_DIR"
    mv "$WHEEL_DIR.partial" "$WHEEL_DIR"   # the cache only ever holds finished wheels
else
    log "using cached mmcv wheel from $WHEEL_DIR"
fi

log "mmcv, OpenMMLab toolboxes (--no-deps) and runtime dependencies"
pip_install -q --no-deps "$WHEEL_DIR"/mmcv-*.whl
pip_install -q --no-deps -r "$ROOT/requirements/openmmlab.txt"
pip_install -q -r "$ROOT/requirements/runtime.txt"

log "mmdatasetdm (editable)"
pip_install -q --no-deps --no-build-isolation -e "$ROOT"
# The repository root on the environment's path (a .pth file), as OpenMMLab's old
# `pip install -e .` gave: configs (custom_imports) and tools then import projects.* as
# modules from any working directory, without PYTHONPATH.
SITE=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
echo "$ROOT" > "$SITE/mmdatasetdm_repository.pth"

log "checking imports"
"$PY" - <<'EOF'
import mmcv, mmengine, mmseg, mmdet, mmpose, diffusers, transformers, torch, torchvision
from mmcv.ops import nms  # compiled CPU ops
import mmdatasetdm
print('torch', torch.__version__, '| mmcv', mmcv.__version__, '| mmseg', mmseg.__version__,
      '| mmdet', mmdet.__version__, '| mmpose', mmpose.__version__, '| diffusers', diffusers.__version__)
EOF

echo "$want" > "$STAMP"
log "done in $(( $(date +%s) - start )) s"
