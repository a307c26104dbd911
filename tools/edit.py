"""Edit generated images by their prompts and decode their labels again (Prompt-to-Prompt).

    python tools/edit.py GENERATION_CONFIG EDITS.jsonl --out DIR [--overwrite] \
        [--cross-steps 0.8] [--self-steps 0.4] [--device cuda] [--cfg-options key=value ...]

The generation config gives the diffusion model, the sampler and the semantic
P-Decoder (as for tools/generate.py); EDITS.jsonl lists the edits (source prompt,
edited prompt, seed, and what the edit should keep: see
mmdatasetdm.generation.editing). For each edit the source and the edited image
are sampled from one seed with attention injection and both are labelled. DIR
gets edits/ (images and label PNGs of both), edits.jsonl (per edit: files and
measurements), summary.json (mask IoU of attribute edits, how often a swapped
region takes its new class) and gallery.png (source, labels, edit, labels).
"""
import argparse
import os
import os.path as osp
import shutil
import sys

from mmengine.config import Config, DictAction
from mmengine.utils import ProgressBar

from mmdatasetdm.diffusion import InjectionWindow
from mmdatasetdm.generation.editing import LabelledEditor, read_edits, summarize, write_results
from mmdatasetdm.generation.engine import GenerationEngine

OUTPUTS = ('edits', 'edits.jsonl', 'summary.json', 'gallery.png')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='generation config (decoder, sampling, prompts)')
    parser.add_argument('edits', help='JSON-lines edit list')
    parser.add_argument('--out', required=True, help='output folder')
    parser.add_argument('--overwrite', action='store_true',
                        help='replace the outputs of an earlier edit run in --out')
    parser.add_argument('--cross-steps', type=float, default=0.8,
                        help='fraction of the steps with cross-attention injection')
    parser.add_argument('--self-steps', type=float, default=0.4,
                        help='fraction of the steps with self-attention injection')
    parser.add_argument('--gallery', type=int, default=16, help='edits shown in gallery.png')
    parser.add_argument('--device', help='cpu, cuda, cuda:1 ... (overrides device)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys (key=value)')
    return parser.parse_args(argv)


def check_output(out_dir: str, overwrite: bool) -> None:
    """Refuse a folder holding anything but an earlier edit run (that only with --overwrite)."""
    if not osp.isdir(out_dir):
        if osp.exists(out_dir):
            raise SystemExit(f'--out {out_dir} is a file')
        return
    entries = sorted(os.listdir(out_dir))
    foreign = [e for e in entries if e not in OUTPUTS]
    if foreign:
        raise SystemExit(f'--out {out_dir} holds {foreign[:5]}, which tools/edit.py did not '
                         'write: choose another folder')
    if entries and not overwrite:
        raise SystemExit(f'--out {out_dir} holds an earlier edit run ({", ".join(entries)}); '
                         'pass --overwrite to replace it, or choose another folder')
    for e in entries:
        path = osp.join(out_dir, e)
        shutil.rmtree(path) if osp.isdir(path) else os.remove(path)


def main(argv=None):
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    try:
        window = InjectionWindow(args.cross_steps, args.self_steps)
    except ValueError as err:
        raise SystemExit(f'error: {err}')
    engine = GenerationEngine.from_config(cfg, 1, args.device)
    try:
        editor = LabelledEditor(engine, window)
        edits = read_edits(args.edits, editor.classes)
    except ValueError as err:
        raise SystemExit(f'error: {err}')
    check_output(args.out, args.overwrite)
    results = []
    bar = ProgressBar(len(edits))
    for edit in edits:
        results.append(editor(edit))
        bar.update()
    summary = summarize(results)
    summary.update(classes=editor.classes, window=vars(window), num_edits=len(edits),
                   config=args.config, edits_file=args.edits, command=sys.argv)
    palette = engine.decoder.dataset_meta.get('palette') or engine.writer_cfg.get('palette')
    if not isinstance(palette, (list, tuple)):
        from mmdatasetdm.visualization.overlay import default_palette
        palette = default_palette(len(editor.classes))
    paths = write_results(results, args.out, [list(c) for c in palette], summary, args.gallery)
    a, s = summary['attribute'], summary['swap']
    print(f'\nattribute edits: {a["measured"]} of {a["edits"]} measured; mask IoU mean '
          f'{_num(a["mean_iou"])}, median {_num(a["median_iou"])}, '
          f'>= {a["share_iou_at_least"]["threshold"]}: {_pct(a["share_iou_at_least"]["share"])}; '
          f'object-layout IoU {_num(summary["attribute_layout_iou"])}')
    print(f'swap edits: {s["measured"]} of {s["edits"]} measured; region relabelled '
          f'{_pct(s["mean_relabelled"])} on average, more than half in '
          f'{_pct(s["share_relabelled"]["share"])} of the swaps; object-layout IoU '
          f'{_num(summary["swap_layout_iou"])}')
    print('\n'.join(f'{k}: {v}' for k, v in paths.items()))


def _num(x):
    return '-' if x is None else f'{x:.3f}'


def _pct(x):
    return '-' if x is None else f'{100 * x:.0f}%'


if __name__ == '__main__':
    main()
