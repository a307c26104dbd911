"""Which diffusion timestep should a P-Decoder read its features at?

DatasetDM reads SD-1.5 at t=1 (the last sampling step). A small diffusion
model need not behave like SD, so this sweep measures, for each timestep ``t``:

1. **Decoder quality on real images**: a semantic P-Decoder is trained on
   ``train_100`` with features at ``t`` (``model.backbone.timestep``) and scored
   with mmseg's IoUMetric on the first ``--val-images`` images of
   ``train_large`` (labelled, never a test split).
2. **Label quality on generated images**: ``tools/generate.py`` samples
   ``--num`` images and labels them with that decoder, reading features at the
   sampling step nearest ``t`` (the engine's default), with every filter off.
   A downstream segmentor trained on real images only (``--judge``) predicts
   the same images; the mIoU of its predictions against the decoder's labels
   is the *agreement*. Reading at a noisy step can only help if the image the
   sampler finishes still matches the labels decoded mid-way; agreement
   measures both effects at once.

    python projects/demo_world/tools/capture_timestep.py --timesteps 1 301 501 701 \\
        --judge work_dirs/demo/real_only/iter_3000.pth --jobs 2

All runs go under ``--work-dir``; the table and ``capture_timestep.json``
(every number) at its root.
"""
import argparse
import json
import os
import os.path as osp
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from projects.demo_world.demo_world.jobs import ROOT, SD_FOLDER, data_opts, run

CONFIGS = osp.join(ROOT, 'projects', 'demo_world', 'configs')
PDECODER = osp.join(CONFIGS, 'pdecoder_semantic.py')
GENERATE = osp.join(CONFIGS, 'generate_semantic.py')
JUDGE = osp.join(CONFIGS, 'seg_real_100.py')
# The judge's test set: the generated images, with the decoder's labels as ground truth.
JUDGE_ON_SYNTHETIC = '''_base_ = [{judge!r}]
test_dataloader = dict(dataset=dict(
    _delete_=True, type='mmdatasetdm.SyntheticSegDataset', data_root={data_root!r},
    metainfo_from='mmdatasetdm.DemoWorldSegDataset', pipeline=_base_.test_pipeline))
'''
FILTERS_OFF = ['filters.min_confidence=0', 'filters.max_ignore_fraction=1',
               'filters.min_class_fraction=0', 'filters.require_prompted=False']


def miou(path: str) -> float:
    """mIoU from a ``tools/test.py --out`` JSON file."""
    with open(path) as f:
        return float(json.load(f)['mIoU'])


def sweep_one(t: int, args) -> dict:
    """Train, validate, generate and judge at timestep ``t``.

    Returns:
        dict: ``timestep``, ``val_miou``, ``agreement_miou``, ``seconds``.
    """
    began = time.time()
    work = osp.join(args.work_dir, f't{t}')
    os.makedirs(work, exist_ok=True)
    py = sys.executable
    timestep = f'model.backbone.timestep={t}'
    data = data_opts(args.world)
    val = ['val_dataloader.dataset.split=train_large',
           f'val_dataloader.dataset.indices={args.val_images}',
           'test_dataloader.dataset.split=train_large',
           f'test_dataloader.dataset.indices={args.val_images}']
    schedule = [f'train_cfg.max_iters={args.iters}', f'train_cfg.val_interval={args.iters}',
                f'default_hooks.checkpoint.interval={args.iters}',
                f'param_scheduler.0.end={args.iters}']
    decoder_dir = osp.join(work, 'pdecoder')
    checkpoint = osp.join(decoder_dir, f'iter_{args.iters}.pth')
    if not osp.isfile(checkpoint):
        run([py, 'tools/train.py', PDECODER, '--work-dir', decoder_dir, '--cfg-options',
             timestep, *data, *val, *schedule], osp.join(work, 'train.log'))
    val_json = osp.join(work, 'val.json')
    run([py, 'tools/test.py', PDECODER, checkpoint, '--work-dir', osp.join(work, 'val'),
         '--out', val_json, '--cfg-options', timestep, *data, *val], osp.join(work, 'val.log'))
    synth = osp.join(work, 'synthetic')
    run([py, 'tools/generate.py', GENERATE, '--num', str(args.num), '--out', synth, '--resume',
         '--cfg-options', f'decoder.checkpoint={checkpoint}',
         f'decoder.cfg_options.model.backbone.timestep={t}',
         f'decoder.cfg_options.model.backbone.pretrained={args.model}', *FILTERS_OFF],
        osp.join(work, 'generate.log'))
    agree_json = osp.join(work, 'agreement.json')
    judge_cfg = osp.join(work, 'judge_on_synthetic.py')
    with open(judge_cfg, 'w') as f:
        f.write(JUDGE_ON_SYNTHETIC.format(judge=JUDGE, data_root=synth))
    run([py, 'tools/test.py', judge_cfg, args.judge, '--work-dir', osp.join(work, 'agreement'),
         '--out', agree_json], osp.join(work, 'agreement.log'))
    return dict(timestep=t, val_miou=miou(val_json), agreement_miou=miou(agree_json),
                seconds=round(time.time() - began, 1))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--timesteps', type=int, nargs='+', default=[1, 301, 501, 701])
    parser.add_argument(
        '--judge',
        required=True,
        help='checkpoint of projects/demo_world/configs/seg_real_100.py (real images only)')
    parser.add_argument('--world', default='data/demo_world')
    parser.add_argument('--model', default=SD_FOLDER)
    parser.add_argument('--iters', type=int, default=1000, help='P-Decoder iterations')
    parser.add_argument('--val-images', type=int, default=300,
                        help='first N train_large images score the decoder')
    parser.add_argument('--num', type=int, default=48, help='generated images per timestep')
    parser.add_argument('--jobs', type=int, default=1, help='timesteps swept side by side')
    parser.add_argument('--work-dir', default='work_dirs/capture_timestep')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if not osp.isfile(args.judge):
        raise FileNotFoundError(
            f'--judge {args.judge} not found: train '
            'projects/demo_world/configs/seg_real_100.py first '
            '(bash scripts/demo.sh writes work_dirs/demo/real_only/iter_3000.pth)')
    args.work_dir = osp.abspath(args.work_dir)
    os.makedirs(args.work_dir, exist_ok=True)
    with ThreadPoolExecutor(max(1, args.jobs)) as pool:
        rows = list(pool.map(lambda t: sweep_one(t, args), args.timesteps))
    lines = ['| timestep | decoder mIoU, real (train_large val) | agreement mIoU, generated |',
             '|---:|---:|---:|']
    lines += [f'| {r["timestep"]} | {r["val_miou"]:.2f} | {r["agreement_miou"]:.2f} |'
              for r in rows]
    print('\n'.join(lines))
    with open(osp.join(args.work_dir, 'capture_timestep.json'), 'w') as f:
        json.dump(dict(rows=rows, args=vars(args)), f, indent=1)


if __name__ == '__main__':
    main()
