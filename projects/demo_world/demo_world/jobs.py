"""Running the repository's tools on a demo world, for the project's scripts.

The main job (``projects/demo_world/tools/run_demo.py``) and the studies beside
it (``capture_timestep.py``) run the ordinary ``tools/train.py``,
``tools/test.py`` and ``tools/generate.py`` as subprocesses from the repository
root; this module holds what they share: the paths, starting and waiting for
a tool with its log, and the config options that point a config at a world.
"""
import json
import os
import os.path as osp
import subprocess
from typing import List, Optional, Sequence, Tuple

from .writer import WORLD_VERSION

# the repository root (the tools' working directory)
ROOT = osp.abspath(osp.join(osp.dirname(osp.abspath(__file__)), '..', '..', '..'))
# the tiny SD model trained on the demo world's pool, shipped with the repository
SD_FOLDER = 'checkpoints/demo-world-sd'
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
CONFIGS = 'projects/demo_world/configs'
# Per task: its configs' short name, where the main job's work and generated set go by
# default, and the config keys that point the mixed arm's real and synthetic parts at a
# run's folders.
DEMO_TASKS = dict(
    semantic=dict(short='seg', work='work_dirs/demo', synth='data/demo_synth',
                  real_key='train_dataloader.dataset.datasets.0.dataset.data_root',
                  synth_key='train_dataloader.dataset.datasets.1.data_root'),
    instance=dict(short='inst', work='work_dirs/demo_instance', synth='data/demo_synth_instance',
                  real_key='train_dataloader.dataset.datasets.0.dataset.data_root',
                  synth_key='train_dataloader.dataset.datasets.1.data_root'),
    depth=dict(short='depth', work='work_dirs/demo_depth', synth='data/demo_synth_depth',
               real_key='train_dataloader.dataset.datasets.0.dataset.data_root',
               synth_key='train_dataloader.dataset.datasets.1.data_root'),
    pose=dict(short='pose', work='work_dirs/demo_pose', synth='data/demo_synth_pose',
              real_key='train_dataloader.dataset.datasets.0.data_root',
              synth_key='train_dataloader.dataset.datasets.1.data_root'),
)
SPLITS = ('test', 'test_shifted')
# generation filters that accept every sample: a smoke run's 20-iteration decoder is
# uncertain everywhere
QUICK_FILTERS = ['filters.min_confidence=0', 'filters.min_class_fraction=0',
                 'filters.max_ignore_fraction=1', 'filters.min_score=0',
                 'filters.require_prompted=False', 'filters.min_keypoint_score=0',
                 'filters.min_area=0']


def task_configs(task: str):
    """The P-Decoder config, the generation config and the downstream arms' configs
    (``dict(real_only=..., real_synthetic=...)``) of a demo task."""
    short = DEMO_TASKS[task]['short']
    return (f'{CONFIGS}/pdecoder_{task}.py', f'{CONFIGS}/generate_{task}.py',
            dict(real_only=f'{CONFIGS}/{short}_real_100.py',
                 real_synthetic=f'{CONFIGS}/{short}_synth_100.py'))


def _failure(log: str) -> str:
    with open(log) as f:
        tail = f.read()[-4000:]
    return f'command failed (log: {log}):\n{tail}'


def start(cmd: Sequence[str], log: str, threads: Optional[int] = None) -> Tuple:
    """Start a tool in the background from the repository root, logging to ``log``.

    Args:
        cmd (Sequence[str]): the command.
        log (str): its log file.
        threads (int, optional): torch/OpenMP threads (None: inherit).

    Returns:
        tuple: ``(process, open log file, log path)`` for :func:`wait_all`.
    """
    env = dict(os.environ, PYTHONPATH=ROOT)
    if threads:
        env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    print(f'  $ {" ".join(cmd)}', flush=True)
    f = open(log, 'w')
    return subprocess.Popen(
        list(cmd), cwd=ROOT, stdout=f, stderr=subprocess.STDOUT, env=env), f, log


def wait_all(started: Sequence[Tuple]) -> None:
    """Wait for tools started by :func:`start`; exit with the failed logs' tails."""
    failed = []
    for proc, f, log in started:
        if proc.wait():
            failed.append(log)
        f.close()
    if failed:
        raise SystemExit('\n'.join(_failure(log) for log in failed))


def run(cmd: Sequence[str], log: str, threads: Optional[int] = None) -> None:
    """Run a tool, streaming its output to ``log``; exit with the log's tail on failure."""
    wait_all([start(cmd, log, threads)])


def data_opts(world: str) -> List[str]:
    """``--cfg-options`` that point a demo config's three dataloaders at ``world``."""
    return [f'{loader}.dataset.data_root={world}' for loader in LOADERS]


def check_world_version(world: str) -> None:
    """Refuse a world written by another version of the world generator.

    Args:
        world (str): a demo world root (nothing is checked if it has no
            ``meta.json`` yet).
    """
    meta = osp.join(world, 'meta.json')
    if not osp.isfile(meta):
        return
    with open(meta) as f:
        found = json.load(f).get('format_version')
    if found != WORLD_VERSION:
        raise SystemExit(f'{meta}: format_version is {found!r}, but this code writes demo worlds '
                         f'of version {WORLD_VERSION} (other images and labels); delete '
                         f'{world} or pass --world with a new folder')
