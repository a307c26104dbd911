"""Epoch time of the semantic P-Decoder with and without the backbone feature cache.

Trains ``configs/pdecoder/semantic_tiny.py`` (a tiny SD-architecture model with
random weights, written to a temporary diffusers folder; no download) on a few
procedurally drawn images for a few epochs, once without the cache and once
with ``model.backbone.feature_cache`` on (fresh folder: the first epoch fills
it, later epochs read it), after one discarded warm-up epoch. Prints the wall
time of each epoch (data loading included, no validation, no checkpoints), the
part of it spent in the backbone's forward (UNet passes, or cache reads), and
the ratio cached / uncached of the mean time of epochs 2..E, plus one JSON
line. ``--repeats`` alternates uncached and cached runs and reports medians
(use it on a shared machine).

    python tools/analysis_tools/benchmark_feature_cache.py --images 8 --batch-size 4 --epochs 3

``--model`` reads another diffusers folder (e.g. SD-1.5's architecture, with ``--size 512``)
and ``--full-head`` trains the full-width decoder head of ``semantic_voc_100.py``; the
iterations per second of each run are printed too (``--json`` writes the result).
"""
import argparse
import json
import os
import os.path as osp
import tempfile
import time

import numpy as np
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner
from PIL import Image

from mmdatasetdm.diffusion import build_components

CONFIGS = osp.join(osp.dirname(osp.abspath(__file__)), '..', '..', 'configs')
CONFIG = osp.join(CONFIGS, 'pdecoder', 'semantic_tiny.py')
# the full-width semantic P-Decoder (what configs/pdecoder/semantic_voc_100.py trains)
FULL_MODEL = osp.join(CONFIGS, '_base_', 'models', 'pdecoder_semantic_sd15.py')


