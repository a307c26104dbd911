"""Label-consistent editing: edit a generated image by its prompt and decode its labels again.

An edit list is a JSON-lines file, one edit per line::

    {"source": "a photo of a red car on grass", "target": "a photo of a blue car on grass",
     "seed": 3, "kind": "attribute", "class": "car"}
    {"source": "a photo of a red ball on grass", "target": "a photo of a red cone on grass",
     "seed": 4, "kind": "swap", "from": "ball", "to": "cone"}

``kind`` says what the edit should keep: ``attribute`` edits change how an
object looks, so its mask (``class``) should stay (mask IoU between the source's
and the edited labels); ``swap`` edits change what an object is, so the source's
``from`` region should take the class ``to``. Both images are sampled from one
seed with Prompt-to-Prompt attention injection
(:func:`mmdatasetdm.diffusion.sample_edit`) and labelled by the P-Decoder of a
generation engine, as generated samples are.
"""
import os
import os.path as osp
from dataclasses import asdict, dataclass, field
from typing import Dict, List, Optional, Sequence

import numpy as np

from ..diffusion import InjectionWindow, sample_edit, word_token_positions
from ..fileio import IGNORE_INDEX, atomic_write_text, dumps_json, read_jsonl
from .annotations import ANNOTATORS

EDIT_KINDS = ('attribute', 'swap')
TILE = 160  # gallery tile height in pixels (prompts are legible under it)


@dataclass
class Edit:
    """One edit of a list (see the module docstring)."""
    source: str
    target: str
    seed: int
    kind: str
    cls: Optional[str] = None
    from_cls: Optional[str] = None
    to_cls: Optional[str] = None


def read_edits(path: str, classes: Optional[Sequence[str]] = None) -> List[Edit]:
    """Read and check an edit list.

    Args:
        path (str): the JSON-lines file.
        classes (Sequence[str], optional): the decoder's classes; the classes an
            edit names must be among them.

    Raises:
        ValueError: naming the file, the line and the field that is wrong.
    """
    edits = []
    for number, rec in read_jsonl(path):
        where = f'{path}:{number}'
        if not isinstance(rec, dict):
            raise ValueError(f'{where}: an edit is a JSON object, got {type(rec).__name__}')
        for key in ('source', 'target'):
            if not isinstance(rec.get(key), str) or not rec[key].strip():
                raise ValueError(f'{where}: "{key}" must be a non-empty prompt')
        seed = rec.get('seed')
        if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
            raise ValueError(f'{where}: "seed" must be a non-negative integer, got {seed!r}')
        kind = rec.get('kind')
        if kind not in EDIT_KINDS:
            raise ValueError(f'{where}: "kind" must be one of {list(EDIT_KINDS)}, got {kind!r}')
        needed = ('class', ) if kind == 'attribute' else ('from', 'to')
        for key in needed:
            if not isinstance(rec.get(key), str):
                raise ValueError(f'{where}: a {kind} edit needs "{key}" (a class name)')
            if classes is not None and rec[key] not in classes:
                raise ValueError(f'{where}: "{key}" is {rec[key]!r}, not a class of the decoder '
                                 f'({list(classes)})')
        edits.append(Edit(rec['source'], rec['target'], seed, kind, rec.get('class'),
                          rec.get('from'), rec.get('to')))
    if not edits:
        raise ValueError(f'{path} holds no edit')
    return edits


def mask_iou(a: np.ndarray, b: np.ndarray) -> Optional[float]:
    """IoU of two boolean masks (None when both are empty)."""
    union = np.logical_or(a, b).sum()
    return None if union == 0 else float(np.logical_and(a, b).sum() / union)


@dataclass
class EditResult:
    """What one edit produced and how well its labels follow it.

    ``iou``: attribute edits, the IoU of the edited class's masks (source vs
    edited); ``layout_iou``: every edit, the IoU of the object masks (any
    class but the background, ignored pixels left out), which tells a moved
    layout from a relabelled one; ``swap_fraction``: swap edits, the share of the source's ``from``
    pixels labelled ``to`` in the edited labels; ``source_area``: pixels of the
    measured class in the source labels (an empty one is not measured).
    """
    edit: Edit
    images: np.ndarray = field(repr=False)
    labels: np.ndarray = field(repr=False)
    iou: Optional[float] = None
    swap_fraction: Optional[float] = None
    source_area: int = 0
    layout_iou: Optional[float] = None

    def record(self) -> dict:
        """The edit in its list's field names, with the measurements."""
        out = asdict(self.edit)
        for ours, theirs in (('cls', 'class'), ('from_cls', 'from'), ('to_cls', 'to')):
            out[theirs] = out.pop(ours)
        out.update(iou=self.iou, swap_fraction=self.swap_fraction, source_area=self.source_area,
                   layout_iou=self.layout_iou)
        return out


