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

NYU Depth v2 in mmseg's layout (NYUDataset lists a folder) -> images/<out-split>/ and
annotations/<out-split>/ holding the chosen frames as relative symlinks (or copies), balanced
over the scene types of the file names (``living_room_0004_00012.jpg`` -> ``living_room``):

    python tools/dataset_converters/make_fewshot_split.py nyu --data-root data/nyu \
        --num 50 --seed 0 --src-split train --out-split train_50

The algorithm (rarest classes first, then a seeded random fill) is described
in :mod:`mmdatasetdm.datasets.fewshot`.
"""
import argparse
import os.path as osp
import sys

from mmdatasetdm.datasets.fewshot import make_coco_subset, make_nyu_split, make_seg_split


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest='format', required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument('--num', type=int, required=True, help='images to choose')
    common.add_argument('--seed', type=int, default=0)
    to_file = argparse.ArgumentParser(add_help=False)
    to_file.add_argument('--min-per-class', type=int, default=1,
                         help='every class in at least min(k, available) chosen images')
    to_file.add_argument('--out', required=True, help='the file to write')
    seg = sub.add_parser('seg', parents=[common, to_file], help='mmseg split file + label PNGs')
    seg.add_argument('--ann-dir', required=True, help='folder of label PNGs')
    seg.add_argument('--split-file', default=None,
                     help='choose among these ids (default: every label file)')
    seg.add_argument('--seg-map-suffix', default='.png')
    seg.add_argument('--ignore-index', type=int, default=255)
    seg.add_argument('--ignore-classes', type=int, nargs='*', default=[],
                     help='class ids not balanced on (e.g. 0 for background)')
    coco = sub.add_parser('coco', parents=[common, to_file],
                          help='COCO instances or keypoints JSON')
    coco.add_argument('--ann-file', required=True)
    coco.add_argument('--include-empty', action='store_true',
                      help='images without annotations may fill the subset')
    coco.add_argument('--count-crowd', action='store_true',
                      help='crowd annotations make a category present')
    nyu = sub.add_parser('nyu', parents=[common],
                         help="NYU depth in mmseg's layout (images/, annotations/ folders)")
    nyu.add_argument('--data-root', required=True, help='holds images/ and annotations/')
    nyu.add_argument('--src-split', default='train', help='split folder to choose from')
    nyu.add_argument('--out-split', default=None, help='split folder to write (train_<num>)')
    nyu.add_argument('--copy', action='store_true', help='copy the files instead of linking')
    nyu.add_argument('--min-per-scene', type=int, default=None,
                     help='every scene type in at least min(k, available) chosen frames '
                     '(default: num // scene types)')
    nyu.add_argument('--img-suffix', default='.jpg')
    nyu.add_argument('--depth-map-suffix', default='.png')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        if args.format == 'seg':
            subset = make_seg_split(args.ann_dir, args.out, args.num, args.seed,
                                    args.min_per_class, args.split_file, args.seg_map_suffix,
                                    args.ignore_index, args.ignore_classes)
        elif args.format == 'nyu':
            subset = make_nyu_split(args.data_root, args.num, args.seed, args.src_split,
                                    args.out_split, args.copy, args.min_per_scene,
                                    args.img_suffix, args.depth_map_suffix)
        else:
            subset = make_coco_subset(args.ann_file, args.out, args.num, args.seed,
                                      args.min_per_class, args.include_empty,
                                      not args.count_crowd)
    except (OSError, ValueError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    what = 'scene types' if args.format == 'nyu' else 'classes'
    where = subset.out_file
    if args.format == 'nyu':
        where += f' and their depth maps to annotations/{osp.basename(subset.out_file)}'
    print(f'wrote {len(subset.ids)} images to {where} (seed {subset.seed}; '
          f'{subset.cover_size} chosen to cover the {what}, the rest at random)')
    print(f'{"scene type" if args.format == "nyu" else "class"}: chosen / available images')
    for c, n in subset.available.items():
        print(f'  {c}: {subset.chosen[c]} / {n}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
