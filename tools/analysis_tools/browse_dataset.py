"""Browse the dataset of any mmseg, mmdet or mmpose config as PNG grids of overlays.

    python tools/analysis_tools/browse_dataset.py CONFIG [--split train|val|test] [--output-dir DIR]
        [--num N] [--cols C] [--max-rows R] [--no-pipeline] [--no-labels] [--scale S]
        [--cfg-options key=value ...] [--not-show]

The samples go through the split's pipeline (what the model sees; --no-pipeline
keeps only loading and packing), and each toolbox's own visualizer draws them:
semantic masks and depth maps (mmseg), instances (mmdet), keypoints (mmpose).
The task is read from the data samples. Library code: mmdatasetdm.visualization.
When the dataset reads generated sets (tools/generate.py), their dataset cards
are summarised first: counts, rejections by reason, classes.
"""
import argparse
import os
import os.path as osp
import sys

from mmengine.config import Config, DictAction

from mmdatasetdm.visualization import browse_dataset
from mmdatasetdm.visualization.browse import SPLITS, BrowseError, dataset_config


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Browse a config\'s dataset as PNG grids')
    parser.add_argument('config', help='config file path')
    parser.add_argument('--split', default='train', choices=SPLITS,
                        help='which dataloader\'s dataset to browse')
    parser.add_argument('--output-dir', help='folder of the PNG grids '
                        '(default: work_dirs/browse_dataset/<config name>)')
    parser.add_argument('--num', type=int, default=16, help='number of samples')
    parser.add_argument('--cols', type=int, default=4, help='columns per grid')
    parser.add_argument('--max-rows', type=int, help='rows per grid (default: all in one grid)')
    parser.add_argument('--no-pipeline', action='store_true',
                        help='load and pack only: samples as stored, no augmentation')
    parser.add_argument('--no-labels', action='store_true', help='no class names on semantic masks')
    parser.add_argument('--scale', type=int, default=1, help='integer up-scaling of the grids')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config entries, key=value')
    parser.add_argument(
        '--not-show', action='store_true', help='only write the grids, do not display them')
    parser.add_argument('--show-interval', type=float, default=0,
                        help='seconds each grid is displayed (0: until a key is pressed)')
    return parser.parse_args(argv)


def can_show() -> bool:
    """Whether a window can open here (a display on Linux, always on macOS/Windows)."""
    return sys.platform in ('darwin', 'win32') or bool(os.environ.get('DISPLAY')
                                                       or os.environ.get('WAYLAND_DISPLAY'))


def print_cards(cfg, split: str) -> list:
    """Print the card summary of every generated set the split's dataset reads.

    Args:
        cfg (mmengine.Config): the config.
        split (str): ``'train'``, ``'val'`` or ``'test'``.

    Returns:
        list[str]: the generated sets' folders.
    """
    from mmdatasetdm.generation.card import card_summary, generated_roots, read_card
    roots = generated_roots(dataset_config(cfg, split))
    for root in roots:
        print(card_summary(read_card(root), root))
    return roots


def main(argv=None):
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    out_dir = args.output_dir or osp.join('work_dirs', 'browse_dataset',
                                          osp.splitext(osp.basename(args.config))[0])
    try:
        print_cards(cfg, args.split)
        result = browse_dataset(cfg, out_dir, split=args.split, num=args.num, cols=args.cols,
                                max_rows=args.max_rows, raw=args.no_pipeline,
                                with_labels=not args.no_labels, scale=args.scale)
    except BrowseError as err:
        raise SystemExit(f'browse_dataset.py: {err}')
    print(f'\n{result.num_samples} {args.split} samples ({result.task}) drawn into:')
    for path in result.files:
        print(f'  {path}')
    if not args.not_show:
        if not can_show():
            print('no display: grids written only (pass --not-show to skip this check)')
        else:
            import mmcv
            for path in result.files:
                mmcv.imshow(
                    path, win_name=osp.basename(path), wait_time=int(args.show_interval * 1000))
    return result


if __name__ == '__main__':
    main()
