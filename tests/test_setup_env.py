"""The mmcv build decision of ``scripts/setup_env.sh``, through its dry run.

``bash scripts/setup_env.sh --print-mmcv-plan`` prints the plan as ``key=value`` lines and
changes nothing; a fake ``nvidia-smi`` first on ``PATH`` stands in for a GPU.
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / 'scripts' / 'setup_env.sh'
PY_TAG = f'cp{sys.version_info.major}{sys.version_info.minor}'
CUDA_PACKAGES = ('nvidia-cuda-nvcc=={v}.* nvidia-cuda-crt=={v}.* nvidia-nvvm=={v}.* '
                 'nvidia-cuda-cccl=={v}.*')

FAKE_SMI = """#!/bin/sh
case "$*" in
  *-L*) echo "GPU 0: NVIDIA H200 (UUID: GPU-00000000-0000-0000-0000-000000000000)" ;;
  *compute_cap*) echo "9.0" ;;
  *) exit 9 ;;
esac
"""
# What nvidia-smi does on a machine with the tools but no driver.
BROKEN_SMI = """#!/bin/sh
echo "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver."
exit 9
"""


def pinned_torch():
    for line in (ROOT / 'requirements' / 'torch.txt').read_text().splitlines():
        if line.startswith('torch=='):
            return line.split('==')[1].strip()
    raise AssertionError('requirements/torch.txt pins no torch')


def path_without_nvidia_smi():
    return os.pathsep.join(d for d in os.environ['PATH'].split(os.pathsep)
                           if d and not os.path.exists(os.path.join(d, 'nvidia-smi')))


@pytest.fixture
def run_plan(tmp_path):
    """Run the dry run in a sandbox: no environment yet (the pinned torch), a fresh cache."""

    def run(smi=None, venv=None, **env_vars):
        env = {k: v for k, v in os.environ.items()
               if k not in ('MMCV_CUDA', 'TORCH_CUDA_ARCH_LIST', 'MMCV_CUDA_HOME',
                            'MMDATASETDM_TORCH_CUDA')}
        env.update(MMDATASETDM_VENV=str(venv or tmp_path / 'venv'),
                   MMDATASETDM_CACHE=str(tmp_path / 'cache'), PYTHON=sys.executable,
                   PATH=path_without_nvidia_smi())
        if smi is not None:
            bin_dir = tmp_path / 'bin'
            bin_dir.mkdir(exist_ok=True)
            (bin_dir / 'nvidia-smi').write_text(smi)
            (bin_dir / 'nvidia-smi').chmod(0o755)
            env['PATH'] = f'{bin_dir}{os.pathsep}{env["PATH"]}'
        env.update(env_vars)
        proc = subprocess.run(['bash', str(SCRIPT), '--print-mmcv-plan'], env=env, cwd=tmp_path,
                              capture_output=True, text=True, timeout=120)
        plan = dict(line.split('=', 1) for line in proc.stdout.splitlines() if '=' in line)
        return proc, plan

    yield run
    # a dry run creates neither the environment nor the cache
    assert not (tmp_path / 'venv').exists()
    assert not (tmp_path / 'cache').exists()


def wheel_dir(tmp_path, suffix):
    return str(tmp_path / 'cache' / 'wheels'
               / f'mmcv-2.1.0-torch{pinned_torch()}-{PY_TAG}-{suffix}')


def test_forced_cpu_keeps_todays_wheel_dir(run_plan, tmp_path):
    proc, plan = run_plan(smi=FAKE_SMI, MMCV_CUDA='0', MMDATASETDM_TORCH_CUDA='13.0')
    assert proc.returncode == 0, proc.stderr
    assert plan['mode'] == 'cpu'
    assert plan['reason'] == 'MMCV_CUDA=0 forces CPU ops only'
    assert plan['arch_list'] == plan['cuda_version'] == plan['nvcc_spec'] == 'none'
    assert plan['wheel_dir'] == wheel_dir(tmp_path, 'cpu')


def test_auto_without_nvidia_smi_is_cpu(run_plan, tmp_path):
    proc, plan = run_plan()
    assert proc.returncode == 0, proc.stderr
    assert plan['mode'] == 'cpu'
    assert plan['gpus'] == '0'
    assert plan['reason'] == 'MMCV_CUDA=auto and no CUDA device visible (nvidia-smi not found)'
    # no environment yet: the torch that requirements/torch.txt pins, a CUDA 13.0 wheel
    assert plan['torch_version'] == pinned_torch()
    assert plan['torch_cuda'] == '13.0'
    assert plan['wheel_dir'] == wheel_dir(tmp_path, 'cpu')


def test_auto_with_failing_nvidia_smi_is_cpu(run_plan):
    proc, plan = run_plan(smi=BROKEN_SMI, MMCV_CUDA='auto')
    assert proc.returncode == 0, proc.stderr
    assert plan['mode'] == 'cpu'
    assert plan['reason'] == 'MMCV_CUDA=auto and no CUDA device visible (nvidia-smi -L failed)'


def test_forced_cuda_without_gpu_uses_default_archs(run_plan, tmp_path):
    proc, plan = run_plan(smi=BROKEN_SMI, MMCV_CUDA='1', MMDATASETDM_TORCH_CUDA='13.0')
    assert proc.returncode == 0, proc.stderr
    assert plan['mode'] == 'cuda'
    assert plan['reason'] == 'MMCV_CUDA=1 asks for CUDA ops (nvidia-smi -L failed)'
    assert plan['arch_list'] == '8.0;9.0'
    assert plan['arch_source'] == 'default'
    assert plan['cuda_version'] == '13.0'
    assert plan['nvcc_spec'] == 'nvidia-cuda-nvcc==13.0.*'
    assert plan['cuda_packages'] == CUDA_PACKAGES.format(v='13.0')
    site = tmp_path / 'venv' / 'lib' / f'python{sys.version_info.major}.{sys.version_info.minor}'
    assert plan['cuda_home'] == str(site / 'site-packages' / 'nvidia' / 'cu13')
    assert plan['wheel_dir'] == wheel_dir(tmp_path, 'cu130-sm80_90')


def test_visible_gpu_selects_cuda_and_its_arch(run_plan, tmp_path):
    proc, plan = run_plan(smi=FAKE_SMI, MMDATASETDM_TORCH_CUDA='13.0')
    assert proc.returncode == 0, proc.stderr
    assert plan['mode'] == 'cuda'
    assert plan['gpus'] == '1'
    assert plan['reason'] == ('MMCV_CUDA=auto and a CUDA device is visible '
                              '(nvidia-smi lists 1 GPU(s))')
    assert plan['arch_list'] == '9.0'
    assert plan['arch_source'] == 'nvidia-smi compute_cap'
    assert plan['wheel_dir'] == wheel_dir(tmp_path, 'cu130-sm90')


def test_torch_cuda_arch_list_wins(run_plan, tmp_path):
    proc, plan = run_plan(smi=FAKE_SMI, TORCH_CUDA_ARCH_LIST='9.0 8.6+PTX,8.0',
                          MMDATASETDM_TORCH_CUDA='13.0')
    assert proc.returncode == 0, proc.stderr
    assert plan['mode'] == 'cuda'
    assert plan['arch_list'] == '8.0;8.6+PTX;9.0'
    assert plan['arch_source'] == 'TORCH_CUDA_ARCH_LIST'
    assert plan['wheel_dir'] == wheel_dir(tmp_path, 'cu130-sm80_86ptx_90')


def test_malformed_arch_list_is_refused(run_plan):
    proc, _ = run_plan(MMCV_CUDA='1', TORCH_CUDA_ARCH_LIST='sm_90', MMDATASETDM_TORCH_CUDA='13.0')
    assert proc.returncode != 0
    assert "TORCH_CUDA_ARCH_LIST='sm_90' is not a list like '8.0;9.0'" in proc.stderr


def test_cpu_only_torch_refuses_forced_cuda(run_plan):
    proc, plan = run_plan(MMCV_CUDA='1', MMDATASETDM_TORCH_CUDA='none')
    assert proc.returncode == 1
    assert plan == {}
    assert 'CPU-only build (torch.version.cuda is None)' in proc.stderr
    assert 'set MMCV_CUDA=0' in proc.stderr


def test_cpu_only_torch_with_visible_gpu_falls_back_to_cpu(run_plan, tmp_path):
    proc, plan = run_plan(smi=FAKE_SMI, MMDATASETDM_TORCH_CUDA='none')
    assert proc.returncode == 0, proc.stderr
    assert plan['mode'] == 'cpu'
    assert plan['reason'] == ('MMCV_CUDA=auto: nvidia-smi lists 1 GPU(s), but torch '
                              f'{pinned_torch()} is a CPU-only build')
    assert plan['wheel_dir'] == wheel_dir(tmp_path, 'cpu')


@pytest.mark.parametrize('torch_cuda', ['13.0', '13.1'])
def test_nvcc_spec_matches_torch_cuda(run_plan, tmp_path, torch_cuda):
    proc, plan = run_plan(MMCV_CUDA='1', MMDATASETDM_TORCH_CUDA=torch_cuda)
    assert proc.returncode == 0, proc.stderr
    assert plan['torch_cuda'] == plan['cuda_version'] == torch_cuda
    assert plan['nvcc_spec'] == f'nvidia-cuda-nvcc=={torch_cuda}.*'
    assert plan['cuda_packages'] == CUDA_PACKAGES.format(v=torch_cuda)
    assert plan['wheel_dir'] == wheel_dir(tmp_path, f'cu{torch_cuda.replace(".", "")}-sm80_90')


def test_cuda_12_torch_needs_a_local_toolkit(run_plan):
    proc, _ = run_plan(MMCV_CUDA='1', MMDATASETDM_TORCH_CUDA='12.8')
    assert proc.returncode == 1
    assert 'set MMCV_CUDA_HOME to a local CUDA 12.8 toolkit' in proc.stderr
    proc, plan = run_plan(MMCV_CUDA='1', MMDATASETDM_TORCH_CUDA='12.8',
                          MMCV_CUDA_HOME='/usr/local/cuda-12.8')
    assert proc.returncode == 0, proc.stderr
    assert plan['cuda_home'] == '/usr/local/cuda-12.8'
    assert plan['nvcc_spec'] == 'none'


def test_bad_mmcv_cuda_value_is_refused(run_plan):
    proc, _ = run_plan(MMCV_CUDA='yes')
    assert proc.returncode == 1
    assert "MMCV_CUDA must be 0, 1 or auto (unset means auto), not 'yes'" in proc.stderr


def test_installed_torch_sets_the_cuda_version(run_plan):
    """Without the override, the plan reads the CUDA version of the environment's torch."""
    torch = pytest.importorskip('torch')
    proc, plan = run_plan(venv=Path(sys.prefix), MMCV_CUDA='1')
    if torch.version.cuda is None:
        assert proc.returncode == 1
        assert 'CPU-only build' in proc.stderr
        return
    assert proc.returncode == 0, proc.stderr
    assert plan['torch_version'] == torch.__version__.split('+')[0]
    assert plan['torch_cuda'] == plan['cuda_version'] == torch.version.cuda
    assert plan['torch_cuda_source'] == f'installed torch in {sys.prefix}'
    assert plan['nvcc_spec'] == f'nvidia-cuda-nvcc=={torch.version.cuda}.*'
