"""Sharded, resumable writing of a generated dataset, and the merge into one.

Each rank owns one *shard folder* (the layout is
:mod:`mmdatasetdm.fileio.synthetic_format`'s)::

    shard.json                  what the shard is (categories, formats, run info)
    images/00000007.png         the image of sample 7 (name = global index)
    semantic/00000007.png       semantic ids (if any)
    depth/00000007.png          16-bit depth (if any)
    parts/00000007.json         sample 7's manifest line + COCO entries, written LAST

Every file is written atomically (temp name + ``os.replace``), and a sample's
part file is written after all of its other files, so a sample is complete
exactly when its part exists: :func:`completed_indices` is the resume list, a
crash leaves no half-written file under a final name, and an interrupted
sample is simply written again.

:func:`merge_shards` builds the dataset folder: the files plus one
``manifest.jsonl`` (sorted by index), ``instances.json`` and/or
``keypoints.json``. Ids derive from the global index (see
:mod:`.coco`) and everything is sorted by index, so the merged bytes do not
depend on how many shards made them.
"""
import json
import os
import os.path as osp
from collections import Counter
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
from PIL import Image

from mmdatasetdm.fileio import (DEFAULT_DEPTH_SCALE, atomic_copy, atomic_write_json, dumps_json,
                                normalise_image_ext, remove_stale_temps, write_confidence,
                                write_depth, write_image, write_semantic)
from mmdatasetdm.fileio.synthetic_format import (CARD_GALLERY, CARD_KEY, CARD_README, DATASET_META,
                                                 FORMAT_VERSION, INSTANCES_JSON, KEYPOINTS_JSON,
                                                 PARTS_DIR, RUN_INFO_KEYS, SHARD_META,
                                                 completed_indices, part_file, read_json,
                                                 sample_file, write_manifest)
from .coco import (KeypointMeta, check_categories, coco_document, image_id_of, instance_annotations,
                   keypoint_annotations)

_ABSENT = '(absent)'


def _changed(old, new, prefix: str = '') -> List[Tuple[str, Any, Any]]:
    """``(dotted field, old, new)`` of every differing field; dicts on both sides are
    compared field by field, anything else (a list, a dict against None) as one value."""
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        out = []
        for key in sorted(set(old) | set(new), key=str):
            out += _changed(old.get(key, _ABSENT), new.get(key, _ABSENT),
                            f'{prefix}.{key}' if prefix else str(key))
        return out
    return [] if old == new else [(prefix or '(value)', old, new)]


def _short(value, width: int = 60) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else repr(value)
    return text if len(text) <= width else text[:width - 3] + '...'


def describe_differences(old, new, limit: int = 12) -> List[str]:
    """What differs between two run descriptions, one line per changed field.

    Args:
        old, new: JSON-like values (e.g. a shard's metadata and this run's).
        limit (int): lines at most (a last line counts the rest).

    Returns:
        list[str]: ``'field: old -> new'`` lines, nested fields dotted
        (``config.diffusion_model``), long values shortened.
    """
    changed = _changed(old, new)
    lines = [f'{k}: {_short(a)} -> {_short(b)}' for k, a, b in changed[:limit]]
    if len(changed) > limit:
        lines.append(f'... and {len(changed) - limit} more fields')
    return lines


