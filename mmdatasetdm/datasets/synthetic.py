"""Read a generated dataset (``tools/generate.py`` output) through its manifest.

The generator writes ``dataset.json`` (class names of its label ids, COCO
categories, depth scale, run info) and ``manifest.jsonl`` (one line per
sample: files, prompt, seed, scores, accepted/rejected), read with
:mod:`mmdatasetdm.fileio.synthetic_format`. This module maps the
generator's class names onto a real dataset's classes *by name* — a class the
real dataset does not have is an error unless it is mapped (``class_map``) or
dropped (``drop_classes``) explicitly — and selects samples by acceptance,
score, class and count.
"""
import copy
import os.path as osp
from typing import Dict, List, Mapping, Optional, Sequence

from mmdatasetdm.fileio import IGNORE_INDEX, MANIFEST, image_id_of, read_manifest


class SampleLoadError(RuntimeError):
    """A sample's files could not be loaded by the pipeline (the message names them)."""


class NamedLoadErrorsMixin:
    """Make an error raised while loading a sample name the sample's files.

    The toolboxes' loading transforms report a corrupt file without its path
    (``cannot identify image file <_io.BytesIO ...>``); the synthetic dataset
    types add this mixin so that such an error says which sample and which
    files, and how to regenerate them.
    """

    FILE_KEYS = ('img_path', 'seg_map_path', 'depth_map_path')

    def prepare_data(self, idx):
        try:
            return super().prepare_data(idx)
        except Exception as err:
            info = self.get_data_info(idx)
            files = [str(info[k]) for k in self.FILE_KEYS if info.get(k)]
            raise SampleLoadError(
                f'sample {info.get("sample_idx", idx)} of {self.data_root} cannot be loaded '
                f'({", ".join(files)}): {type(err).__name__}: {err}; regenerate it (delete its '
                'part file in shards/ and run tools/generate.py --resume) or drop its manifest '
                'line') from err


def class_id_map(generator_classes: Sequence[str], real_classes: Sequence[str],
                 class_map: Optional[Mapping[str, str]] = None,
                 drop_classes: Sequence[str] = (), source: str = 'the generated dataset',
                 kind: str = 'classes') -> Dict[int, int]:
    """Generator label id -> real label id, matched by class name.

    Args:
        generator_classes (Sequence[str]): class names of the generator's ids.
        real_classes (Sequence[str]): the real dataset's classes (metainfo).
        class_map (Mapping[str, str], optional): generator name -> real name
            for names that differ.
        drop_classes (Sequence[str]): generator classes whose pixels become
            ignore (255) / whose instances are dropped.
        source (str): named in errors.
        kind (str): what the names are, in errors (``'classes'``,
            ``'categories'``).

    Returns:
        dict[int, int]: the id mapping (dropped ids map to 255).
    """
    class_map = dict(class_map or {})
    real_index = {name: i for i, name in enumerate(real_classes)}
    mapping, unknown = {}, []
    for gen_id, name in enumerate(generator_classes):
        if name in drop_classes:
            mapping[gen_id] = IGNORE_INDEX
            continue
        target = class_map.get(name, name)
        if target not in real_index:
            unknown.append(name)
            continue
        mapping[gen_id] = real_index[target]
    if unknown:
        raise ValueError(f'{source} has {kind} {unknown} that the real dataset lacks (its classes: '
                         f'{list(real_classes)}); map them with class_map={{name: real_name}} or '
                         'drop them with drop_classes=[...]')
    bad_map = sorted(set(class_map) - set(generator_classes))
    if bad_map:
        raise ValueError(f'class_map names {bad_map}, which {source} does not have '
                         f'(its classes: {list(generator_classes)})')
    return mapping


def select_lines(lines: List[dict], classes: Optional[Sequence[str]] = None,
                 min_score: Optional[float] = None,
                 score_key: str = 'mean_confidence', max_samples: Optional[int] = None
                 ) -> List[dict]:
    """Filter manifest lines by prompted class, a score and count (in index order)."""
    out = []
    for line in lines:
        if classes is not None and not set(line.get('classes', [])) & set(classes):
            continue
        if min_score is not None:
            score = line.get('scores', {}).get(score_key)
            if score is None or score < min_score:
                continue
        out.append(line)
        if max_samples is not None and len(out) >= max_samples:
            break
    return out


