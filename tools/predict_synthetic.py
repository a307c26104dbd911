"""Write a trained segmentor's predictions on a generated set (for the agreement filter).

    python tools/predict_synthetic.py SET_DIR CONFIG CHECKPOINT --out DIR \
        [--device cuda] [--batch-size 16] [--cfg-options key=value ...]

SET_DIR is a semantic set written by tools/generate.py; CONFIG and CHECKPOINT an
MMSegmentation model trained on the real labels (e.g. the real-only arm). DIR (outside
the set) gets predictions.json and semantic/<index>.png for every accepted sample; a rerun
resumes, and a DIR holding another set's or model's predictions is refused. Mix the set
with SyntheticSegDataset(..., agreement_root=DIR) to ignore the generated labels the model
contradicts (with agreement_keeps_prompted=True, those of the prompted classes are kept).
"""
import argparse

from mmengine.config import Config, DictAction

import mmdatasetdm  # noqa: F401  (compat shims, registries)
from mmdatasetdm.datasets.seg_predictions import write_seg_predictions


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('data_root', help='the generated semantic set')
    parser.add_argument('config', help='the segmentor\'s config')
    parser.add_argument('checkpoint', help='the segmentor\'s checkpoint')
    parser.add_argument('--out', required=True, help='the predictions folder (outside the set)')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--batch-size', type=int, default=16)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config entries, key=value')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    config = Config.fromfile(args.config)
    if args.cfg_options:
        config.merge_from_dict(args.cfg_options)
    written = write_seg_predictions(args.data_root, config, args.checkpoint, args.out,
                                    device=args.device, batch_size=args.batch_size)
    print(f'{written} predictions written to {args.out}')


if __name__ == '__main__':
    main()
