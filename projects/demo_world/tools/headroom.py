"""Headroom check of the demo world: 100 labelled images vs the large labelled split.

Trains the downstream segmentor (``projects/demo_world/configs/seg_real_100.py`` and
``projects/demo_world/configs/seg_real_large.py``: same model, batch size, iterations and
seed, different training split) on a demo world, scores both with mmseg's
IoUMetric on ``test`` and ``test_shifted``, and prints a table of mIoU and the
gap large - 100. The demo only means something if that gap is large (the world
is not saturated by 100 labels): the target is >= 15 mIoU points on ``test``.

Both arms train ``CHECK_ITERS`` = 6000 iterations, twice the configs' 3000
(the main job's time budget): the gap is a property of the world, measured with
a reference that has had time to use its data; after 3000 iterations the large
arm is still limited by optimisation, not by data (projects/demo_world/docs/headroom.md).
``--iters 0`` trains the configs' own schedule.

    python projects/demo_world/tools/make_demo_world.py --out data/demo_world_headroom --seed 0 \\
        --splits train_100 train_large test test_shifted
    python projects/demo_world/tools/headroom.py --world data/demo_world_headroom [--jobs 2]

Logs, checkpoints and ``headroom.json`` (all numbers) go under ``--work-dir``.
"""
import argparse
import copy
import json
import os
import os.path as osp
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from typing import Dict, Optional

from projects.demo_world.demo_world.jobs import ROOT as REPO

ARMS = {
    'train_100': osp.join(REPO, 'projects', 'demo_world', 'configs', 'seg_real_100.py'),
    'train_large': osp.join(REPO, 'projects', 'demo_world', 'configs', 'seg_real_large.py'),
}
TEST_SPLITS = ('test', 'test_shifted')
CHECK_ITERS = 6000
DATALOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader', 'test_shifted_dataloader')


def check_world(world: str) -> dict:
    """Check that ``world`` holds the labelled splits the check needs.

    Args:
        world (str): Root folder of a demo world.

    Returns:
        dict: Image count of each split of the world.

    Raises:
        FileNotFoundError: If the world or one of its splits is missing.
    """
    meta_path = osp.join(world, 'meta.json')
    if not osp.isfile(meta_path):
        raise FileNotFoundError(
            f'{meta_path} not found: generate the world first, e.g. '
            'python projects/demo_world/tools/make_demo_world.py '
            f'--out {world} --seed 0 --splits train_100 train_large test test_shifted')
    with open(meta_path) as f:
        splits = json.load(f).get('splits', {})
    needed = ('train_100', 'train_large') + TEST_SPLITS
    missing = [s for s in needed
               if s not in splits or not osp.isfile(osp.join(world, 'splits', f'{s}.txt'))]
    if missing:
        raise FileNotFoundError(
            f'demo world {world} lacks the labelled splits {missing}; add them with '
            'python projects/demo_world/tools/make_demo_world.py '
            f'--out {world} --seed {json.load(open(meta_path))["seed"]} '
            f'--splits {" ".join(missing)}')
    return {s: int(splits[s]['num_images']) for s in needed}


def set_iters(cfg, iters: int) -> None:
    """Change the schedule length in place, keeping its shape.

    Scheduler ``begin``/``end`` points are scaled by ``iters / max_iters`` (so
    the warm-up stays the same fraction); the validation and checkpoint
    intervals are clipped to ``iters``.

    Args:
        cfg (mmengine.Config): A downstream config.
        iters (int): New number of training iterations.
    """
    if iters < 1:
        raise ValueError(f'--iters must be >= 1, got {iters}')
    old = cfg.train_cfg.max_iters
    cfg.train_cfg.max_iters = iters
    cfg.train_cfg.val_interval = min(cfg.train_cfg.get('val_interval', iters), iters)
    cfg.default_hooks.checkpoint.interval = min(cfg.default_hooks.checkpoint.interval, iters)
    for sched in cfg.param_scheduler:
        begin = round(sched.get('begin', 0) * iters / old)
        sched['begin'] = begin
        sched['end'] = max(begin + 1, round(sched.get('end', old) * iters / old))


def build_arm_config(config: str, world: str, work_dir: str, iters: Optional[int] = None):
    """Load a downstream config and point every dataloader at ``world``.

    Args:
        config (str): Config path.
        world (str): Demo world root.
        work_dir (str): Runner work dir of this arm.
        iters (int, optional): Override the number of training iterations.

    Returns:
        mmengine.Config: The config, ready for ``Runner.from_cfg``.
    """
    from mmengine.config import Config
    cfg = Config.fromfile(config)
    for key in DATALOADERS:
        if key not in cfg:
            raise KeyError(f'{config} has no {key}; the headroom check needs all of {DATALOADERS}')
        cfg[key].dataset.data_root = world
    cfg.work_dir = work_dir
    if iters is not None:
        set_iters(cfg, iters)
    return cfg


