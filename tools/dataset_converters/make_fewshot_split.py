"""Write a class-balanced few-shot subset of a dataset's annotations.

mmseg-style (split file of image ids + label PNGs) -> a split file for ``ann_file=``:

    python tools/dataset_converters/make_fewshot_split.py seg \\
        --ann-dir data/VOCdevkit/VOC2012/SegmentationClass \\
        --split-file data/VOCdevkit/VOC2012/ImageSets/Segmentation/train.txt \\
        --num 100 --seed 0 --out data/VOCdevkit/VOC2012/ImageSets/Segmentation/train_100_seed0.txt

COCO instances / keypoints JSON -> a filtered COCO JSON:

    python tools/dataset_converters/make_fewshot_split.py coco \\
        --ann-file data/coco/annotations/instances_train2017.json \\
        --num 800 --seed 0 --out data/coco/annotations/instances_train2017_800_seed0.json

The algorithm (rarest classes first, then a seeded random fill) is described
in :mod:`mmdatasetdm.datasets.fewshot`.
"""
import argparse
import sys

from mmdatasetdm.datasets.fewshot import make_coco_subset, make_seg_split


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest='format', required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument('--num', type=int, required=True, help='images to choose')
    common.add_argument('--seed', type=int, default=0)
    common.add_argument('--min-per-class', type=int, default=1,
                        help='every class in at least min(k, available) chosen images')
    common.add_argument('--out', required=True, help='the file to write')
    seg = sub.add_parser('seg', parents=[common], help='mmseg split file + label PNGs')
    seg.add_argument('--ann-dir', required=True, help='folder of label PNGs')
    seg.add_argument('--split-file', default=None,
                     help='choose among these ids (default: every label file)')
    seg.add_argument('--seg-map-suffix', default='.png')
    seg.add_argument('--ignore-index', type=int, default=255)
    seg.add_argument('--ignore-classes', type=int, nargs='*', default=[],
                     help='class ids not balanced on (e.g. 0 for background)')
    coco = sub.add_parser('coco', parents=[common], help='COCO instances or keypoints JSON')
    coco.add_argument('--ann-file', required=True)
    coco.add_argument('--include-empty', action='store_true',
                      help='images without annotations may fill the subset')
    coco.add_argument('--count-crowd', action='store_true',
                      help='crowd annotations make a category present')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        if args.format == 'seg':
            subset = make_seg_split(args.ann_dir, args.out, args.num, args.seed,
                                    args.min_per_class, args.split_file, args.seg_map_suffix,
                                    args.ignore_index, args.ignore_classes)
        else:
            subset = make_coco_subset(args.ann_file, args.out, args.num, args.seed,
                                      args.min_per_class, args.include_empty,
                                      not args.count_crowd)
    except (OSError, ValueError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    print(f'wrote {len(subset.ids)} images to {subset.out_file} (seed {subset.seed}; '
          f'{subset.cover_size} chosen to cover the classes, the rest at random)')
    print('class: chosen / available images')
    for c, n in subset.available.items():
        print(f'  {c}: {subset.chosen[c]} / {n}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
