"""Train any model of mmseg, mmdet or mmpose (P-Decoders and downstream models).

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp]
        [--cfg-options key=value ...] [--launcher none|pytorch|slurm]

``--resume`` without a checkpoint resumes the latest one in the work dir; a fine-tune (the
config's ``load_from``, e.g. ``--cfg-options load_from=CKPT``) starts from those weights
while the work dir has no checkpoint yet, so an interrupted fine-tune resumes too.

The config's ``default_scope`` selects the toolbox; importing mmdatasetdm
registers our modules (scope ``mmdatasetdm``).
"""
import argparse
import os
import os.path as osp

from mmengine.config import Config, DictAction
from mmengine.runner import Runner, find_latest_checkpoint

import mmdatasetdm  # noqa: F401  (compat shims, registries)
from mmdatasetdm.utils import adapt_runner_config, setup_distributed, teardown_distributed


def parse_args():
    parser = argparse.ArgumentParser(description='Train a model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument('--resume', nargs='?', type=str, const='auto',
                        help='resume from the given checkpoint, or the latest one in work-dir')
    parser.add_argument('--amp', action='store_true', help='automatic mixed precision')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config entries, key=value')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm'], default='none')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def build_config(args) -> Config:
    cfg = Config.fromfile(args.config)
    cfg.launcher = args.launcher
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    if args.work_dir:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('work_dirs', osp.splitext(osp.basename(args.config))[0])
    if args.amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    if args.resume == 'auto':
        if cfg.get('load_from') and find_latest_checkpoint(cfg.work_dir) is None:
            cfg.resume = False  # nothing of this run yet: a fine-tune starts from load_from
        else:
            cfg.resume, cfg.load_from = True, None
    elif args.resume is not None:
        cfg.resume, cfg.load_from = True, args.resume
    return cfg


def main():
    args = parse_args()
    cfg = build_config(args)
    _, world_size = setup_distributed(args.launcher)
    adapt_runner_config(cfg, world_size)
    runner = Runner.from_cfg(cfg)
    runner.train()
    del runner  # its DDP model must not outlive the process group (teardown_distributed)
    teardown_distributed()


if __name__ == '__main__':
    main()
