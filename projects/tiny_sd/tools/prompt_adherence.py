"""Prompt adherence of a tiny SD model: is the prompted class in the image?

How it is measured:

1. A small multi-label CNN is trained on **real** world images: by default 10000
   labelled images drawn like the unlabelled pool the generator learned from
   (every class common; the world's labelled splits are long-tailed), written
   once under ``--work-dir``, or ``--train-split`` of ``--world``. An image's
   labels are the object classes that cover at least ``--min-pixels`` pixels
   of its semantic mask. Its per-class recall and precision on
   ``--test-split`` are printed so the judge can be judged (with 2000 images
   and 1500 steps, the earlier default, recall was 0.78-0.94; with 10000 and
   4000 it is 0.87-0.99 at precision 0.97-0.99).
2. For each object class, ``--per-class`` prompts name that class alone, with a
   random colour and ground from the world's caption vocabulary (e.g. "a photo
   of a red car on a road"); one image is sampled per prompt with diffusers'
   own ``StableDiffusionPipeline`` (the folder's scheduler, ``--steps`` steps,
   guidance ``--guidance``).
3. A sample *adheres* when the classifier's probability of the prompted class
   is > 0.5. The same classifier on images sampled from the empty prompt gives
   the unconditional rate of each class (what adherence would be by chance).
4. With ``--captions N``, N real test captions (several classes each, the
   pool's own caption style) are used as prompts too; the share of named
   classes the judge finds in the generated images is printed beside the
   share it finds in the real images of the same captions (the judge's own
   ceiling: captions name objects of any visible size).
5. With ``--conditioning N``, N of the judge's labelled test images measure
   whether the UNet uses its text at all: the noise error inside an object's
   mask with a caption naming it vs the empty prompt (see
   :func:`conditioning_check`).

Example::

    python projects/demo_world/tools/make_demo_world.py --out data/demo_world --seed 0 --splits test
    python projects/tiny_sd/tools/prompt_adherence.py --model checkpoints/demo-world-sd \\
        --world data/demo_world --grid checkpoints/demo-world-sd/samples.png \\
        --captions 100

The judge, the prompts and the statistics are
:mod:`projects.tiny_sd.tiny_sd.adherence`; the measured rates of the shipped
model are in ``projects/tiny_sd/README.md``.
"""
import argparse
import json
import os
import os.path as osp
import sys
import time

import numpy as np
import torch

from mmdatasetdm.fileio import read_rgb
from projects.demo_world.demo_world import WorldLayout, read_caption_records
from projects.tiny_sd.tiny_sd.adherence import (CLASSES, CONDITIONING_TIMESTEPS, GRID_PROMPTS,
                                                TinyClassifier, caption_classes, conditioning_check,
                                                load_labelled, make_prompts, pool_like_world,
                                                predict, sample, save_grid, train_classifier,
                                                wilson_interval)


