"""The main job on the embedded default: does synthetic data help?

    python projects/demo_world/tools/run_demo.py [--task semantic|instance|depth|pose]
        [--work-dir DIR]
        [--world data/demo_world] [--synth DIR] [--num-synthetic 400] [--fresh]

Stages (each is skipped when its output exists, so a second run reuses them):
  1. the demo world's labelled splits (train_100, test, test_shifted);
  2. the task's P-Decoder on train_100 with the shipped tiny SD model
     (projects/demo_world/configs/pdecoder_<task>.py);
  3. a synthetic set from text prompts (projects/demo_world/configs/generate_<task>.py);
  4. the task's downstream model on 100 real only and on 100 real + synthetic, same
     schedule and seed, side by side
     (projects/demo_world/configs/<seg|inst|depth|pose>_{real,synth}_100.py);
  5. both scored on test and test_shifted with the toolbox's stock metric (IoUMetric with
     per-class IoU; CocoMetric; DepthMetric; mmpose CocoMetric): a table, a gallery of
     synthetic samples and the training curves.
The default task, semantic segmentation, is the README's main job. Every stage runs the
project's ordinary tools; only paths are passed here.
"""
import argparse
import json
import os
import os.path as osp
import shutil
import sys
import time
from collections import Counter

from mmdatasetdm.fileio import read_manifest
from projects.demo_world.demo_world.jobs import (DEMO_TASKS, QUICK_FILTERS, ROOT, SD_FOLDER, SPLITS,
                                                 check_world_version, data_opts, run, start,
                                                 task_configs, wait_all)
from projects.demo_world.demo_world.scoring import fmt, score, seed_means

# the multi-seed means of the paper tables (projects/demo_world/tools/paper_tables.py)
PAPER_TABLES = 'docs/results/paper_tables.json'


def print_table(table):
    """Print the arms x splits table (per-class IoU for semantic segmentation)."""
    first = next(iter(next(iter(table.values())).values()))
    if 'per_class' in first:
        names = list(first['per_class'])
        header = f'{"arm":<16}{"split":<14}{"mIoU":>7}' + ''.join(f'{c[:7]:>8}' for c in names)
        rows = [f'{arm:<16}{split:<14}{res["mIoU"]:>7.2f}' +
                ''.join(f'{res["per_class"][c]:>8.2f}' for c in names)
                for arm, splits in table.items() for split, res in splits.items()]
    else:
        names = list(first)
        header = f'{"arm":<16}{"split":<14}' + ''.join(f'{n.split("/")[-1][:11]:>12}'
                                                       for n in names)
        rows = [f'{arm:<16}{split:<14}' + ''.join(f'{res.get(n, float("nan")):>12.4f}'
                                                  for n in names)
                for arm, splits in table.items() for split, res in splits.items()]
    print('\n' + header + '\n' + '-' * len(header) + '\n' + '\n'.join(rows) + '\n')


