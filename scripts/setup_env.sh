#!/usr/bin/env bash
# Create (or bring up to date) the project's virtual environment, idempotently.
#
#   bash scripts/setup_env.sh                     # install / bring up to date
#   bash scripts/setup_env.sh --print-mmcv-plan   # print how mmcv would be built, change nothing
#
# What it does, from a clean clone on a fresh machine:
#   1. a virtual environment in $MMDATASETDM_VENV (default: <repo>/.venv);
#   2. torch + torchvision from the package registry (requirements/torch.txt);
#   3. mmcv 2.1.0 compiled from source with its compiled ops, once per (mmcv, torch,
#      python, build) combination; the wheel is cached in $MMDATASETDM_CACHE (default:
#      ~/.cache/mmdatasetdm) so later runs and later clones skip the build (~25 minutes
#      on 2 cores with CPU ops only, longer with CUDA ops). The build is
#        - CPU ops only (today's default) when MMCV_CUDA=0, or when MMCV_CUDA is unset or
#          "auto" and no CUDA device is visible (`nvidia-smi -L` lists no GPU);
#        - CPU + CUDA ops when MMCV_CUDA=1, or when MMCV_CUDA is unset/"auto" and
#          nvidia-smi lists a GPU (and torch is a CUDA build). A CUDA build needs no GPU:
#          nvcc and the CUDA headers come from the package registry (nvidia-cuda-nvcc ...,
#          matching torch's CUDA major.minor) unless MMCV_CUDA_HOME names a local toolkit;
#          the architectures are TORCH_CUDA_ARCH_LIST if set, else the visible GPUs'
#          compute capability, else "8.0;9.0" (A100, H100/H200);
#   4. the OpenMMLab toolboxes (--no-deps), their runtime dependencies, diffusers,
#      transformers, the linter and this package (editable, with the repository root on
#      the path so that projects/ imports), all pinned by requirements/constraints.txt.
# A stamp file records the hash of the inputs and the mmcv build (cpu, or CUDA version
# and architectures); when nothing changed the script returns in about a second.
#
# --print-mmcv-plan prints the mmcv build decision as key=value lines (mode, reason, arch
# list, CUDA version, nvcc package, wheel directory ...) and exits without creating or
# changing anything. It reads torch's CUDA version from the environment's torch if there
# is one; MMDATASETDM_TORCH_CUDA (e.g. 13.0, or none for a CPU-only torch) overrides it
# for tests. A real run always uses the installed torch.
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
DEFAULT_CUDA_ARCH_LIST="8.0;9.0"   # A100; H100/H200
PINNED_TORCH_CUDA=13.0             # CUDA of the Linux torch wheel requirements/torch.txt pins

log() { printf '[setup_env %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
die() { printf '[setup_env %s] error: %s\n' "$(date +%H:%M:%S)" "$*" >&2; exit 1; }

PLAN_ONLY=0
case ${1:-} in
    "") ;;
    --print-mmcv-plan) PLAN_ONLY=1 ;;
    -h | --help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d'; exit 0 ;;
    *) printf 'setup_env.sh: unknown argument %s (try --help)\n' "$1" >&2; exit 2 ;;
esac

