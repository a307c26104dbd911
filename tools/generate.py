"""Generate a labelled synthetic dataset with a trained P-Decoder.

    python tools/generate.py CONFIG [--num N] [--out DIR] [--resume | --overwrite] \
        [--no-merge] [--no-card] [--launcher none|pytorch|slurm] [--cfg-options key=value ...]

Each rank writes its own shard; rank 0 merges them into one dataset (one
manifest.jsonl, one COCO JSON) when all ranks are done, and writes its dataset
card (README.md, gallery.png, and the facts in dataset.json under ``card``;
see mmdatasetdm.generation.card). The command line that starts a run is
recorded for the card, outside the run's identity. An output folder that
holds anything but this run's own files is refused; ``--overwrite`` empties it
first.

With ``--stream`` the samples are generated for a training job that reads them
while they are written (mmdatasetdm.StreamingSyntheticDataset, started by
mmdatasetdm.OnlineGenerationHook or by hand with the same config)::

    python tools/generate.py CONFIG --stream --out DIR --window W [--num N] [--device cuda:1]

It writes one shard in index order, never more than W accepted samples ahead
of the position the training job writes to DIR/consumer.json, stops after N
accepted samples (or when the training job finishes), and resumes its own
folder (one of another run is refused); nothing is merged
(mmdatasetdm.generation.stream).
"""
import argparse
import json
import os.path as osp
import sys

from mmengine.config import Config, DictAction

from mmdatasetdm.fileio.synthetic_format import CARD_README
from mmdatasetdm.generation.engine import GenerationEngine
from mmdatasetdm.generation.stream import DEFAULT_IDLE_TIMEOUT, DEFAULT_WINDOW
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
    parser.add_argument('--no-card', action='store_true',
                        help='merge without writing the dataset card (README.md, gallery.png)')
    parser.add_argument('--device', help='cpu, cuda, cuda:1 ... (overrides device)')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm'], default='none')
    parser.add_argument('--stream', action='store_true',
                        help='online generation for a training job reading --out; --num '
                        'counts accepted samples')
    parser.add_argument('--window', type=int, default=DEFAULT_WINDOW,
                        help='--stream: accepted samples the generator may run ahead of the '
                        'training job')
    parser.add_argument('--idle-timeout', type=float, default=DEFAULT_IDLE_TIMEOUT,
                        help='--stream: stop after this many seconds without a new consumer '
                        'position')
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
    if args.stream:
        return stream(args, cfg, out_dir, num)
    rank, world_size = setup_distributed(args.launcher)
    engine = GenerationEngine.from_config(cfg, num, args.device)
    if args.overwrite and rank == 0:
        removed = engine.empty_output(out_dir)
        if removed:
            print(f'--overwrite: emptied {osp.abspath(out_dir)} ({len(removed)} entries)',
                  flush=True)
    if args.overwrite and world_size > 1:
        import torch.distributed as dist
        dist.barrier()  # no rank writes before the folder is empty
    stats = engine.run(out_dir, rank=rank, world_size=world_size, resume=args.resume,
                       command=sys.argv)
    print(f'[rank {rank}/{world_size}] {json.dumps(stats)}', flush=True)
    if world_size > 1:
        import torch.distributed as dist
        dist.barrier()
    if rank == 0 and not args.no_merge:
        summary = engine.merge(out_dir, card=not args.no_card)
        print(f'merged into {osp.abspath(out_dir)}: {json.dumps(summary, default=str)}', flush=True)
        if not args.no_card:
            print(f'dataset card: {osp.join(osp.abspath(out_dir), CARD_README)}', flush=True)
    if world_size > 1:
        import torch.distributed as dist
        dist.destroy_process_group()


def stream(args, cfg, out_dir, num):
    """``--stream``: generate for a training job (one process, index order, bounded lead)."""
    from mmdatasetdm.generation.stream import generate_stream
    if args.launcher != 'none':
        raise SystemExit('--stream runs as one process (--launcher none): the window is '
                         'kept in index order')
    if args.resume:
        print('--stream always resumes its own stream folder; --resume is implied', flush=True)
    stats = generate_stream(cfg, out_dir, args.window, num, device=args.device,
                            idle_timeout=args.idle_timeout or None, overwrite=args.overwrite,
                            log=lambda line: print(line, flush=True), command=sys.argv)
    print(f'stream {osp.abspath(out_dir)}: {json.dumps(stats)}', flush=True)


if __name__ == '__main__':
    main()
