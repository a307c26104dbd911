"""Generate the procedural demo world (images, masks, COCO JSON, depth, captions).

Example::

    python projects/demo_world/tools/make_demo_world.py --out data/demo_world --seed 0
    python projects/demo_world/tools/make_demo_world.py --out /tmp/w --seed 0 --pool 200 \\
        --size 64 \\
        --splits pool train_100 test --num test=50 --workers 2

The output is byte-identical for the same arguments (any ``--workers``).
See ``projects/demo_world/demo_world/layout.py`` for the folder layout.
"""
import argparse
import time

from projects.demo_world.demo_world import default_splits, generate_world


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--out', required=True, help='output root folder')
    parser.add_argument('--seed', type=int, default=0, help='world seed')
    parser.add_argument('--size', type=int, nargs='+', default=[64],
                        help='image side, or HEIGHT WIDTH (default 64)')
    parser.add_argument('--splits', nargs='+', default=None, choices=list(default_splits()),
                        help='splits to write (default: all)')
    parser.add_argument('--pool', type=int, default=5000, help='images in the unlabelled pool')
    parser.add_argument('--num', action='append', default=[], metavar='SPLIT=N',
                        help='image count of another split, e.g. --num train_large=5000')
    parser.add_argument('--workers', type=int, default=1, help='worker processes')
    parser.add_argument('--no-progress', action='store_true', help='hide progress bars')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if len(args.size) not in (1, 2):
        raise SystemExit('--size takes one value (side) or two (height width)')
    size = (args.size[0], args.size[0]) if len(args.size) == 1 else tuple(args.size)
    counts = dict(pool=args.pool)
    for item in args.num:
        name, sep, value = item.partition('=')
        if not sep or not value.isdigit() or name not in default_splits():
            raise SystemExit(
                f'--num expects SPLIT=N with SPLIT in {list(default_splits())}, got {item!r}')
        counts[name] = int(value)
    start = time.time()
    meta = generate_world(args.out, seed=args.seed, splits=args.splits, size=size,
                          workers=args.workers, progress=not args.no_progress, **counts)
    total = sum(s['num_images'] for s in meta['splits'].values())
    print(f'demo world written to {args.out} ({total} images in meta.json, '
          f'{time.time() - start:.1f} s)')


if __name__ == '__main__':
    main()