def caption_check(args, pipe, judge, log):
    """Real test captions as prompts: share of named classes the judge finds.

    The same share on the real images of those captions is the ceiling the
    judge allows (it misses small objects in real images too).
    """
    records = read_caption_records(
        WorldLayout(args.world).captions(args.captions_split))[:args.captions]
    prompts = [r['caption'] for r in records]
    named = [caption_classes(p) for p in prompts]
    real = torch.from_numpy(np.stack([read_rgb(osp.join(args.world, r['file_name']))
                                      for r in records])).permute(0, 3, 1, 2).contiguous()
    seeds = [args.seed * 100000 + 50000 + i for i in range(len(prompts))]
    fake = sample(pipe, prompts, seeds, args.steps, args.guidance,
                  guidance_rescale=args.guidance_rescale)
    rates = {}
    for kind, images in (('generated', fake), ('real', real)):
        probs = predict(judge, images) > 0.5
        found = sum(int(probs[i, c]) for i, cs in enumerate(named) for c in cs)
        rates[kind] = found / max(1, sum(len(cs) for cs in named))
    log(f'caption prompts ({len(prompts)} real {args.captions_split} captions): the judge finds '
        f"{rates['generated']:.1%} of the named classes in generated images, "
        f"{rates['real']:.1%} in the real images of the same captions")
    return rates


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--model', default='checkpoints/demo-world-sd', help='diffusers folder')
    parser.add_argument('--world', default='data/demo_world',
                        help='world with labelled splits (semantic masks)')
    parser.add_argument('--train-split',
                        help="the judge's training split in --world (default: 2000 labelled "
                             "images drawn like the pool, written to --work-dir)")
    parser.add_argument('--test-split', help="the judge's test split (default: 500 more such "
                                             "images)")
    parser.add_argument('--judge-images', type=int, default=10000,
                        help="the judge's training images (the first N of --train-split)")
    parser.add_argument('--min-pixels', type=int, default=32,
                        help='a class is present when its mask has this many pixels')
    parser.add_argument('--classifier-steps', type=int, default=4000)
    parser.add_argument('--per-class', type=int, default=20, help='prompts per class')
    parser.add_argument('--steps', type=int, default=20, help='sampling steps')
    parser.add_argument('--guidance', type=float, default=5.0, help='guidance scale')
    parser.add_argument('--guidance-rescale', type=float, default=0.0,
                        help="diffusers' guidance_rescale (0.7 for zero-terminal-SNR models)")
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--threads', type=int, default=1, help='torch CPU threads')
    parser.add_argument('--work-dir', default='work_dirs/prompt_adherence',
                        help='where the samples and the result JSON go')
    parser.add_argument('--grid', help='also write the sample grid PNG here')
    parser.add_argument('--captions', type=int, default=0,
                        help='also prompt with this many real test captions (multi-class) and '
                             'compare with their real images')
    parser.add_argument('--captions-split', default='test',
                        help='split of --world whose captions --captions uses')
    parser.add_argument('--conditioning', type=int, default=0,
                        help="also measure, on this many of the judge's labelled test images, "
                             "how much the caption naming an object lowers the UNet's noise "
                             'error on it (no sampling)')
    parser.add_argument('--conditioning-timesteps', type=lambda v: tuple(map(int, v.split(','))),
                        default=CONDITIONING_TIMESTEPS, metavar='T1,T2,...',
                        help='timesteps of the --conditioning check (default: %(default)s)')
    parser.add_argument('--judge-only', action='store_true',
                        help='train and evaluate the judge, sample nothing')
    parser.add_argument('--retrain-judge', action='store_true',
                        help="retrain the judge even if --work-dir holds one")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    from diffusers import StableDiffusionPipeline
    from diffusers.utils import logging as dlogging
    dlogging.disable_progress_bar()
    t0 = time.time()
    log = lambda msg: print(msg, flush=True)  # noqa: E731

    with open(osp.join(args.world, 'meta.json')) as f:
        world = json.load(f)  # a judge belongs to one world version and seed
    judge_root = args.world
    if args.train_split is None or args.test_split is None:
        judge_root = pool_like_world(world, args.work_dir, args.judge_images)
        args.train_split = args.train_split or 'judge_train'
        args.test_split = args.test_split or 'judge_test'
    log(f'judge: TinyClassifier on real {judge_root}/{args.train_split}, labels = classes with '
        f'>= {args.min_pixels} mask pixels')
    train_x, train_y = load_labelled(judge_root, args.train_split, args.min_pixels,
                                     args.judge_images)
    test_x, test_y = load_labelled(judge_root, args.test_split, args.min_pixels)
    judge_file = osp.join(args.work_dir, f'judge_world{world["format_version"]}-{world["seed"]}_'
                          f'{args.train_split}{len(train_x)}_{args.min_pixels}px_'
                          f'{args.classifier_steps}steps_seed{args.seed}.pth')
    if osp.isfile(judge_file) and not args.retrain_judge:
        judge = TinyClassifier()
        judge.load_state_dict(torch.load(judge_file, map_location='cpu', weights_only=True))
        judge.eval()
        log(f'  judge loaded from {judge_file}')
    else:
        judge = train_classifier(train_x, train_y, args.classifier_steps, seed=args.seed, log=log)
        os.makedirs(args.work_dir, exist_ok=True)
        torch.save(judge.state_dict(), judge_file)
    pred = predict(judge, test_x) > 0.5
    judge_stats = {}
    for c, name in enumerate(CLASSES):
        pos = test_y[:, c].bool()
        recall = (pred[pos, c]).float().mean().item()
        precision = (test_y[pred[:, c], c]).mean().item() if pred[:, c].any() else float('nan')
        judge_stats[name] = dict(recall=recall, precision=precision,
                                 real_rate=pos.float().mean().item())
        log(f'  judge on real {args.test_split}: {name:7s} recall {recall:.3f} precision '
            f'{precision:.3f} (present in {pos.float().mean().item():.0%} of images)')

    if args.judge_only:
        return judge_stats
    pipe = StableDiffusionPipeline.from_pretrained(args.model, safety_checker=None,
                                                   requires_safety_checker=False)
    pipe.set_progress_bar_config(disable=True)
    log(f'model: {args.model}, {type(pipe.scheduler).__name__} {args.steps} steps, '
        f'guidance {args.guidance} (rescale {args.guidance_rescale}), '
        f'{pipe.scheduler.config.prediction_type}')
    conditioning = None
    if args.conditioning:
        conditioning = conditioning_check(pipe, judge_root, args.test_split, args.conditioning,
                                          timesteps=args.conditioning_timesteps,
                                          seed=args.seed, min_pixels=args.min_pixels)
        for name, row in conditioning.items():
            log(f'  {name:7s} noise error in its mask at t='
                f'{"/".join(map(str, args.conditioning_timesteps))} ({row["count"]} objects): '
                f'naming caption {row["named"]:.4f}, empty {row["empty"]:.4f}, another '
                f'class {row["other"]:.4f}; the caption removes {row["gain"]:.1f}%')
    prompts = make_prompts(args.per_class, args.seed)
    seeds = [args.seed * 100000 + i for i in range(len(prompts))]
    images = sample(pipe, [p for _, p in prompts], seeds, args.steps, args.guidance,
                    guidance_rescale=args.guidance_rescale)
    probs = predict(judge, images)
    uncond = sample(pipe, [''] * (2 * args.per_class), seeds[:2 * args.per_class], args.steps,
                    args.guidance, guidance_rescale=args.guidance_rescale)
    uncond_rate = (predict(judge, uncond) > 0.5).float().mean(0)

    hits = torch.tensor([probs[i, c] > 0.5 for i, (c, _) in enumerate(prompts)])
    per_class = {}
    for c, name in enumerate(CLASSES):
        rows = [i for i, (k, _) in enumerate(prompts) if k == c]
        per_class[name] = dict(adherence=hits[rows].float().mean().item(),
                               unconditional_rate=uncond_rate[c].item(), **judge_stats[name])
        log(f'  {name:7s} adherence {per_class[name]["adherence"]:.0%} '
            f'(empty prompt: {uncond_rate[c].item():.0%})')
    overall = hits.float().mean().item()
    interval = wilson_interval(int(hits.sum()), len(hits))
    os.makedirs(args.work_dir, exist_ok=True)
    save_grid(osp.join(args.work_dir, 'adherence_samples.png'), images, rows=len(CLASSES),
              labels=list(CLASSES))
    result = dict(adherence=overall, adherence_95ci=list(interval), samples=len(prompts),
                  per_class=per_class,
                  prompts=[p for _, p in prompts], seeds=seeds, steps=args.steps,
                  guidance=args.guidance, guidance_rescale=args.guidance_rescale,
                  min_pixels=args.min_pixels, model=args.model,
                  seconds=round(time.time() - t0, 1))
    if conditioning is not None:
        result['conditioning'] = conditioning
    if args.captions:
        result['caption_prompts'] = caption_check(args, pipe, judge, log)
    with open(osp.join(args.work_dir, 'result.json'), 'w') as f:
        json.dump(result, f, indent=2)
    if args.grid:
        cols = 6
        grid_prompts = [p for p in GRID_PROMPTS for _ in range(cols)]
        grid = sample(pipe, grid_prompts, list(range(len(grid_prompts))), args.steps,
                      args.guidance, guidance_rescale=args.guidance_rescale)
        save_grid(args.grid, grid, rows=len(GRID_PROMPTS), labels=list(GRID_PROMPTS))
        log(f'sample grid: {args.grid}')
    log(f'prompt adherence: {overall:.1%} (95% interval {interval[0]:.1%}-{interval[1]:.1%}) '
        f'of {len(prompts)} samples show the prompted class '
        f'(judge: real-image CNN, p > 0.5); {time.time() - t0:.0f} s')
    return result


if __name__ == '__main__':
    sys.exit(0 if main() else 1)
