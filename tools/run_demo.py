"""The main job on the embedded default: does synthetic data help?

    python tools/run_demo.py [--work-dir work_dirs/demo] [--world data/demo_world]
        [--synth data/demo_synth] [--num-synthetic 400] [--fresh]

Stages (each is skipped when its output exists, so a second run reuses them):
  1. the demo world's labelled splits (train_100, test, test_shifted);
  2. the semantic P-Decoder on train_100 with the shipped tiny SD model
     (configs/demo/pdecoder_semantic.py);
  3. a synthetic set from text prompts (configs/demo/generate_semantic.py);
  4. the downstream segmentor on 100 real only and on 100 real + synthetic, same
     schedule and seed (configs/demo/seg_real_100.py, seg_synth_100.py);
  5. both evaluated with mmseg's IoUMetric on test and test_shifted: a table of mIoU
     and per-class IoU, a gallery of synthetic samples and the two training curves.
Every stage runs the project's ordinary tools; only paths are passed here.
"""
import argparse
import json
import os
import os.path as osp
import shutil
import subprocess
import sys
import time

from mmdatasetdm.datasets.synthetic import read_synthetic_manifest

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..'))
PDECODER_CFG = 'configs/demo/pdecoder_semantic.py'
GENERATE_CFG = 'configs/demo/generate_semantic.py'
ARMS = dict(real_only='configs/demo/seg_real_100.py', real_synthetic='configs/demo/seg_synth_100.py')
SD_FOLDER = 'checkpoints/demo-world-sd'


def _failure(log):
    with open(log) as f:
        tail = f.read()[-4000:]
    return f'command failed (log: {log}):\n{tail}'


def run(cmd, log):
    """Run a tool, streaming its output to ``log``; raise with the log's tail on failure."""
    run_parallel([(cmd, log)], threads=None)


def run_parallel(jobs, threads=1):
    """Run tools side by side (one per core), each logging to its own file.

    Args:
        jobs (list[tuple[list[str], str]]): ``(command, log file)`` pairs.
        threads (int | None): torch/OpenMP threads per job (None: inherit).
    """
    env = dict(os.environ, PYTHONPATH=ROOT)
    if threads:
        env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    procs = []
    for cmd, log in jobs:
        print(f'  $ {" ".join(cmd)}', flush=True)
        f = open(log, 'w')
        procs.append((subprocess.Popen(cmd, cwd=ROOT, stdout=f, stderr=subprocess.STDOUT,
                                       env=env), f, log))
    failed = []
    for proc, f, log in procs:
        if proc.wait():
            failed.append(log)
        f.close()
    if failed:
        raise SystemExit('\n'.join(_failure(log) for log in failed))


def data_opts(world):
    return [f'{loader}.dataset.data_root={world}' for loader in
            ('train_dataloader', 'val_dataloader', 'test_dataloader')]


def evaluate(config, checkpoint, world, split):
    """mIoU and per-class IoU of a checkpoint on one split (mmseg's IoUMetric)."""
    import numpy as np
    import torch
    from mmengine.config import Config
    from mmengine.runner import Runner
    from mmseg.evaluation import IoUMetric
    cfg = Config.fromfile(osp.join(ROOT, config))
    cfg.test_dataloader.dataset.data_root = world
    cfg.test_dataloader.dataset.split = split
    cfg.work_dir = osp.join(osp.dirname(checkpoint), f'eval_{split}')
    cfg.load_from = checkpoint
    runner = Runner.from_cfg(cfg)
    runner.load_or_resume()
    classes = runner.test_dataloader.dataset.metainfo['classes']
    metric = IoUMetric(iou_metrics=['mIoU'])
    metric.dataset_meta = runner.test_dataloader.dataset.metainfo
    runner.model.eval()
    with torch.no_grad():
        for batch in runner.test_dataloader:
            outputs = runner.model.test_step(batch)
            metric.process(batch, [o.to_dict() for o in outputs])
    results = tuple(zip(*metric.results))
    inter = sum(results[0]).numpy()
    union = sum(results[1]).numpy()
    iou = np.where(union > 0, inter / np.maximum(union, 1), np.nan) * 100
    return dict(mIoU=float(np.nanmean(iou)),
                per_class={c: float(v) for c, v in zip(classes, iou)})


