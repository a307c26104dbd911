"""Helpers of the distributed tests: subprocess runs of the tools, output hashes, the
tiny configs' paths and the generation options every run here shares."""
import os
import os.path as osp
import subprocess
import sys
from typing import Dict, List

from mmdatasetdm.fileio import read_jsonl as fileio_read_jsonl
from mmdatasetdm.fileio import tree_sha256

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
PDECODER_CFG = osp.join(ROOT, 'configs', 'pdecoder', 'semantic_tiny.py')
GENERATE_CFG = osp.join(ROOT, 'configs', 'generate', 'semantic_tiny.py')
NUM_SAMPLES = 6  # generated samples of every generation run here (batch size 1)


def tool_env(**extra) -> dict:
    """Environment of a tool run: the repo importable, one thread per process (the
    machine has 2 cores for 2 ranks), the venv's Python for the launch scripts."""
    env = dict(os.environ, PYTHONPATH=ROOT, PYTHON=sys.executable, OMP_NUM_THREADS='1',
               MKL_NUM_THREADS='1')
    env.update({k: str(v) for k, v in extra.items()})
    return env


def run(cmd: List[str], timeout: float = 600, **env) -> subprocess.CompletedProcess:
    """Run ``cmd`` in the repo root; the output is kept for the assertion message."""
    return subprocess.run(cmd, cwd=ROOT, env=tool_env(**env), capture_output=True, text=True,
                          timeout=timeout)


def failure(out: subprocess.CompletedProcess) -> str:
    return f'exit {out.returncode}\n{out.stdout[-3000:]}\n{out.stderr[-5000:]}'


def generate_options(checkpoint: str, sd_folder: str) -> List[str]:
    """``--cfg-options`` of configs/generate/semantic_tiny.py for the tiny SD model and a
    semantic_tiny checkpoint, one image per batch (so a run has several batches per rank)."""
    return ['--cfg-options', f'decoder.checkpoint={checkpoint}', f'decoder.config={PDECODER_CFG}',
            f'decoder.cfg_options.model.backbone.pretrained={sd_folder}', 'batch_size=1']


def tree_hashes(folder: str) -> Dict[str, str]:
    """sha256 of every file of a generated dataset, the per-rank shards excepted."""
    return tree_sha256(folder, exclude=('shards', ))


def read_jsonl(path: str) -> List[dict]:
    return [record for _, record in fileio_read_jsonl(path)]


def val_metrics(work_dir: str) -> List[dict]:
    """The validation lines of mmengine's ``scalars.json`` in ``work_dir``."""
    found = []
    for dirpath, _, files in os.walk(work_dir):
        if 'scalars.json' in files:
            found += [line for line in read_jsonl(osp.join(dirpath, 'scalars.json'))
                      if 'mIoU' in line]
    return found
