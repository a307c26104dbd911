"""Generate a labelled synthetic dataset with a trained P-Decoder.

    python tools/generate.py CONFIG [--num N] [--out DIR] [--resume | --overwrite] \
        [--launcher none|pytorch|slurm] [--cfg-options key=value ...]

Each rank writes its own shard; rank 0 merges them into one dataset (one
manifest.jsonl, one COCO JSON) when all ranks are done. An output folder that
holds anything but this run's own files is refused; ``--overwrite`` empties it
first.
"""
import argparse
import json
import os.path as osp

from mmengine.config import Config, DictAction

from mmdatasetdm.generation.engine import GenerationEngine
from mmdatasetdm.utils import setup_distributed


def parse_args():
    parser = argparse.ArgumentParser(description='Generate a synthetic dataset (DatasetDM)')
    parser.add_argument('config', help='generation config file')
    parser.add_argument('--num', type=int, help='number of samples (overrides num_samples)')
    parser.add_argument('--out', help='output folder (overrides out_dir)')
    parser.add_argument('--resume', action='store_true', help='skip finished samples')
    parser.add_argument('--overwrite', action='store_true',
                        help='empty the output folder first (whatever it holds is deleted)')
    parser.add_argument('--no-merge', action='store_true', help='leave the shards unmerged')
    parser.add_argument('--device', help='cpu, cuda, cuda:1 ... (overrides device)')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm'], default='none')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config entries, key=value')
    return parser.parse_args()


def main():
    args = parse_args()
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    out_dir = args.out or cfg.get('out_dir')
    if not out_dir:
        raise SystemExit(f'{args.config}: set out_dir in the config or pass --out')
    num = cfg.get('num_samples') if args.num is None else args.num
    if not isinstance(num, int) or num <= 0:
        raise SystemExit(f'--num (or num_samples in {args.config}) must be a positive number of '
                         f'samples, got {num!r}')
    if args.resume and args.overwrite:
        raise SystemExit('--resume keeps the finished samples and --overwrite deletes them: '
                         'pass one of the two')
    rank, world_size = setup_distributed(args.launcher)
    engine = GenerationEngine(
        decoder=cfg.decoder, prompts=cfg.prompts, num_samples=num,
        sampling=cfg.get('sampling'), filters=cfg.get('filters'), writer=cfg.get('writer'),
        batch_size=cfg.get('batch_size', 4), task=cfg.get('task'),
        device=args.device or cfg.get('device', 'cpu'))
    if args.overwrite and rank == 0:
        removed = engine.empty_output(out_dir)
        if removed:
            print(f'--overwrite: emptied {osp.abspath(out_dir)} ({len(removed)} entries)',
                  flush=True)
    if args.overwrite and world_size > 1:
        import torch.distributed as dist
        dist.barrier()  # no rank writes before the folder is empty
    stats = engine.run(out_dir, rank=rank, world_size=world_size, resume=args.resume)
    print(f'[rank {rank}/{world_size}] {json.dumps(stats)}', flush=True)
    if world_size > 1:
        import torch.distributed as dist
        dist.barrier()
    if rank == 0 and not args.no_merge:
        summary = engine.merge(out_dir)
        print(f'merged into {osp.abspath(out_dir)}: {json.dumps(summary, default=str)}', flush=True)
    if world_size > 1:
        import torch.distributed as dist
        dist.destroy_process_group()


if __name__ == '__main__':
    main()