def print_seed_means(task, report_path=PAPER_TABLES):
    """Print the same arms' means over seeds from the paper tables, when they exist."""
    path = osp.join(ROOT, report_path)
    if not osp.isfile(path):
        return
    with open(path) as f:
        means = seed_means(json.load(f), task)
    if not means:
        return
    print(f'Beside this one run: mean ± std [95% interval] over seeds ({report_path}, '
          'docs/results.md):')
    for arm, splits in means.items():
        for split, metrics in splits.items():
            text = ', '.join(f'{m} {fmt(s, 2 if task == "semantic" else 3)}'
                             for m, s in metrics.items())
            print(f'  {arm:<16}{split:<14}{text}')
    print()


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
    parser.add_argument('--task', default='semantic', choices=sorted(DEMO_TASKS),
                        help='which perception task (default: semantic, the main job)')
    parser.add_argument('--work-dir', help='default: work_dirs/demo[_<task>]')
    parser.add_argument('--world', default='data/demo_world')
    parser.add_argument('--synth', help='the generated set (default: data/demo_synth[_<task>])')
    parser.add_argument('--num-synthetic', type=int, default=400)
    parser.add_argument('--seed', type=int, default=0, help='world seed')
    parser.add_argument('--sd', default=SD_FOLDER, help='the diffusers folder of the SD model')
    parser.add_argument('--quick', action='store_true',
                        help='a smoke run: 20 training iterations per model, 8 synthetic images')
    parser.add_argument('--fresh', action='store_true', help='recompute every stage')
    args = parser.parse_args()
    task = DEMO_TASKS[args.task]
    pdecoder_cfg, generate_cfg, arms = task_configs(args.task)
    if args.quick:
        args.num_synthetic = min(args.num_synthetic, 8)
    work, world, synth = (osp.abspath(osp.join(ROOT, p)) for p in
                          (args.work_dir or task['work'], args.world, args.synth or task['synth']))
    if args.fresh:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(synth, ignore_errors=True)
    os.makedirs(work, exist_ok=True)
    sd = osp.abspath(osp.join(ROOT, args.sd))
    if not osp.isfile(osp.join(sd, 'model_index.json')):
        raise SystemExit(f'{sd} is not a diffusers folder: the tiny SD model ships with the '
                         'repository in checkpoints/demo-world-sd (or train it with '
                         'projects/tiny_sd/tools/train_tiny_sd.py)')
    iters = 20 if args.quick else None
    schedule = [] if iters is None else [
        f'train_cfg.max_iters={iters}', f'train_cfg.val_interval={iters}',
        f'default_hooks.checkpoint.interval={iters}']
    python = sys.executable
    began = time.time()
    from mmengine.config import Config

    print('[1/5] demo world (labelled splits)', flush=True)
    check_world_version(world)
    if not osp.isfile(osp.join(world, 'splits', 'test_shifted.txt')):
        # a smoke run scores 40 test images per split, not 500
        small = ['--num', 'test=40', '--num', 'test_shifted=40'] if args.quick else []
        run([
            python, 'projects/demo_world/tools/make_demo_world.py', '--out', world, '--seed',
            str(args.seed), '--splits', 'train_100', 'test', 'test_shifted', '--no-progress'
        ] + small, osp.join(work, 'world.log'))

    # the downstream arms: the real-only one needs nothing generated, so it trains on one
    # core while the other runs the P-Decoder and the generator
    checkpoints, arm_jobs = {}, {}
    for arm, config in arms.items():
        arm_dir = osp.join(work, arm)
        opts = data_opts(world)
        if arm == 'real_synthetic':
            opts = [f'{task["real_key"]}={world}', f'{task["synth_key"]}={synth}'] + opts[1:]
        arm_cfg = Config.fromfile(osp.join(ROOT, config))
        if arm_cfg.get('val_evaluator', {}).get('ann_file'):  # CocoMetric reads the split's JSON
            opts.append('val_evaluator.ann_file=' +
                        arm_cfg.val_evaluator.ann_file.replace(arm_cfg.data_root, world, 1))
        arm_iters = iters or arm_cfg.train_cfg.max_iters
        checkpoints[arm] = osp.join(arm_dir, f'iter_{arm_iters}.pth')
        if not osp.isfile(checkpoints[arm]):  # unfinished arms continue (--resume)
            arm_jobs[arm] = ([python, 'tools/train.py', config, '--work-dir', arm_dir,
                              '--resume', '--cfg-options'] + opts + schedule,
                             osp.join(work, f'{arm}.log'))
    background = []
    if 'real_only' in arm_jobs:
        print('[4/5] downstream model, real only (alongside stages 2 and 3)', flush=True)
        background.append(start(*arm_jobs.pop('real_only'), threads=1))
    # one core each while the real-only arm trains, else all of them (a fixed choice, not
    # a race with that arm: the thread count can change floating-point results)
    threads = 1 if background else None

    print(f'[2/5] {args.task} P-Decoder on train_100', flush=True)
    pdecoder_dir = osp.join(work, f'pdecoder_{args.task}')
    pdecoder = Config.fromfile(osp.join(ROOT, pdecoder_cfg))
    pdecoder_iters = iters or pdecoder.train_cfg.max_iters
    ckpt = osp.join(pdecoder_dir, f'iter_{pdecoder_iters}.pth')
    sd_opt = f'model.backbone.pretrained={sd}'
    if not osp.isfile(ckpt):
        # a smoke run skips the P-Decoder's own validation (the downstream arms are scored)
        pdecoder_schedule = schedule + ([f'param_scheduler.0.end={iters}', 'val_cfg=None',
                                         'val_dataloader=None', 'val_evaluator=None']
                                        if iters else [])
        cache = ([f'model.backbone.feature_cache.dir={osp.join(work, "feature_cache")}']
                 if pdecoder.model.backbone.get('feature_cache') else [])
        run([python, 'tools/train.py', pdecoder_cfg, '--work-dir', pdecoder_dir, '--resume',
             '--cfg-options', sd_opt] + cache + data_opts(world)[:1 if iters else 3] +
            pdecoder_schedule,
            osp.join(work, 'pdecoder.log'), threads)

    print(f'[3/5] {args.num_synthetic} synthetic images with {args.task} labels', flush=True)
    if not osp.isfile(osp.join(synth, 'manifest.jsonl')):
        run([python, 'tools/generate.py', generate_cfg, '--num', str(args.num_synthetic),
             '--out', synth, '--resume', '--cfg-options', f'decoder.checkpoint={ckpt}',
             f'decoder.cfg_options.{sd_opt}'] + (
                 # a 20-iteration decoder is uncertain everywhere: keep its samples anyway
                 QUICK_FILTERS
                 if args.quick else []),
            osp.join(work, 'generate.log'), threads)

    samples = read_manifest(synth)
    accepted = sum(1 for s in samples if s.get('accepted', True))
    reasons = Counter(s.get('reason') for s in samples if not s.get('accepted', True))
    rejected = ', '.join(f'{n} {reason}' for reason, n in reasons.most_common())
    print(f'      {accepted} accepted synthetic samples of {len(samples)}'
          + (f' (rejected: {rejected})' if rejected else ''), flush=True)
    if not accepted:
        wait_all(background)
        raise SystemExit(f'no synthetic sample passed the filters (see {synth}/manifest.jsonl '
                         'for the reasons); the P-Decoder may be under-trained')

    remaining = ((['real + synthetic'] if 'real_synthetic' in arm_jobs else []) +
                 (['real only (finishing)'] if background else []))
    print('[4/5] downstream model: ' + (' and '.join(remaining) or 'trained before'), flush=True)
    # the real-only arm is usually done by now: the mixed one (all that is left) then gets
    # every core
    wait_all(background)
    wait_all([start(*job) for job in arm_jobs.values()])

    print('[5/5] evaluation with the toolbox\'s metric', flush=True)
    table = {arm: {split: score(args.task, arms[arm], ckpt_path, world, split)
                   for split in SPLITS}
             for arm, ckpt_path in checkpoints.items()}
    with open(osp.join(work, 'results.json'), 'w') as f:
        json.dump(table, f, indent=1)
    print_table(table)
    print_seed_means(args.task)
    from mmdatasetdm.visualization import synthetic_gallery
    from projects.demo_world.demo_world import SEG_METAINFO
    out_gallery = synthetic_gallery(synth, osp.join(work, 'synthetic_gallery.png'),
                                    palette=SEG_METAINFO['palette'], tile_height=128,
                                    captions=True, legend=True)
    out_curves = training_curves({arm: osp.join(work, arm) for arm in arms},
                                 osp.join(work, 'training_curves.png'))
    print(f'results:  {osp.join(work, "results.json")}')
    print(f'gallery:  {out_gallery}')
    print(f'curves:   {out_curves}')
    print(f'synthetic set: {synth}   (manifest.jsonl, dataset.json and the label files)')
    print(f'total time: {(time.time() - began) / 60:.1f} min')


if __name__ == '__main__':
    main()