class LabelledEditor:
    """Edit and label with the sampler and P-Decoder of a generation engine.

    Args:
        engine (GenerationEngine): a semantic-segmentation engine.
        window (InjectionWindow, optional): the attention injection window.
    """

    def __init__(self, engine, window: Optional[InjectionWindow] = None):
        if engine.task != 'semantic':
            raise ValueError(f'editing measures masks of a semantic P-Decoder; this engine\'s '
                             f'decoder does {engine.task}')
        self.engine = engine
        self.window = window or InjectionWindow()
        self.classes = list(engine.decoder.classes)

    def __call__(self, edit: Edit) -> EditResult:
        tokenizer = self.engine.decoder.backbone.components.tokenizer
        words = [c for c in self.classes if c != 'background']
        token_indices = [{w: p for w, p in word_token_positions(tokenizer, prompt, words).items()
                          if p} for prompt in (edit.source, edit.target)]
        batch = sample_edit(self.engine.sampler, edit.source, edit.target, edit.seed,
                            self.window, token_indices)
        predictions = self.engine.decoder(batch)
        labels = []
        for pred, indices in zip(predictions, token_indices):
            prompted = [self.classes.index(c) for c in indices]
            labels.append(ANNOTATORS['semantic'](pred, prompted, self.engine.filters).semantic)
        labels = np.stack(labels)
        result = EditResult(edit, batch.images, labels)
        objects = (labels != self.classes.index('background')) & (labels != IGNORE_INDEX) \
            if 'background' in self.classes else labels != IGNORE_INDEX
        result.layout_iou = mask_iou(objects[0], objects[1])
        if edit.kind == 'attribute':
            c = self.classes.index(edit.cls)
            result.source_area = int((labels[0] == c).sum())
            if result.source_area:
                result.iou = mask_iou(labels[0] == c, labels[1] == c)
        else:
            region = labels[0] == self.classes.index(edit.from_cls)
            result.source_area = int(region.sum())
            if result.source_area:
                result.swap_fraction = float(
                    (labels[1][region] == self.classes.index(edit.to_cls)).mean())
        return result


def summarize(results: Sequence[EditResult], iou_threshold: float = 0.9,
              swap_threshold: float = 0.5) -> Dict:
    """The measurement over an edit list.

    Returns:
        dict: the mean layout IoU of each kind (``<kind>_layout_iou``); per kind,
        how many edits there were and how many were measured
        (the class is in the source's labels), and for attribute edits the
        mean and median mask IoU and the share with IoU >= ``iou_threshold``;
        for swaps the mean share of the region relabelled and the share of
        swaps where more than ``swap_threshold`` of it took the new class.
    """
    out = {}
    for kind in EDIT_KINDS:
        layouts = [r.layout_iou for r in results
                   if r.edit.kind == kind and r.layout_iou is not None]
        out[f'{kind}_layout_iou'] = float(np.mean(layouts)) if layouts else None
    attribute = [r for r in results if r.edit.kind == 'attribute']
    ious = [r.iou for r in attribute if r.iou is not None]
    out['attribute'] = dict(
        edits=len(attribute), measured=len(ious),
        mean_iou=float(np.mean(ious)) if ious else None,
        median_iou=float(np.median(ious)) if ious else None,
        share_iou_at_least=dict(threshold=iou_threshold, share=float(
            np.mean([i >= iou_threshold for i in ious])) if ious else None))
    swaps = [r for r in results if r.edit.kind == 'swap']
    fractions = [r.swap_fraction for r in swaps if r.swap_fraction is not None]
    out['swap'] = dict(
        edits=len(swaps), measured=len(fractions),
        mean_relabelled=float(np.mean(fractions)) if fractions else None,
        share_relabelled=dict(threshold=swap_threshold, share=float(
            np.mean([f > swap_threshold for f in fractions])) if fractions else None))
    return out


def write_results(results: Sequence[EditResult], out_dir: str, palette: Sequence,
                  summary: Dict, gallery: int = 16) -> Dict[str, str]:
    """Write each edit's images and label maps, ``edits.jsonl``, ``summary.json`` and a
    gallery (source image, its labels, edited image, its labels; prompts under them).

    Returns:
        dict: paths of ``edits.jsonl``, ``summary.json`` and ``gallery.png``.
    """
    from ..fileio import atomic_write_bytes, encode_png, write_semantic
    from ..visualization.gallery import resize_tile, semantic_panel
    from ..visualization.grid import (caption_tile, legend_strip, save_png, stack_vertically,
                                      tile_images)
    samples = osp.join(out_dir, 'edits')
    os.makedirs(samples, exist_ok=True)
    lines, rows = [], []
    for k, r in enumerate(results):
        files = {}
        for name, image, labels in (('source', r.images[0], r.labels[0]),
                                    ('edited', r.images[1], r.labels[1])):
            files[name] = f'edits/{k:05d}_{name}.png'
            files[f'{name}_labels'] = f'edits/{k:05d}_{name}_labels.png'
            atomic_write_bytes(osp.join(out_dir, files[name]), encode_png(image))
            write_semantic(osp.join(out_dir, files[f'{name}_labels']), labels, palette)
        lines.append(dumps_json(dict(index=k, files=files, **r.record())) + '\n')
        if k < gallery:
            panels = ((r.images[0], r.edit.source),
                      (semantic_panel(r.labels[0], palette), 'labels'),
                      (r.images[1], r.edit.target),
                      (semantic_panel(r.labels[1], palette), _measure_text(r)))
            rows.extend(caption_tile(resize_tile(p, TILE), text, max_lines=3)
                        for p, text in panels)
    paths = dict(edits=osp.join(out_dir, 'edits.jsonl'),
                 summary=osp.join(out_dir, 'summary.json'))
    atomic_write_text(paths['edits'], ''.join(lines))
    atomic_write_text(paths['summary'], dumps_json(summary) + '\n')
    if rows:
        grid = tile_images(rows, cols=4)
        classes = summary.get('classes') or []
        legend = legend_strip([(c, palette[i]) for i, c in enumerate(classes)], grid.shape[1],
                              'classes:')
        paths['gallery'] = save_png(stack_vertically(grid, legend),
                                    osp.join(out_dir, 'gallery.png'))
    return paths


def _measure_text(r: EditResult) -> str:
    if r.iou is not None:
        return f'{r.edit.cls} IoU {r.iou:.2f}'
    if r.swap_fraction is not None:
        return f'{r.edit.from_cls}->{r.edit.to_cls} {100 * r.swap_fraction:.0f}%'
    return 'not measured'