inputs_hash() {
    cat "$ROOT"/requirements/*.txt "$ROOT/setup.py" "$ROOT/scripts/setup_env.sh" | sha256sum | cut -d' ' -f1
}

# --- the mmcv build plan -------------------------------------------------------------

# GPUS / GPU_NOTE: how many GPUs nvidia-smi lists; a missing or failing nvidia-smi is 0.
detect_gpus() {
    local out
    GPUS=0
    if ! command -v nvidia-smi >/dev/null 2>&1; then
        GPU_NOTE="nvidia-smi not found"
    elif ! out=$(timeout 30 nvidia-smi -L 2>/dev/null); then
        GPU_NOTE="nvidia-smi -L failed"
    else
        GPUS=$(grep -c '^GPU [0-9]' <<<"$out" || true)
        GPU_NOTE="nvidia-smi lists $GPUS GPU(s)"
    fi
}

# "9.0 8.0,8.6+PTX;9.0" -> "8.0;8.6+PTX;9.0" (sorted, unique); fails on a malformed entry.
normalize_arch_list() {
    local parts=() a
    read -ra parts <<<"$(tr ',;\n' '   ' <<<"$1")"
    ((${#parts[@]})) || return 1
    for a in "${parts[@]}"; do
        [[ $a =~ ^[0-9]+\.[0-9]+[a-z]?(\+PTX)?$ ]] || return 1
    done
    printf '%s\n' "${parts[@]}" | sort -uV | paste -sd';'
}

# The visible GPUs' compute capabilities as an arch list; empty when nvidia-smi cannot tell.
gpu_arch_list() {
    local out
    command -v nvidia-smi >/dev/null 2>&1 || return 0
    out=$(timeout 30 nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null) || return 0
    normalize_arch_list "$out" || true
}

# TORCH_VERSION, TORCH_CUDA (e.g. 13.0, or none), PY_TAG and SITE of the python $1; fails
# when it has no torch. Reads torch/version.py without importing torch (fast).
read_torch() {
    local info
    info=$("$1" - <<'EOF' 2>/dev/null
import importlib.metadata as md
import sys
import sysconfig
try:
    ns = {}
    exec(open(md.distribution('torch').locate_file('torch/version.py')).read(), ns)
    version, cuda = ns['__version__'], ns.get('cuda')
except Exception:
    import torch
    version, cuda = torch.__version__, torch.version.cuda
print(version.split('+')[0], cuda or 'none', f'cp{sys.version_info.major}{sys.version_info.minor}',
      sysconfig.get_paths()['purelib'])
EOF
    ) || return 1
    read -r TORCH_VERSION TORCH_CUDA PY_TAG SITE <<<"$info"
}

# Decide how mmcv is built. Sets MODE (cpu/cuda), REASON, ARCH_LIST, ARCH_SOURCE,
# CUDA_VERSION, CUDA_PACKAGES (array), NVCC_SPEC, CUDA_HOME_DIR, BUILD_TAG and WHEEL_DIR
# from MMCV_CUDA, TORCH_CUDA_ARCH_LIST, MMCV_CUDA_HOME, nvidia-smi and TORCH_VERSION /
# TORCH_CUDA / PY_TAG / SITE. On a refusal it sets PLAN_ERROR and returns 1.
plan_mmcv() {
    local want=${MMCV_CUDA:-auto} major minor
    PLAN_ERROR="" ARCH_LIST=none ARCH_SOURCE=none CUDA_VERSION=none NVCC_SPEC=none
    CUDA_PACKAGES=() CUDA_HOME_DIR=none BUILD_TAG=cpu
    detect_gpus
    case $want in
        0) MODE=cpu REASON="MMCV_CUDA=0 forces CPU ops only" ;;
        1) MODE=cuda REASON="MMCV_CUDA=1 asks for CUDA ops ($GPU_NOTE)" ;;
        auto)
            if ((GPUS == 0)); then
                MODE=cpu REASON="MMCV_CUDA=auto and no CUDA device visible ($GPU_NOTE)"
            elif [[ $TORCH_CUDA == none ]]; then
                MODE=cpu REASON="MMCV_CUDA=auto: $GPU_NOTE, but torch $TORCH_VERSION is a CPU-only build"
            else
                MODE=cuda REASON="MMCV_CUDA=auto and a CUDA device is visible ($GPU_NOTE)"
            fi ;;
        *) PLAN_ERROR="MMCV_CUDA must be 0, 1 or auto (unset means auto), not '$want'"; return 1 ;;
    esac
    if [[ $MODE == cuda ]]; then
        if [[ $TORCH_CUDA == none ]]; then
            PLAN_ERROR="MMCV_CUDA=1 asks for mmcv's CUDA ops, but torch $TORCH_VERSION is a CPU-only"
            PLAN_ERROR+=" build (torch.version.cuda is None): install a CUDA build of torch or set MMCV_CUDA=0"
            return 1
        fi
        if ! [[ $TORCH_CUDA =~ ^([0-9]+)\.([0-9]+)$ ]]; then
            PLAN_ERROR="cannot read torch's CUDA version '$TORCH_CUDA' (expected e.g. 13.0)"
            return 1
        fi
        major=${BASH_REMATCH[1]} minor=${BASH_REMATCH[2]}
        CUDA_VERSION=$major.$minor
        if [[ -n ${TORCH_CUDA_ARCH_LIST:-} ]]; then
            if ! ARCH_LIST=$(normalize_arch_list "$TORCH_CUDA_ARCH_LIST"); then
                PLAN_ERROR="TORCH_CUDA_ARCH_LIST='$TORCH_CUDA_ARCH_LIST' is not a list like '8.0;9.0'"
                return 1
            fi
            ARCH_SOURCE=TORCH_CUDA_ARCH_LIST
        else
            ARCH_LIST=$(gpu_arch_list)
            if [[ -n $ARCH_LIST ]]; then
                ARCH_SOURCE="nvidia-smi compute_cap"
            else
                ARCH_LIST=$(normalize_arch_list "$DEFAULT_CUDA_ARCH_LIST") ARCH_SOURCE=default
            fi
        fi
        if [[ -n ${MMCV_CUDA_HOME:-} ]]; then
            CUDA_HOME_DIR=$MMCV_CUDA_HOME   # a local toolkit: nothing from the registry
        elif ((major >= 13)); then
            # One tree, <site-packages>/nvidia/cu13/{bin,include,lib,nvvm}: nvcc, its crt
            # headers and cicc, and CCCL (thrust/cub); the runtime, cuBLAS, cuSPARSE and
            # cuSOLVER headers come with torch's own nvidia-* dependencies.
            NVCC_SPEC="nvidia-cuda-nvcc==$CUDA_VERSION.*"
            CUDA_PACKAGES=("$NVCC_SPEC" "nvidia-cuda-crt==$CUDA_VERSION.*" "nvidia-nvvm==$CUDA_VERSION.*"
                           "nvidia-cuda-cccl==$CUDA_VERSION.*")
            CUDA_HOME_DIR=$SITE/nvidia/cu$major
        else
            PLAN_ERROR="torch is built with CUDA $CUDA_VERSION; the registry's CUDA toolkits are wired up"
            PLAN_ERROR+=" from CUDA 13 on: set MMCV_CUDA_HOME to a local CUDA $CUDA_VERSION toolkit"
            return 1
        fi
        BUILD_TAG=cu$major$minor-sm$(sed -e 's/+PTX/ptx/g' -e 's/\.//g' -e 's/;/_/g' <<<"$ARCH_LIST")
    fi
    # The CPU directory name is the one of earlier versions of this script: caches stay valid.
    WHEEL_DIR=$CACHE/wheels/mmcv-$MMCV_VERSION-torch$TORCH_VERSION-$PY_TAG-$BUILD_TAG
}

if ((PLAN_ONLY)); then
    if [[ -x $VENV/bin/python ]] && read_torch "$VENV/bin/python"; then
        TORCH_SOURCE="installed torch in $VENV"
    else
        # No environment (or no torch in it) yet: the pinned torch, the interpreter to be used.
        TORCH_VERSION=$(sed -n 's/^torch==\([^ ;#]*\).*/\1/p' "$ROOT/requirements/torch.txt")
        TORCH_CUDA=$PINNED_TORCH_CUDA
        TORCH_SOURCE="requirements/torch.txt pin (no torch in $VENV yet)"
        PY_TAG=$("$PYTHON" -c 'import sys; print(f"cp{sys.version_info.major}{sys.version_info.minor}")' \
            2>/dev/null) || PY_TAG=unknown
        SITE="$VENV/lib/python${PY_TAG:2:1}.${PY_TAG:3}/site-packages"
    fi
    if [[ -n ${MMDATASETDM_TORCH_CUDA:-} ]]; then
        TORCH_CUDA=$MMDATASETDM_TORCH_CUDA TORCH_SOURCE=MMDATASETDM_TORCH_CUDA
    fi
    plan_mmcv || die "$PLAN_ERROR"
    printf '%s\n' "mode=$MODE" "reason=$REASON" "gpus=$GPUS" "torch_version=$TORCH_VERSION" \
        "torch_cuda=$TORCH_CUDA" "torch_cuda_source=$TORCH_SOURCE" "arch_list=$ARCH_LIST" \
        "arch_source=$ARCH_SOURCE" "cuda_version=$CUDA_VERSION" "nvcc_spec=$NVCC_SPEC" \
        "cuda_packages=${CUDA_PACKAGES[*]:-none}" "cuda_home=$CUDA_HOME_DIR" "wheel_dir=$WHEEL_DIR"
    exit 0
fi

# --- install ---------------------------------------------------------------------------

hash=$(inputs_hash)
if [[ -f $STAMP && -x $VENV/bin/python ]] && read_torch "$VENV/bin/python" && plan_mmcv \
        && [[ $(cat "$STAMP") == "$hash mmcv-$BUILD_TAG" ]]; then
    log "environment in $VENV is up to date (mmcv build: $BUILD_TAG)"
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

read_torch "$PY" || die "torch is not importable in $VENV after installing requirements/torch.txt"
plan_mmcv || die "$PLAN_ERROR"
if [[ $MODE == cuda ]]; then
    log "mmcv build: CUDA $CUDA_VERSION ops for $ARCH_LIST ($ARCH_SOURCE); $REASON"
else
    log "mmcv build: CPU ops only; $REASON"
fi

# nvcc etc. for a CUDA build, into the environment; CUDA_HOME then points at it.
cuda_toolchain() {
    if ((${#CUDA_PACKAGES[@]})); then
        log "CUDA $CUDA_VERSION toolchain from the package registry: ${CUDA_PACKAGES[*]}"
        pip_install -q "${CUDA_PACKAGES[@]}"
        # torch links with -lcudart from $CUDA_HOME/lib; the runtime wheel ships only the
        # versioned libcudart.so.<major>.
        if [[ ! -e $CUDA_HOME_DIR/lib/libcudart.so ]]; then
            ln -s "libcudart.so.${CUDA_VERSION%%.*}" "$CUDA_HOME_DIR/lib/libcudart.so"
        fi
    fi
    [[ -x $CUDA_HOME_DIR/bin/nvcc ]] || die "no nvcc in $CUDA_HOME_DIR/bin"
    local release
    release=$("$CUDA_HOME_DIR/bin/nvcc" --version | sed -n 's/.*release \([0-9]*\.[0-9]*\).*/\1/p')
    [[ $release == "$CUDA_VERSION" ]] ||
        die "nvcc in $CUDA_HOME_DIR is CUDA $release, torch $TORCH_VERSION is built with CUDA $CUDA_VERSION"
    log "nvcc: $CUDA_HOME_DIR/bin/nvcc (CUDA $release)"
}

if ! ls "$WHEEL_DIR"/mmcv-*.whl >/dev/null 2>&1; then
    mkdir -p "$WHEEL_DIR.partial"
    pip_install -q "numpy" "opencv-python-headless" addict yapf pyyaml packaging pillow "mmengine" --no-deps
    cert_args=()
    [[ -n ${PIP_CERT:-} ]] && cert_args=(--cert "$PIP_CERT")
    # --no-cache-dir: pip's own wheel cache would hand back a wheel built the other way.
    build_mmcv=("$PY" -m pip --isolated wheel --no-build-isolation --no-deps --no-cache-dir
                --progress-bar off "${cert_args[@]}" -w "$WHEEL_DIR.partial" "mmcv==$MMCV_VERSION")
    if [[ $MODE == cuda ]]; then
        cuda_toolchain
        log "building mmcv $MMCV_VERSION with CPU + CUDA $CUDA_VERSION ops for $ARCH_LIST against torch" \
            "$TORCH_VERSION (an hour or more on 2 cores; MAX_JOBS=${MAX_JOBS:-$(nproc)})"
        MMCV_WITH_OPS=1 FORCE_CUDA=1 CUDA_HOME=$CUDA_HOME_DIR TORCH_CUDA_ARCH_LIST=$ARCH_LIST \
            PATH=$CUDA_HOME_DIR/bin:$PATH MAX_JOBS=${MAX_JOBS:-$(nproc)} "${build_mmcv[@]}"
    else
        log "building mmcv $MMCV_VERSION with CPU ops against torch $TORCH_VERSION (about 25 minutes on 2 cores)"
        MMCV_WITH_OPS=1 FORCE_CUDA=0 MAX_JOBS=${MAX_JOBS:-$(nproc)} "${build_mmcv[@]}"
    fi
    rm -rf "$WHEEL_DIR"
    mv "$WHEEL_DIR.partial" "$WHEEL_DIR"   # the cache only ever holds finished wheels
else
    log "using cached mmcv wheel from $WHEEL_DIR"
fi

log "mmcv, OpenMMLab toolboxes (--no-deps) and runtime dependencies"
# --force-reinstall: the CPU and the CUDA wheel have the same name and version.
pip_install -q --no-deps --force-reinstall "$WHEEL_DIR"/mmcv-*.whl
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
if [[ $MODE == cuda ]]; then
    # Loads without a GPU; whether the kernels run needs one (see docs/installation.md).
    "$PY" - <<'EOF'
from mmcv.ops import MultiScaleDeformableAttention, RoIAlign, get_compiling_cuda_version, nms  # noqa
cuda = get_compiling_cuda_version()
assert cuda != 'not available', 'mmcv was built without its CUDA ops'
print('mmcv CUDA ops compiled with CUDA', cuda)
EOF
fi

echo "$hash mmcv-$BUILD_TAG" > "$STAMP"
log "done in $(( $(date +%s) - start )) s"