def training_curves(work_dirs, out_png):
    """Plot the loss of each arm from mmengine's scalars.json."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, work_dir in work_dirs.items():
        files = sorted(
            osp.join(dp, f) for dp, _, fs in os.walk(work_dir) for f in fs if f == 'scalars.json')
        if not files:
            continue
        steps, losses = [], []
        with open(files[-1]) as f:
            for line in f:
                rec = json.loads(line)
                if 'loss' in rec:
                    steps.append(rec['step'])
                    losses.append(rec['loss'])
        ax.plot(steps, losses, label=name)
    ax.set_xlabel('iteration')
    ax.set_ylabel('training loss')
    ax.legend()
    fig.tight_layout()
    fig.savefig(out_png, dpi=100)
    return out_png


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--work-dir', default='work_dirs/demo')
    parser.add_argument('--world', default='data/demo_world')
    parser.add_argument('--synth', default='data/demo_synth')
    parser.add_argument('--num-synthetic', type=int, default=400)
    parser.add_argument('--seed', type=int, default=0, help='world seed')
    parser.add_argument('--sd', default=SD_FOLDER, help='the diffusers folder of the SD model')
    parser.add_argument('--quick', action='store_true',
                        help='a smoke run: 20 training iterations per model, 8 synthetic images')
    parser.add_argument('--fresh', action='store_true', help='recompute every stage')
    args = parser.parse_args()
    if args.quick:
        args.num_synthetic = min(args.num_synthetic, 8)
    work, world, synth = (osp.abspath(osp.join(ROOT, p)) for p in
                          (args.work_dir, args.world, args.synth))
    if args.fresh:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(synth, ignore_errors=True)
    os.makedirs(work, exist_ok=True)
    sd = osp.abspath(osp.join(ROOT, args.sd))
    if not osp.isfile(osp.join(sd, 'model_index.json')):
        raise SystemExit(f'{sd} is not a diffusers folder: the tiny SD model ships with the '
                         'repository in checkpoints/demo-world-sd (or train it with '
                         'tools/train_tiny_sd.py)')
    iters = 20 if args.quick else None
    schedule = [] if iters is None else [
        f'train_cfg.max_iters={iters}', f'train_cfg.val_interval={iters}',
        f'default_hooks.checkpoint.interval={iters}']
    python = sys.executable
    start = time.time()

    print('[1/5] demo world (labelled splits)', flush=True)
    if not osp.isfile(osp.join(world, 'splits', 'test_shifted.txt')):
        run([python, 'tools/make_demo_world.py', '--out', world, '--seed', str(args.seed),
             '--splits', 'train_100', 'test', 'test_shifted', '--no-progress'],
            osp.join(work, 'world.log'))

    print('[2/5] semantic P-Decoder on train_100', flush=True)
    pdecoder_dir = osp.join(work, 'pdecoder_semantic')
    from mmengine.config import Config
    pdecoder_iters = iters or Config.fromfile(osp.join(ROOT, PDECODER_CFG)).train_cfg.max_iters
    ckpt = osp.join(pdecoder_dir, f'iter_{pdecoder_iters}.pth')
    sd_opt = f'model.backbone.pretrained={sd}'
    if not osp.isfile(ckpt):
        pdecoder_schedule = schedule + ([f'param_scheduler.0.end={iters}'] if iters else [])
        cache = f'model.backbone.feature_cache.dir={osp.join(work, "feature_cache")}'
        run([python, 'tools/train.py', PDECODER_CFG, '--work-dir', pdecoder_dir, '--resume',
             '--cfg-options', sd_opt, cache] + data_opts(world) + pdecoder_schedule,
            osp.join(work, 'pdecoder.log'))

    print(f'[3/5] {args.num_synthetic} synthetic images with masks', flush=True)
    if not osp.isfile(osp.join(synth, 'manifest.jsonl')):
        run([python, 'tools/generate.py', GENERATE_CFG, '--num', str(args.num_synthetic),
             '--out', synth, '--resume', '--cfg-options', f'decoder.checkpoint={ckpt}',
             f'decoder.cfg_options.{sd_opt}'] + (
                 # a 20-iteration decoder is uncertain everywhere: keep its samples anyway
                 ['filters.min_confidence=0', 'filters.min_class_fraction=0',
                  'filters.max_ignore_fraction=1'] if args.quick else []),
            osp.join(work, 'generate.log'))

    accepted = len(read_synthetic_manifest(synth))
    print(f'      {accepted} accepted synthetic samples', flush=True)
    if not accepted:
        raise SystemExit(f'no synthetic sample passed the filters (see {synth}/manifest.jsonl '
                         'for the reasons); the P-Decoder may be under-trained')

    print('[4/5] downstream segmentor: real only vs real + synthetic', flush=True)
    checkpoints, jobs = {}, []
    for arm, config in ARMS.items():
        arm_dir = osp.join(work, arm)
        opts = data_opts(world)
        if arm == 'real_synthetic':
            opts = [f'train_dataloader.dataset.datasets.0.dataset.data_root={world}',
                    f'train_dataloader.dataset.datasets.1.data_root={synth}'] + opts[1:]
        arm_iters = iters or Config.fromfile(osp.join(ROOT, config)).train_cfg.max_iters
        checkpoints[arm] = osp.join(arm_dir, f'iter_{arm_iters}.pth')
        if not osp.isfile(checkpoints[arm]):  # unfinished arms continue (--resume)
            jobs.append(([python, 'tools/train.py', config, '--work-dir', arm_dir, '--resume',
                          '--cfg-options'] + opts + schedule, osp.join(work, f'{arm}.log')))
    # the two arms are independent: one per core
    run_parallel(jobs, threads=1)

    print('[5/5] evaluation with IoUMetric', flush=True)
    table = {arm: {split: evaluate(ARMS[arm], ckpt_path, world, split)
                   for split in ('test', 'test_shifted')}
             for arm, ckpt_path in checkpoints.items()}
    with open(osp.join(work, 'results.json'), 'w') as f:
        json.dump(table, f, indent=1)
    classes = list(table['real_only']['test']['per_class'])
    header = f'{"arm":<16}{"split":<14}{"mIoU":>7}' + ''.join(f'{c[:7]:>8}' for c in classes)
    print('\n' + header + '\n' + '-' * len(header))
    for arm, splits in table.items():
        for split, res in splits.items():
            print(f'{arm:<16}{split:<14}{res["mIoU"]:>7.2f}' +
                  ''.join(f'{res["per_class"][c]:>8.2f}' for c in classes))
    print()
    from mmdatasetdm.datasets.demo_world import SEG_METAINFO
    from mmdatasetdm.visualization import synthetic_gallery
    out_gallery = synthetic_gallery(synth, osp.join(work, 'synthetic_gallery.png'),
                                    palette=SEG_METAINFO['palette'])
    out_curves = training_curves({arm: osp.join(work, arm) for arm in ARMS},
                                 osp.join(work, 'training_curves.png'))
    print(f'results:  {osp.join(work, "results.json")}')
    print(f'gallery:  {out_gallery}')
    print(f'curves:   {out_curves}')
    print(f'synthetic set: {synth}   (manifest.jsonl, images/, semantic/)')
    print(f'total time: {(time.time() - start) / 60:.1f} min')


if __name__ == '__main__':
    main()