def write_toy_images(root: str, num: int, size: int, seed: int = 0) -> str:
    """A square (class 1, 'cone') and a disc (class 2, 'ball') per image, in
    mmseg's img_dir/ann_dir layout."""
    rng = np.random.default_rng(seed)
    for sub in ('img_dir', 'ann_dir'):
        os.makedirs(osp.join(root, sub), exist_ok=True)
    yy, xx = np.mgrid[:size, :size]
    for i in range(num):
        img = rng.integers(60, 120, (size, size, 3)).astype(np.uint8)
        label = np.zeros((size, size), np.uint8)
        x0, y0 = rng.integers(0, size // 2, 2)
        side = int(rng.integers(size // 4, size // 2))
        cx, cy = rng.integers(size // 2, size - size // 8, 2)
        r = int(rng.integers(size // 10, size // 6))
        square = (xx >= x0) & (xx < x0 + side) & (yy >= y0) & (yy < y0 + side)
        disc = (xx - cx) ** 2 + (yy - cy) ** 2 <= r * r
        for mask, cls in ((square, 1), (disc, 2)):
            img[mask] = rng.integers(120, 255, 3)
            label[mask] = cls
        Image.fromarray(img).save(osp.join(root, 'img_dir', f'{i:04d}.png'))
        Image.fromarray(label).save(osp.join(root, 'ann_dir', f'{i:04d}.png'))
    return root


class EpochTimer(Hook):
    """Wall time of every group of ``iters_per_epoch`` training iterations,
    and the part of it spent in the backbone's forward (UNet or cache)."""

    def __init__(self, iters_per_epoch: int):
        self.iters_per_epoch = iters_per_epoch
        self.epoch_times, self.backbone_times = [], []
        self._start = None
        self._backbone = self._entered = 0.0

    def before_train(self, runner):
        backbone = runner.model.backbone
        backbone.register_forward_pre_hook(self._enter)
        backbone.register_forward_hook(self._leave)

    def _enter(self, module, args):
        self._entered = time.perf_counter()

    def _leave(self, module, args, output):
        self._backbone += time.perf_counter() - self._entered

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if self._start is None:
            self._start = time.perf_counter()

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if (batch_idx + 1) % self.iters_per_epoch == 0:
            if torch.cuda.is_available():
                torch.cuda.synchronize()
            now = time.perf_counter()
            self.epoch_times.append(now - self._start)
            self.backbone_times.append(self._backbone)
            self._start, self._backbone = now, 0.0


def full_head(cfg) -> None:
    """Replace the tiny config's narrow decoder head by the full-width one, keeping its
    classes, class weights and attention words."""
    tiny = cfg.model.decode_head
    head = Config.fromfile(FULL_MODEL).model.decode_head
    head.num_classes = tiny.num_classes
    head.loss_cls.class_weight = tiny.loss_cls.class_weight
    head.pixel_decoder.attention = tiny.pixel_decoder.attention
    cfg.model.decode_head = head


def run(args, folder: str, data_root: str, work_dir: str, cache_dir=None) -> dict:
    cfg = Config.fromfile(CONFIG)
    cfg.work_dir = work_dir
    cfg.model.backbone.pretrained = folder
    cfg.model.backbone.dtype = args.dtype
    if args.full_head:
        full_head(cfg)
    if cache_dir:
        cfg.model.backbone.feature_cache = dict(dir=cache_dir, dtype=args.cache_dtype)
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.data_root = data_root
    cfg.train_dataloader.batch_size = args.batch_size
    iters_per_epoch = args.images // args.batch_size
    iters = iters_per_epoch * args.epochs
    cfg.train_cfg.max_iters = iters
    cfg.train_cfg.val_interval = iters + 1
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.test_cfg = cfg.test_dataloader = cfg.test_evaluator = None
    cfg.default_hooks.checkpoint.interval = iters + 1
    cfg.default_hooks.checkpoint.save_last = False
    cfg.default_hooks.logger.interval = max(iters, 1)
    cfg.log_level = 'WARNING'
    runner = Runner.from_cfg(cfg)
    timer = EpochTimer(iters_per_epoch)
    runner.register_hook(timer)
    runner.train()
    return dict(epoch_s=[round(t, 3) for t in timer.epoch_times],
                backbone_s=[round(t, 3) for t in timer.backbone_times],
                stats=runner.model.backbone.cache_stats)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--images', type=int, default=8, help='training images (one epoch)')
    parser.add_argument('--batch-size', type=int, default=4)
    parser.add_argument('--epochs', type=int, default=3)
    parser.add_argument('--size', type=int, default=128, help='image side (multiple of 64)')
    parser.add_argument('--cache-dtype', choices=['fp16', 'fp32'], default='fp16')
    parser.add_argument('--threads', type=int, default=None, help='torch CPU threads')
    parser.add_argument('--repeats', type=int, default=1,
                        help='uncached/cached pairs (alternating); medians are reported')
    parser.add_argument('--work-dir', default=None, help='default: a temporary folder')
    parser.add_argument('--model', help='a diffusers folder (default: a tiny SD-architecture '
                        'model with random weights, written to the work folder)')
    parser.add_argument('--dtype', default='fp32', choices=['fp32', 'fp16', 'bf16', 'auto'],
                        help="the backbone's dtype ('auto': fp16 where CUDA is visible)")
    parser.add_argument('--full-head', action='store_true',
                        help='the full-width decoder head of semantic_voc_100.py instead of '
                        'the tiny one (the classes stay the toy images\' three)')
    parser.add_argument('--json', help='also write the result to this file')
    args = parser.parse_args(argv)
    if args.images % args.batch_size:
        parser.error('--images must be a multiple of --batch-size (whole epochs)')
    if args.epochs < 2:
        parser.error('--epochs must be >= 2 (the first cached epoch fills the cache)')
    if args.threads:
        torch.set_num_threads(args.threads)

    work = args.work_dir or tempfile.mkdtemp(prefix='feature_cache_bench_')
    folder = args.model
    if folder is None:
        folder = osp.join(work, 'tiny_sd')
        build_components(vocabulary=['a photo of a cone and ball'] * 4,
                         seed=0).save_pretrained(folder)
    data_root = write_toy_images(osp.join(work, 'data'), args.images, args.size)
    # one discarded uncached epoch first: lazy imports, allocator and kernel
    # warm-up would otherwise land in whichever run goes first
    run(argparse.Namespace(**{**vars(args), 'epochs': 1}), folder, data_root,
        osp.join(work, 'run_warmup'))
    runs = dict(uncached=[], cached=[])
    for r in range(args.repeats):
        runs['uncached'].append(run(args, folder, data_root, osp.join(work, f'run_uncached_{r}')))
        runs['cached'].append(run(args, folder, data_root, osp.join(work, f'run_cached_{r}'),
                                  cache_dir=osp.join(work, f'feature_cache_{r}')))

    def later(key, name):  # per run: mean over epochs 2..E; then the median over runs
        return float(np.median([np.mean(r[key][1:]) for r in runs[name]]))

    def first(key, name):
        return float(np.median([r[key][0] for r in runs[name]]))

    device = torch.cuda.get_device_name() if torch.cuda.is_available() else 'cpu'
    print(f'semantic_tiny, {args.images} images of {args.size}px, batch {args.batch_size}, '
          f'{args.epochs} epochs x {args.repeats} repeats, device {device}, '
          f'{torch.get_num_threads()} CPU threads, cache dtype {args.cache_dtype}')
    print(f'{"epoch":>5} {"uncached s":>11} {"(backbone)":>10} {"cached s":>9} {"(backbone)":>10}')
    for e in range(args.epochs):
        cells = [float(np.median([r[k][e] for r in runs[n]]))
                 for n in ('uncached', 'cached') for k in ('epoch_s', 'backbone_s')]
        note = '  (cached run fills the cache)' if e == 0 else ''
        print(f'{e + 1:>5} {cells[0]:>11.3f} {cells[1]:>10.3f} {cells[2]:>9.3f} {cells[3]:>10.3f}'
              f'{note}')
    ratio = later('epoch_s', 'cached') / later('epoch_s', 'uncached')
    print(f'epochs 2..{args.epochs}: uncached {later("epoch_s", "uncached"):.3f} s/epoch '
          f'(backbone {later("backbone_s", "uncached"):.3f}), cached '
          f'{later("epoch_s", "cached"):.3f} s/epoch (backbone {later("backbone_s", "cached"):.3f})'
          f'; ratio cached / uncached = {ratio:.3f}')
    print(f'epoch 1 (cache fill): ratio cached / uncached = '
          f'{first("epoch_s", "cached") / first("epoch_s", "uncached"):.3f}')
    iters_per_epoch = args.images // args.batch_size
    its = {name: round(iters_per_epoch / later('epoch_s', name), 4) for name in runs}
    print(f'iterations/s at batch {args.batch_size}: uncached {its["uncached"]}, '
          f'cached {its["cached"]}')
    result = dict(images=args.images, size=args.size, batch_size=args.batch_size,
                  epochs=args.epochs, device=device, threads=torch.get_num_threads(),
                  dtype=args.dtype, full_head=args.full_head, runs=runs, ratio=round(ratio, 4),
                  iters_per_s=its)
    print(json.dumps(result))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(result, f, indent=1)


if __name__ == '__main__':
    main()