def resolve_metainfo(metainfo: Optional[dict], metainfo_from: Optional[str], registry,
                     owner: str) -> dict:
    """The real dataset's metainfo, given as a dict or by its registered type.

    A synthetic set must carry the real set's metainfo exactly (mmengine's
    ``ConcatDataset`` compares them), so one of the two is required.

    Args:
        metainfo (dict, optional): the real dataset's metainfo.
        metainfo_from (str, optional): the registered type of the real
            dataset (e.g. ``'CocoDataset'``, ``'mmdatasetdm.DemoWorldDetDataset'``)
            whose class attribute ``METAINFO`` to take.
        registry (Registry): the toolbox registry to look ``metainfo_from`` up in.
        owner (str): the dataset class named in errors.

    Returns:
        dict: a deep copy of the metainfo.
    """
    if metainfo_from is not None:
        if metainfo is not None:
            raise ValueError(f'give {owner} either metainfo or metainfo_from, not both')
        real_type = registry.get(metainfo_from)
        if real_type is None:
            raise KeyError(f'{owner}: metainfo_from={metainfo_from!r} is not a registered '
                           f'{registry.scope} dataset type')
        metainfo = getattr(real_type, 'METAINFO', None)
    if not metainfo:
        raise ValueError(f'{owner} needs the real dataset\'s metainfo: metainfo=dict(...) or '
                         'metainfo_from=\'<the real dataset type>\'')
    return copy.deepcopy(dict(metainfo))


def select_samples(data_root: str, classes_filter: Optional[Sequence[str]] = None,
                   min_score: Optional[float] = None, score_key: str = 'mean_confidence',
                   max_samples: Optional[int] = None, verify: bool = False,
                   filters: str = 'classes_filter/max_samples') -> List[dict]:
    """The accepted manifest lines of ``data_root`` that pass the filters.

    Args:
        data_root (str): the generated dataset.
        classes_filter (Sequence[str], optional): keep samples whose prompt
            names one of these generator classes.
        min_score (float, optional): keep samples whose ``scores[score_key]``
            reaches this.
        score_key (str): the manifest score ``min_score`` applies to.
        max_samples (int, optional): keep at most this many (in index order).
        verify (bool): decode-check every listed file.
        filters (str): the filter names quoted when nothing passes.

    Returns:
        list[dict]: the selected manifest lines (not empty).
    """
    lines = read_manifest(data_root, accepted_only=True, check_files=True, verify=verify)
    lines = select_lines(lines, classes_filter, min_score, score_key, max_samples)
    if not lines:
        raise ValueError(f'{osp.join(data_root, MANIFEST)}: no accepted sample passes the '
                         f'dataset\'s filters ({filters}); the manifest lists each rejection\'s '
                         'reason')
    return lines


def coco_image_of(line: dict, images: Mapping[int, dict], ann_file: str) -> dict:
    """The COCO ``images`` entry of a manifest line, checked against it.

    The generator gives sample ``index`` the COCO image id ``index + 1``
    and the image's base name as ``file_name``.

    Args:
        line (dict): a manifest line (``index``, ``files['image']``).
        images (Mapping[int, dict]): COCO image id -> image entry.
        ann_file (str): the COCO JSON (named in errors).

    Returns:
        dict: the image entry.
    """
    index = line['index']
    entry = images.get(image_id_of(index))
    if entry is None:
        raise ValueError(
            f'{ann_file} has no image for sample {index} (id {image_id_of(index)}), '
            'which manifest.jsonl lists as accepted: the JSON is from another run or an '
            'unfinished merge; merge the shards again (tools/generate.py --resume)')
    expected = osp.basename(line['files'].get('image', ''))
    if entry.get('file_name') != expected:
        raise ValueError(f'{ann_file}: image id {entry["id"]} is {entry.get("file_name")!r} but '
                         f'manifest.jsonl says sample {index} is {expected!r}: the JSON is from '
                         'another run; merge the shards again (tools/generate.py --resume)')
    return entry
