"""Write a demo world in the real data sets' layouts (VOC 2012, COCO 2017, NYU in mmseg's).

Example::

    python projects/demo_world/tools/write_real_layouts.py --world data/demo_world \\
        --out data/demo_real --size 128 --formats voc coco nyu

    # data/demo_real/VOCdevkit/VOC2012, data/demo_real/coco, data/demo_real/nyu
    # and data/demo_real/demo_world_layouts.json (which demo image went where)

Demo split ``train_100`` (plus ``--train-splits`` ...) becomes VOC ``train``, COCO
``train2017`` and NYU ``train``; ``test`` becomes VOC ``val``, COCO ``val2017`` and
NYU ``test``. See ``projects/demo_world/demo_world/real_layouts.py`` for the names,
the scaling and the class mapping.
"""
import argparse
import sys
import time

from projects.demo_world.demo_world.real_layouts import (DEFAULT_TRAIN_SPLITS, DEFAULT_VAL_SPLITS,
                                                         FORMATS, MANIFEST_FILE, write_real_layouts)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--world', required=True, help='demo-world root (has meta.json)')
    parser.add_argument('--out', required=True, help='output data root')
    parser.add_argument('--size', type=int, nargs='+', default=[128],
                        help='output side, or HEIGHT WIDTH (default 128)')
    parser.add_argument('--formats', nargs='+', default=list(FORMATS), choices=list(FORMATS),
                        help='layouts to write (default: all)')
    parser.add_argument('--train-splits', nargs='+', default=list(DEFAULT_TRAIN_SPLITS),
                        help='demo splits written as the training sets (default: train_100; '
                        'add test_shifted to train on both domains)')
    parser.add_argument('--val-splits', nargs='+', default=list(DEFAULT_VAL_SPLITS),
                        help='demo splits written as val2017 / val / test (default: test)')
    parser.add_argument('--overwrite', action='store_true',
                        help='replace format folders that already exist under --out')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if len(args.size) not in (1, 2):
        print('error: --size takes one value (side) or two (height width)', file=sys.stderr)
        return 1
    size = (args.size[0], args.size[0]) if len(args.size) == 1 else tuple(args.size)
    start = time.time()
    try:
        manifest = write_real_layouts(args.world, args.out, size, args.formats,
                                      args.train_splits, args.val_splits, args.overwrite)
    except (OSError, ValueError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    for fmt, written in manifest['formats'].items():
        counts = ', '.join(f'{target} {len(entries)}'
                           for target, entries in written['splits'].items())
        print(f'{fmt}: {written["root"]} ({counts} images)')
    print(f'manifest: {args.out}/{MANIFEST_FILE} ({time.time() - start:.1f} s)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
