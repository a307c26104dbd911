"""Print each class's pixel share in a config's segmentation dataset and loss weights from it.

    python tools/analysis_tools/class_weights.py CONFIG [--split train|val|test] [--power 0.5]
        [--cfg-options key=value ...]

The weights are median-frequency balancing, ``(median(f) / f_c) ** power``
(power 0.5 = square-rooted, what projects/demo_world/configs/_base_/seg_downstream.py uses);
the last line is a ``class_weight=[...]`` to paste into a loss config.
Library code: mmdatasetdm.datasets.class_balance.
"""
import argparse
import sys

from mmengine.config import Config, DictAction

SPLITS = ('train', 'val', 'test')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Class pixel shares and median-frequency '
                                     'loss weights of a segmentation config\'s dataset')
    parser.add_argument('config', help='config file path')
    parser.add_argument('--split', default='train', choices=SPLITS,
                        help='which dataloader\'s dataset to count')
    parser.add_argument('--power', type=float, default=0.5,
                        help='exponent of median(f)/f_c (1: plain, 0.5: square root)')
    parser.add_argument('--decimals', type=int, default=1, help='rounding of the printed weights')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config entries, key=value')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    key = f'{args.split}_dataloader'
    if key not in cfg:
        sys.exit(f'{args.config}: no {key} in the config')

    from mmengine.registry import init_default_scope

    from mmdatasetdm.datasets.class_balance import median_frequency_weights, pixel_class_frequencies
    from mmdatasetdm.registry import DATASETS
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    dataset = DATASETS.build(cfg[key].dataset)
    names = list(dataset.metainfo['classes'])
    try:
        freq = pixel_class_frequencies(dataset, len(names), progress=sys.stdout.isatty())
        weights = median_frequency_weights(freq, args.power, names)
    except ValueError as e:
        sys.exit(f'{args.config} ({key}): {e}')
    print(f'{len(dataset)} images of {key}')
    print(f'{"class":>12s} {"pixels %":>9s} {"weight":>7s}')
    for name, f, w in zip(names, freq, weights):
        print(f'{name:>12s} {100 * f:9.2f} {w:7.2f}')
    print('class_weight=[' + ', '.join(f'{w:.{args.decimals}f}' for w in weights) + ']')


if __name__ == '__main__':
    main()