def run_arm(name: str, config: str, world: str, work_dir: str, iters: Optional[int] = None,
            threads: Optional[int] = None) -> Dict:
    """Train one arm, then score its final weights on both test splits.

    Args:
        name (str): Arm name (the training split).
        config (str): Config path.
        world (str): Demo world root.
        work_dir (str): Runner work dir of this arm.
        iters (int, optional): Override the number of training iterations.
        threads (int, optional): ``torch.set_num_threads`` for this arm.

    Returns:
        dict: ``{'config', 'iters', 'train_minutes', 'test': {...}, 'test_shifted': {...}}``
        with IoUMetric's ``aAcc``/``mIoU``/``mAcc`` per test split.
    """
    import torch
    from mmengine.runner import Runner, TestLoop

    if threads:
        torch.set_num_threads(threads)
    cfg = build_arm_config(config, world, work_dir, iters)
    runner = Runner.from_cfg(cfg)
    start = time.time()
    runner.train()
    train_minutes = (time.time() - start) / 60
    result = dict(config=osp.relpath(config, REPO), iters=int(cfg.train_cfg.max_iters),
                  batch_size=int(cfg.train_dataloader.batch_size),
                  train_minutes=round(train_minutes, 2))
    for split, key in zip(TEST_SPLITS, ('test_dataloader', 'test_shifted_dataloader')):
        loop = TestLoop(runner, copy.deepcopy(cfg[key]), copy.deepcopy(cfg.test_evaluator))
        metrics = loop.run()
        result[split] = {k: float(v) for k, v in metrics.items()}
    # each finished arm is kept on its own, so a later run can train only the missing one
    with open(osp.join(work_dir, 'arm_result.json'), 'w') as f:
        json.dump(result, f, indent=2)
    return result


def format_table(results: Dict[str, Dict]) -> str:
    """The mIoU table: one row per test split, one column per arm, plus the gap.

    Args:
        results (dict): ``run_arm`` results keyed by arm name.

    Returns:
        str: A markdown table.
    """
    lines = ['| test split | mIoU train_100 | mIoU train_large | gap (large - 100) |',
             '|---|---:|---:|---:|']
    for split in TEST_SPLITS:
        small = results['train_100'][split]['mIoU']
        large = results['train_large'][split]['mIoU']
        lines.append(f'| {split} | {small:.2f} | {large:.2f} | {large - small:+.2f} |')
    return '\n'.join(lines)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--world', required=True, help='demo world root (with labelled splits)')
    parser.add_argument('--iters', type=int, default=CHECK_ITERS,
                        help=f'training iterations of both arms (default {CHECK_ITERS}; '
                        '0: the configs\' own schedule)')
    parser.add_argument('--work-dir', default='work_dirs/headroom', help='logs, checkpoints, JSON')
    parser.add_argument('--jobs', type=int, default=1, choices=(1, 2),
                        help='train the two arms one after the other (1) or side by side (2)')
    parser.add_argument('--threads', type=int, default=None,
                        help='torch threads per arm (default: 1 with --jobs 2, else torch\'s)')
    parser.add_argument('--min-gap', type=float, default=15.0,
                        help='target gap on test in mIoU points (only reported)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    args.iters = args.iters or None  # 0: the configs' schedule
    world = osp.abspath(args.world)
    counts = check_world(world)
    threads = args.threads or (1 if args.jobs == 2 else None)
    os.makedirs(args.work_dir, exist_ok=True)
    jobs = {
        name: (name, cfg, world, osp.abspath(osp.join(args.work_dir, name)), args.iters, threads)
        for name, cfg in ARMS.items()
    }
    # an arm finished by an earlier run (same iterations) is not trained again
    results = {}
    for name, job in jobs.items():
        done = osp.join(job[3], 'arm_result.json')
        if osp.isfile(done):
            with open(done) as f:
                previous = json.load(f)
            from mmengine.config import Config
            wanted = args.iters or Config.fromfile(job[1]).train_cfg.max_iters
            if previous['iters'] == wanted:
                results[name] = previous
                print(f'{name}: reusing {done}')
    jobs = {name: job for name, job in jobs.items() if name not in results}
    start = time.time()
    if args.jobs == 1 or len(jobs) < 2:
        results.update({name: run_arm(*job) for name, job in jobs.items()})
    else:
        with ProcessPoolExecutor(max_workers=2, mp_context=get_context('spawn')) as pool:
            futures = {name: pool.submit(run_arm, *job) for name, job in jobs.items()}
            results.update({name: fut.result() for name, fut in futures.items()})
    results = {name: results[name] for name in ARMS}
    minutes = (time.time() - start) / 60
    gap = results['train_large']['test']['mIoU'] - results['train_100']['test']['mIoU']
    summary = dict(world=world, split_sizes=counts, arms=results, gap_test=round(gap, 2),
                   gap_test_shifted=round(results['train_large']['test_shifted']['mIoU']
                                          - results['train_100']['test_shifted']['mIoU'], 2),
                   min_gap=args.min_gap, wall_minutes=round(minutes, 2), jobs=args.jobs)
    out = osp.join(args.work_dir, 'headroom.json')
    with open(out, 'w') as f:
        json.dump(summary, f, indent=2)
    it = results['train_100']['iters']
    bs = results['train_100']['batch_size']
    print(f'\nHeadroom check on {world} ({it} iterations at batch {bs} per arm, '
          f'{minutes:.1f} min wall):')
    print(format_table(results))
    verdict = 'OK' if gap >= args.min_gap else 'TOO SMALL (the world is too easy for 100 labels)'
    print(f'gap on test: {gap:.2f} mIoU points (target >= {args.min_gap:g}): {verdict}')
    print(f'numbers written to {out}')


if __name__ == '__main__':
    main()