def _jsonable(value):
    """numpy scalars/arrays -> Python types, for run info and extra fields."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    return value


class ShardWriter:
    """Writes the samples of one shard (one rank), atomically and resumably.

    Opening a folder that holds a shard of another configuration (different
    ``shard.json``) is an error, so two runs never mix in one folder. Temp
    files of a killed writer are removed on opening; the folder must not be
    shared by two live writers.

    Args:
        shard_dir (str): this shard's folder (created if needed).
        categories (Sequence[Mapping], optional): COCO categories of the real
            dataset, in the order of the instance labels; enables instances.
        keypoint_meta (KeypointMeta | Mapping, optional): keypoint names,
            skeleton and category (a :class:`KeypointMeta`, its ``to_dict()``
            or any metainfo :meth:`KeypointMeta.from_metainfo` reads); enables
            keypoints.
        image_ext (str): ``'png'`` or ``'jpg'``.
        jpeg_quality (int): JPEG quality.
        palette (None | str | Sequence): semantic PNG palette (``'voc'``).
        num_classes (int, optional): semantic ids must be below it (or 255).
        depth_scale (float): depth PNG value per metre (1000 = millimetres).
        run_info (Mapping, optional): fields repeated on every manifest line:
            ``timestep``, ``scheduler``, ``steps``, ``guidance``, ``decoder``
            (checkpoint hash) and any others.
        config (Mapping, optional): identity of the run (e.g. a config hash);
            reopening with a different one is refused.
        keep_rejected (bool): also write the files of rejected samples (their
            manifest line is always written).
        classes (Sequence[str], optional): the class names of the label ids
            (the decoder's classes); datasets map them onto a real dataset's
            classes by name.
        fsync (bool): flush each file to disk before its rename.
        confidence (bool): write each semantic mask's per-pixel confidence
            (``confidence/{index:08d}.png``, 8-bit, listed in the manifest
            line's ``files``), so that training can ignore or weight
            uncertain pixels at any threshold without generating again.
    """

    def __init__(self,
                 shard_dir: str,
                 categories: Optional[Sequence[Mapping[str, Any]]] = None,
                 keypoint_meta: Union[None, KeypointMeta, Mapping[str, Any]] = None,
                 image_ext: str = 'png',
                 jpeg_quality: int = 95,
                 palette: Union[None, str, Sequence] = None,
                 num_classes: Optional[int] = None,
                 depth_scale: float = DEFAULT_DEPTH_SCALE,
                 run_info: Optional[Mapping[str, Any]] = None,
                 config: Optional[Mapping[str, Any]] = None,
                 keep_rejected: bool = False,
                 fsync: bool = False,
                 classes: Optional[Sequence[str]] = None,
                 confidence: bool = False):
        self.dir = str(shard_dir)
        self.categories = None if categories is None else check_categories(categories)
        if keypoint_meta is not None and not isinstance(keypoint_meta, KeypointMeta):
            meta = dict(keypoint_meta)
            keypoint_meta = KeypointMeta(
                **meta) if 'names' in meta else KeypointMeta.from_metainfo(meta)
        self.keypoint_meta: Optional[KeypointMeta] = keypoint_meta
        self.image_ext = normalise_image_ext(image_ext)
        self.jpeg_quality = int(jpeg_quality)
        self.palette = _jsonable(palette)
        self.num_classes = num_classes
        if not float(depth_scale) > 0:
            raise ValueError(f'depth_scale must be > 0, got {depth_scale}')
        self.depth_scale = float(depth_scale)
        run_info = _jsonable(dict(run_info or {}))
        self.run_info = {k: run_info.pop(k, None) for k in RUN_INFO_KEYS}
        self.run_info.update(run_info)
        self.keep_rejected = bool(keep_rejected)
        self.fsync = bool(fsync)
        self.meta = dict(
            format=FORMAT_VERSION,
            categories=self.categories,
            keypoint_meta=None if keypoint_meta is None else keypoint_meta.to_dict(),
            image_ext=self.image_ext,
            jpeg_quality=self.jpeg_quality,
            palette=self.palette,
            num_classes=num_classes,
            depth_scale=self.depth_scale,
            run_info=self.run_info,
            config=_jsonable(config),
            keep_rejected=self.keep_rejected,
            classes=None if classes is None else [str(c) for c in classes])
        self.confidence = bool(confidence)
        if self.confidence:  # absent when off, so shards written before it still resume
            self.meta['confidence'] = True
        self._open()

    def _open(self):
        os.makedirs(osp.join(self.dir, PARTS_DIR), exist_ok=True)
        path = osp.join(self.dir, SHARD_META)
        if osp.isfile(path):
            existing = read_json(path)
            # a round trip through JSON makes tuples lists etc., as in the file
            mine = json.loads(dumps_json(self.meta))
            if existing != mine:
                raise ValueError(
                    f'{path} holds a shard of another run; what differs (there -> here):\n  '
                    + '\n  '.join(describe_differences(existing, mine))
                    + '\nuse a fresh output folder (or tools/generate.py --overwrite)')
        else:
            atomic_write_json(path, self.meta, self.fsync)
        remove_stale_temps(self.dir)

    def completed(self) -> List[int]:
        """Indices completely written in this shard (see :func:`completed_indices`)."""
        return completed_indices(self.dir)

    def is_complete(self, index: int) -> bool:
        """Whether sample ``index``'s manifest line is written in this shard."""
        return osp.isfile(part_file(self.dir, index))

    def write_sample(self,
                     index: int,
                     prompt,
                     seed: Optional[int] = None,
                     image=None,
                     semantic=None,
                     depth=None,
                     instances=None,
                     keypoints=None,
                     confidence=None,
                     accepted: bool = True,
                     reason: Optional[str] = None,
                     scores: Optional[Mapping[str, Any]] = None,
                     extra: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
        """Write one sample's files, then its manifest line (last).

        Args:
            index (int): the global sample index.
            prompt (str | PromptRecord): the prompt (a record also gives seed
                and classes).
            seed (int, optional): the sample's seed (required with a str).
            image (np.ndarray | PIL.Image.Image, optional): uint8 RGB (H, W, 3);
                required for accepted samples.
            semantic (np.ndarray, optional): class ids (H, W), 255 = ignore.
            depth (np.ndarray, optional): metres (H, W).
            instances (Mapping | object, optional): ``masks``, ``labels``,
                ``scores`` (see :func:`.coco.instance_annotations`).
            keypoints (Mapping | object, optional): ``keypoints``, ``scores``,
                ... (see :func:`.coco.keypoint_annotations`).
            confidence (np.ndarray, optional): the semantic labels' per-pixel
                confidence in [0, 1], (H, W); written when the writer has
                ``confidence=True`` (required then with ``semantic``).
            accepted (bool): whether the sample passed the filters.
            reason (str, optional): why it was rejected (required if not
                accepted).
            scores (Mapping, optional): other scores to record (e.g. the
                semantic mask's mean confidence).
            extra (Mapping, optional): other manifest fields.

        Returns:
            dict: the manifest line.
        """
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or index < 0:
            raise ValueError(f'index must be a non-negative integer, got {index!r}')
        index = int(index)
        text, classes, seed = _prompt_fields(prompt, seed, index)
        if not accepted and not reason:
            raise ValueError(f'sample {index}: a rejected sample needs a reason')
        if accepted and image is None:
            raise ValueError(f'sample {index}: an accepted sample needs its image')
        if instances is not None and self.categories is None:
            raise ValueError(f'sample {index}: instances given but the writer has no categories')
        if keypoints is not None and self.keypoint_meta is None:
            raise ValueError(f'sample {index}: keypoints given but the writer has no keypoint_meta')
        size = None
        if isinstance(image, Image.Image):
            size = (image.height, image.width)
        elif image is not None:
            size = tuple(np.shape(image)[:2])
        if self.confidence and semantic is not None and confidence is None:
            raise ValueError(f'sample {index}: the writer writes confidence maps '
                             '(confidence=True) but none was given with the semantic mask')
        if not self.confidence or semantic is None:
            confidence = None
        for name, array in (('semantic', semantic), ('depth', depth), ('confidence', confidence)):
            if array is not None and size is not None and tuple(np.shape(array)) != size:
                raise ValueError(
                    f'sample {index}: {name} has shape {tuple(np.shape(array))} but the image is '
                    f'{size}')
        # annotations first: a bad annotation fails before any file is written
        inst = [] if instances is None else instance_annotations(index, instances, self.categories,
                                                                 size)
        kpts = [] if keypoints is None else keypoint_annotations(index, keypoints,
                                                                 self.keypoint_meta, size)

        files = {}
        if accepted or self.keep_rejected:
            if image is not None:
                files['image'] = sample_file('images', index, self.image_ext)
                write_image(
                    osp.join(self.dir, files['image']), image, self.image_ext, self.jpeg_quality,
                    self.fsync)
            if semantic is not None:
                files['semantic'] = sample_file('semantic', index, 'png')
                write_semantic(
                    osp.join(self.dir, files['semantic']), semantic, self.palette, self.num_classes,
                    self.fsync)
            if depth is not None:
                files['depth'] = sample_file('depth', index, 'png')
                write_depth(osp.join(self.dir, files['depth']), depth, self.depth_scale, self.fsync)
            if confidence is not None:
                files['confidence'] = sample_file('confidence', index, 'png')
                write_confidence(osp.join(self.dir, files['confidence']), confidence, self.fsync)

        line = dict(index=index, prompt=text, classes=classes, seed=seed, **self.run_info)
        if depth is not None:
            line['depth_scale'] = self.depth_scale
        all_scores = {}
        if instances is not None:
            all_scores['instances'] = [a['score'] for a in inst]
        if keypoints is not None:
            all_scores['keypoints'] = [a['score'] for a in kpts]
        all_scores.update(_jsonable(dict(scores or {})))
        line.update(files=files, scores=all_scores, accepted=bool(accepted), reason=reason)
        for key, value in _jsonable(dict(extra or {})).items():
            if key in line:
                raise ValueError(
                    f'sample {index}: extra field {key!r} would overwrite a manifest field')
            line[key] = value
        image_entry = None
        if 'image' in files:
            image_entry = dict(
                id=image_id_of(index),
                file_name=osp.basename(files['image']),
                width=int(size[1]),
                height=int(size[0]))
        part = dict(manifest=line, image=image_entry, instances=inst, keypoints=kpts)
        atomic_write_json(part_file(self.dir, index), part, self.fsync)
        return line


def _prompt_fields(prompt, seed, index):
    if isinstance(prompt, str):
        if seed is None:
            raise ValueError(f'sample {index}: give the seed with a str prompt')
        return prompt, [], int(seed)
    text, classes, record_seed = getattr(prompt, 'text', None), getattr(prompt, 'classes', None), \
        getattr(prompt, 'seed', None)
    if text is None:
        raise TypeError(
            f'sample {index}: prompt must be a str or a PromptRecord, got {type(prompt).__name__}')
    if getattr(prompt, 'index', index) != index:
        raise ValueError(f'sample {index}: the prompt record is for sample {prompt.index}')
    if seed is not None and record_seed is not None and int(seed) != int(record_seed):
        raise ValueError(
            f'sample {index}: seed {seed} differs from the prompt record\'s seed {record_seed}')
    seed = record_seed if seed is None else seed
    if seed is None:
        raise ValueError(f'sample {index}: no seed given')
    return str(text), list(classes or []), int(seed)


def read_shard_meta(shard_dirs: Sequence[str]) -> Dict[str, Any]:
    """The ``shard.json`` that shard folders share (one run's), checked equal.

    Args:
        shard_dirs (Sequence[str]): shard folders.

    Returns:
        dict: the shards' metadata (what ``dataset.json`` of the merged set holds).

    Raises:
        FileNotFoundError: a folder without ``shard.json``.
        ValueError: shards of different runs, with what differs.
    """
    meta = None
    for folder in shard_dirs:
        path = osp.join(folder, SHARD_META)
        if not osp.isfile(path):
            raise FileNotFoundError(f'{folder} is not a shard folder: {SHARD_META} is missing')
        this = read_json(path)
        if meta is None:
            meta, first = this, path
        elif this != meta:
            raise ValueError(f'{path} and {first} are shards of different runs; what differs:\n  '
                             + '\n  '.join(describe_differences(meta, this)))
    return meta


def coco_documents(meta: Mapping[str, Any], images: List[dict], instances: List[dict],
                   keypoints: List[dict]) -> Dict[str, Optional[dict]]:
    """The COCO files of a set (``instances.json``, ``keypoints.json``; None where the run
    has no categories or keypoint metadata) from its accepted samples' part entries."""
    docs = {INSTANCES_JSON: None, KEYPOINTS_JSON: None}
    if meta.get('categories') is not None:
        docs[INSTANCES_JSON] = coco_document(images, instances, meta['categories'])
    if meta.get('keypoint_meta') is not None:
        category = KeypointMeta(**meta['keypoint_meta']).coco_category()
        docs[KEYPOINTS_JSON] = coco_document(images, keypoints, [category])
    return docs


def merge_shards(shard_dirs: Iterable[str], out_dir: str, fsync: bool = False,
                 card: Optional[bool] = None) -> Dict[str, Any]:
    """Merge shard folders into one dataset folder.

    The shards must come from one run (equal ``shard.json``). The same index
    in two shards is accepted only when both parts are identical (a sample
    regenerated after a resume with another world size). Files are hard-linked
    (or copied) into ``out_dir``; ``out_dir`` may be one of the shards.

    Writes ``dataset.json`` (the run's shard metadata: classes, categories,
    depth scale, run info), ``manifest.jsonl`` (every sample, sorted by index, last),
    ``instances.json`` (if the run has categories) and ``keypoints.json`` (if
    it has keypoint metadata), holding the accepted samples. The dataset card
    is written last, from the final ``dataset.json`` and ``manifest.jsonl``
    (:func:`mmdatasetdm.generation.card.write_dataset_card`), when asked for
    or when ``out_dir`` holds one already (so that it never describes an
    older merge).

    Args:
        shard_dirs (Iterable[str]): shard folders.
        out_dir (str): the dataset folder.
        fsync (bool): flush files to disk before their renames.
        card (bool, optional): write the dataset card (``README.md``,
            ``gallery.png`` and ``card`` in ``dataset.json``): True always,
            False never (a card from before is removed: it would describe
            another merge), None (default) when ``out_dir`` holds a card
            already.

    Returns:
        dict: ``num_samples``, ``num_accepted``, ``rejected`` (reason ->
        count), ``num_instances``, ``num_keypoints``.
    """
    shard_dirs = [str(d) for d in shard_dirs]
    if not shard_dirs:
        raise ValueError('merge_shards needs at least one shard folder')
    if card is None:
        old_meta = osp.join(out_dir, DATASET_META)
        card = osp.isfile(osp.join(out_dir, CARD_README)) and osp.isfile(old_meta) \
            and CARD_KEY in read_json(old_meta)
    meta = read_shard_meta(shard_dirs)
    sources: Dict[int, str] = {}
    for folder in shard_dirs:
        for index in completed_indices(folder):
            part = part_file(folder, index)
            if index in sources:
                with open(sources[index], 'rb') as a, open(part, 'rb') as b:
                    if a.read() != b.read():
                        raise ValueError(f'sample {index} is in two shards with different content: '
                                         f'{sources[index]} and {part}')
                continue
            sources[index] = part

    manifest, images, instances, keypoints = [], [], [], []
    rejected = Counter()
    for index in sorted(sources):
        folder = osp.dirname(osp.dirname(sources[index]))
        part = read_json(sources[index])
        line = part['manifest']
        for rel in line['files'].values():
            src = osp.join(folder, rel)
            if not osp.isfile(src):
                raise FileNotFoundError(
                    f'{sources[index]} lists {rel}, which is missing from {folder}')
            atomic_copy(src, osp.join(out_dir, rel), fsync)
        manifest.append(line)
        if line['accepted']:
            if part['image'] is not None:
                images.append(part['image'])
            instances.extend(part['instances'])
            keypoints.extend(part['keypoints'])
        else:
            rejected[line['reason']] += 1
    for name, doc in coco_documents(meta, images, instances, keypoints).items():
        if doc is not None:
            atomic_write_json(osp.join(out_dir, name), doc, fsync)
    atomic_write_json(osp.join(out_dir, DATASET_META), meta, fsync)
    write_manifest(out_dir, manifest, fsync)
    if card:
        # imported here: the card draws its gallery with the toolboxes' visualizers
        from ..card import write_dataset_card
        write_dataset_card(out_dir, fsync=fsync)
    else:
        for name in (CARD_README, CARD_GALLERY):
            if osp.isfile(osp.join(out_dir, name)):
                os.remove(osp.join(out_dir, name))
    return dict(num_samples=len(manifest), num_accepted=len(manifest) - sum(rejected.values()),
                rejected=dict(sorted(rejected.items())), num_instances=len(instances),
                num_keypoints=len(keypoints))
