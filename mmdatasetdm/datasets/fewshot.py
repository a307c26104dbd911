"""Few-shot subsets as files: class-balanced, seeded choices of N labelled images.

DatasetDM trains its P-Decoder on ~100 real images (VOC 100, COCO 400/800,
Cityscapes 9, ...). This module picks such a subset from a dataset's own
annotations and writes it in the form the toolbox configs already read:

* mmseg-style datasets (an image-id split file + label PNGs): a split file,
  one id per line, for ``ann_file=`` (:func:`make_seg_split`);
* COCO JSON (instances or keypoints): a filtered COCO JSON with the same
  top-level fields and categories, only the chosen images and all of their
  annotations, unchanged (:func:`make_coco_subset`);
* NYU Depth v2 in mmseg's layout (``NYUDataset`` lists a folder and has no
  split file): ``images/<out_split>/`` and ``annotations/<out_split>/`` with
  the chosen image/depth pairs as relative symlinks or copies, balanced over
  the scene types of the file names (:func:`make_nyu_split`).

**Algorithm** (:func:`select_balanced`). A class "appears" in an image when
its label map has at least one pixel of it (semantic) or the image has at
least one annotation of it (COCO); counts are numbers of images.

1. ``available[c]`` = images containing class ``c``; ``target[c]`` =
   ``min(min_per_class, available[c])``.
2. Cover, rarest first: while some class has fewer than ``target[c]`` chosen
   images, take the short class with the fewest available images (ties: the
   smaller class id) and add one unchosen image containing it: the one
   containing the most still-short classes (so small budgets such as
   Cityscapes-9 can cover every class), ties broken by the seeded priority.
   If this cover needs more than N images, a ``ValueError`` says so.
3. Fill the remaining budget with the unchosen images of lowest seeded
   priority, i.e. a uniformly random sample.

The seeded priority of an image is the SHA-256 of ``(seed, image id)``: the
choice is a pure function of the annotations and the seed (no dependence on
the Python or NumPy random streams, file-system listing order, or the order
of the input), and different seeds give different subsets. The output lists
the chosen images in the dataset's own order.
"""
import filecmp
import hashlib
import json
import os
import os.path as osp
import shutil
from collections import Counter
from dataclasses import dataclass, field
from typing import Dict, Hashable, Iterable, List, Mapping, Optional, Sequence, Set, Tuple

import numpy as np

from mmdatasetdm.fileio import IGNORE_INDEX, atomic_write_json, atomic_write_text


@dataclass
class FewShotSubset:
    """The result of a selection.

    Args:
        ids (list): chosen image ids (split-file ids or COCO image ids), in
            the dataset's order.
        seed (int): the seed used.
        min_per_class (int): the ``k`` of the cover.
        available (dict): class -> number of images of the full set that
            contain it.
        chosen (dict): class -> number of chosen images that contain it.
        cover_size (int): images taken by the class cover (step 2); the rest
            are the random fill.
        out_file (str, optional): the written file.
    """

    ids: List[Hashable]
    seed: int
    min_per_class: int
    available: Dict[int, int] = field(default_factory=dict)
    chosen: Dict[int, int] = field(default_factory=dict)
    cover_size: int = 0
    out_file: Optional[str] = None


def seeded_priority(seed: int, image_id: Hashable) -> int:
    """A pseudo-random 64-bit priority of an image under a seed (stable across
    platforms and Python versions)."""
    digest = hashlib.sha256(f'{int(seed)}\0{image_id}'.encode()).digest()
    return int.from_bytes(digest[:8], 'big')


def select_balanced(image_classes: Mapping[Hashable, Iterable[int]], num: int, seed: int = 0,
                    min_per_class: int = 1, source: str = 'the dataset') -> FewShotSubset:
    """Choose ``num`` images so that every class appears in at least
    ``min(min_per_class, available)`` of them (see the module docstring).

    Args:
        image_classes (Mapping): image id -> the classes it contains; its
            iteration order is the dataset's order (kept in the output).
        num (int): how many images to choose.
        seed (int): selection seed.
        min_per_class (int): ``k``, wanted images per class.
        source (str): what the annotations came from (named in errors).

    Returns:
        FewShotSubset: without ``out_file``.

    Raises:
        ValueError: if ``num`` is not positive or exceeds the images, or the
            class cover needs more than ``num`` images.
    """
    if num <= 0:
        raise ValueError(f'the number of images must be positive, got {num}')
    if min_per_class < 0:
        raise ValueError(f'min_per_class must be >= 0, got {min_per_class}')
    order = list(image_classes)
    if num > len(order):
        raise ValueError(f'cannot choose {num} images from {source}: it has only {len(order)} '
                         'eligible images')
    classes = {i: set(image_classes[i]) for i in order}
    priority = {i: seeded_priority(seed, i) for i in order}
    available = Counter(c for i in order for c in classes[i])
    target = {c: min(min_per_class, n) for c, n in available.items()}
    have: Counter = Counter()
    chosen: Set[Hashable] = set()
    by_class: Dict[int, List[Hashable]] = {c: [] for c in available}
    for i in order:
        for c in classes[i]:
            by_class[c].append(i)

    def short() -> List[int]:
        return [c for c in target if have[c] < target[c]]

    while True:
        missing = short()
        if not missing:
            break
        if len(chosen) >= num:
            raise ValueError(
                f'{num} images of {source} cannot hold every class min({min_per_class}, available)'
                f' times: the rarest-first cover used them all and classes {sorted(missing)} are '
                'still short; choose more images or lower min_per_class')
        rarest = min(missing, key=lambda c: (available[c], c))
        still = set(missing)
        best = min((i for i in by_class[rarest] if i not in chosen),
                   key=lambda i: (-len(classes[i] & still), priority[i]))
        chosen.add(best)
        have.update(classes[best])
    cover_size = len(chosen)
    rest = sorted((i for i in order if i not in chosen), key=lambda i: priority[i])
    chosen.update(rest[:num - cover_size])
    ids = [i for i in order if i in chosen]
    counts = Counter(c for i in ids for c in classes[i])
    return FewShotSubset(ids=ids, seed=seed, min_per_class=min_per_class,
                         available=dict(sorted(available.items())),
                         chosen={c: counts[c] for c in sorted(available)},
                         cover_size=cover_size)


# ----------------------------------------------------------------- mmseg
def read_split_file(split_file: str) -> List[str]:
    """Image ids of an mmseg split file (one per line, blank lines skipped)."""
    if not osp.isfile(split_file):
        raise FileNotFoundError(f'split file {split_file} does not exist')
    with open(split_file, encoding='utf-8') as f:
        ids = [line.strip() for line in f if line.strip()]
    if len(set(ids)) != len(ids):
        dup = next(i for i, n in Counter(ids).items() if n > 1)
        raise ValueError(f'split file {split_file} lists image id {dup!r} more than once')
    return ids


def seg_image_classes(ann_dir: str, ids: Optional[Sequence[str]] = None,
                      seg_map_suffix: str = '.png', ignore_index: int = IGNORE_INDEX,
                      ignore_classes: Sequence[int] = ()) -> Dict[str, Set[int]]:
    """The classes present in each label map.

    Args:
        ann_dir (str): folder of label maps (class-id PNGs; palette PNGs are
            read as their indices).
        ids (Sequence[str], optional): image ids (paths relative to
            ``ann_dir`` without suffix, as in a split file); default every
            label file under ``ann_dir``, sorted.
        seg_map_suffix (str): label file suffix.
        ignore_index (int): the "no label" id, never counted as a class.
        ignore_classes (Sequence[int]): class ids not to balance on (e.g. a
            background present everywhere); images keep their other classes.

    Returns:
        dict: id -> set of class ids, in the order of ``ids``.
    """
    from PIL import Image
    if not osp.isdir(ann_dir):
        raise FileNotFoundError(f'label folder {ann_dir} does not exist')
    if ids is None:
        ids = sorted(
            osp.relpath(osp.join(root, name), ann_dir)[:-len(seg_map_suffix)].replace(os.sep, '/')
            for root, _, files in os.walk(ann_dir) for name in files
            if name.endswith(seg_map_suffix))
        if not ids:
            raise ValueError(f'no label maps ending in {seg_map_suffix!r} under {ann_dir}')
    skip = {int(ignore_index), *map(int, ignore_classes)}
    result = {}
    for image_id in ids:
        path = osp.join(ann_dir, image_id + seg_map_suffix)
        if not osp.isfile(path):
            raise FileNotFoundError(f'label map {path} of image {image_id!r} does not exist')
        try:
            with Image.open(path) as img:
                label = np.asarray(img)
        except Exception as err:
            raise ValueError(f'cannot read label map {path}: {type(err).__name__}: {err}') from err
        if label.ndim != 2:
            raise ValueError(f'label map {path} has shape {label.shape}; expected a '
                             'single-channel map of class ids')
        result[image_id] = {int(c) for c in np.unique(label)} - skip
    return result


def make_seg_split(ann_dir: str, out_file: str, num: int, seed: int = 0,
                   min_per_class: int = 1, split_file: Optional[str] = None,
                   seg_map_suffix: str = '.png', ignore_index: int = IGNORE_INDEX,
                   ignore_classes: Sequence[int] = ()) -> FewShotSubset:
    """Write a class-balanced split file of ``num`` images of an mmseg dataset.

    Args:
        ann_dir (str): the label folder (``data_root/seg_map_path``).
        out_file (str): the split file to write (one id per line); point the
            config's ``ann_file=`` at it.
        num (int): images to choose.
        seed (int): selection seed.
        min_per_class (int): images wanted per class.
        split_file (str, optional): choose among this split's ids (e.g. VOC's
            ``ImageSets/Segmentation/train.txt``); default every label file.
        seg_map_suffix, ignore_index, ignore_classes: see
            :func:`seg_image_classes`.

    Returns:
        FewShotSubset: the selection, with ``out_file``.
    """
    ids = read_split_file(split_file) if split_file else None
    source = f'split file {split_file}' if split_file else f'label folder {ann_dir}'
    classes = seg_image_classes(ann_dir, ids, seg_map_suffix, ignore_index, ignore_classes)
    subset = select_balanced(classes, num, seed, min_per_class, source=source)
    atomic_write_text(out_file, ''.join(f'{i}\n' for i in subset.ids))
    subset.out_file = out_file
    return subset


# ------------------------------------------------------------------ COCO
def load_coco_json(ann_file: str) -> dict:
    """Read and check a COCO JSON (instances or keypoints).

    Checks that ``images``, ``annotations`` and ``categories`` are lists of
    objects with ``id`` fields, ids are unique, and every annotation names an
    existing image and category.

    Raises:
        FileNotFoundError / ValueError: naming ``ann_file`` and the problem.
    """
    if not osp.isfile(ann_file):
        raise FileNotFoundError(f'COCO annotation file {ann_file} does not exist')
    try:
        with open(ann_file, encoding='utf-8') as f:
            coco = json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f'COCO annotation file {ann_file} is not valid JSON: {err}') from err
    if not isinstance(coco, dict):
        raise ValueError(f'COCO annotation file {ann_file} must hold a JSON object')
    ids = {}
    for key in ('images', 'annotations', 'categories'):
        items = coco.get(key)
        if not isinstance(items, list):
            raise ValueError(f'COCO annotation file {ann_file} has no {key!r} list')
        for n, item in enumerate(items):
            if not isinstance(item, dict) or 'id' not in item:
                raise ValueError(f'COCO annotation file {ann_file}: {key}[{n}] has no "id"')
        seen = Counter(item['id'] for item in items)
        dup = [i for i, c in seen.items() if c > 1]
        if dup:
            raise ValueError(f'COCO annotation file {ann_file}: duplicate {key} id {dup[0]!r}')
        ids[key] = seen
    for n, ann in enumerate(coco['annotations']):
        for ref, key in (('image_id', 'images'), ('category_id', 'categories')):
            if ann.get(ref) not in ids[key]:
                raise ValueError(f'COCO annotation file {ann_file}: annotation {ann["id"]!r} '
                                 f'(annotations[{n}]) has {ref} {ann.get(ref)!r}, which is not '
                                 f'in {key!r}')
    return coco


def coco_image_classes(coco: dict, include_empty: bool = False,
                       ignore_crowd: bool = True) -> Dict[int, Set[int]]:
    """Image id -> category ids of its annotations, in the file's image order.

    Args:
        coco (dict): a checked COCO dict (:func:`load_coco_json`).
        include_empty (bool): keep images with no (counted) annotation as
            candidates of the random fill.
        ignore_crowd (bool): ``iscrowd=1`` annotations do not count a class
            (they are still copied for chosen images).
    """
    classes: Dict[int, Set[int]] = {img['id']: set() for img in coco['images']}
    counted = Counter()
    for ann in coco['annotations']:
        if ignore_crowd and ann.get('iscrowd', 0):
            continue
        classes[ann['image_id']].add(ann['category_id'])
        counted[ann['image_id']] += 1
    if not include_empty:
        classes = {i: c for i, c in classes.items() if counted[i]}
    return classes


def make_coco_subset(ann_file: str, out_file: str, num: int, seed: int = 0,
                     min_per_class: int = 1, include_empty: bool = False,
                     ignore_crowd: bool = True) -> FewShotSubset:
    """Write a filtered COCO JSON of ``num`` class-balanced images.

    Every top-level field (``info``, ``licenses``, ``categories``, ...) is
    kept; ``images`` and ``annotations`` keep only the chosen images and all
    of their annotations (crowd ones included), unchanged and in file order.

    Args:
        ann_file (str): COCO instances or keypoints JSON.
        out_file (str): the filtered JSON to write; point the config's
            ``ann_file=`` at it.
        num (int): images to choose.
        seed (int): selection seed.
        min_per_class (int): images wanted per category.
        include_empty (bool): images without annotations may be chosen by
            the random fill (default: only annotated images are candidates).
        ignore_crowd (bool): crowd annotations do not make a category present.

    Returns:
        FewShotSubset: the selection (ids are COCO image ids), with ``out_file``.
    """
    coco = load_coco_json(ann_file)
    classes = coco_image_classes(coco, include_empty, ignore_crowd)
    what = 'images' if include_empty else 'annotated images'
    subset = select_balanced(classes, num, seed, min_per_class,
                             source=f'COCO annotation file {ann_file} ({what})')
    keep = set(subset.ids)
    out = dict(coco)
    out['images'] = [img for img in coco['images'] if img['id'] in keep]
    out['annotations'] = [ann for ann in coco['annotations'] if ann['image_id'] in keep]
    atomic_write_json(out_file, out)
    subset.out_file = out_file
    return subset


# -------------------------------------------------------------------- NYU
def nyu_scene_type(file_name: str) -> str:
    """The scene type in an NYU file name (mmseg layout), e.g. ``'living_room'``.

    The same rule as mmseg's ``NYUDataset`` uses for its ``category_id``:
    the base name up to its first digit, without the trailing ``_``
    (``living_room_0004_00012.jpg`` -> ``living_room``; ``grass_0000_00003.jpg``
    -> ``grass``). For one-word scene names this is the prefix before the
    first ``_``; unlike that prefix it keeps ``study`` and ``study_room``,
    ``home_office`` and ``home_storage`` apart. A name without digits is its
    own scene type (without its suffix).
    """
    name = osp.splitext(osp.basename(file_name))[0]
    for pos, char in enumerate(name):
        if char.isdigit():
            return name[:pos].rstrip('_')
    return name


def _list_pairs(data_root: str, split: str, img_suffix: str,
                depth_map_suffix: str) -> Dict[str, Tuple[str, str]]:
    """Sorted stem (relative to ``images/<split>``, ``/``-separated) -> (image, depth) paths."""
    img_dir = osp.join(data_root, 'images', split)
    ann_dir = osp.join(data_root, 'annotations', split)
    for folder in (img_dir, ann_dir):
        if not osp.isdir(folder):
            raise FileNotFoundError(f'NYU folder {folder} does not exist')
    stems = sorted(
        osp.relpath(osp.join(root, name), img_dir)[:-len(img_suffix)].replace(os.sep, '/')
        for root, _, files in os.walk(img_dir, followlinks=True) for name in files
        if name.endswith(img_suffix))
    if not stems:
        raise ValueError(f'no images ending in {img_suffix!r} under {img_dir}')
    pairs = {}
    for stem in stems:
        depth = osp.join(ann_dir, stem + depth_map_suffix)
        if not osp.isfile(depth):
            raise FileNotFoundError(f'depth map {depth} of image {stem!r} does not exist')
        pairs[stem] = (osp.join(img_dir, stem + img_suffix), depth)
    return pairs


def _same_file(a: str, b: str) -> bool:
    return osp.isfile(a) and osp.isfile(b) and (osp.samefile(a, b)
                                                or filecmp.cmp(a, b, shallow=False))


def _folder_matches(folder: str, wanted: Dict[str, str]) -> bool:
    """Whether ``folder`` holds exactly the files ``wanted`` (relative path -> source),
    each the source itself (a link to it) or an identical copy."""
    present = {
        osp.relpath(osp.join(root, name), folder).replace(os.sep, '/')
        for root, _, files in os.walk(folder) for name in files}
    return present == set(wanted) and all(
        _same_file(osp.join(folder, rel), src) for rel, src in wanted.items())


def _fill_folder(folder: str, wanted: Dict[str, str], copy: bool) -> None:
    """Create ``folder`` with ``wanted`` (relative path -> source) as relative symlinks or
    copies: built in a sibling temporary folder, then renamed, so it appears whole."""
    parent = osp.dirname(osp.abspath(folder))
    temp = osp.join(parent, f'.tmp.{osp.basename(folder)}.{os.getpid()}')
    if osp.exists(temp):
        shutil.rmtree(temp)
    try:
        for rel, src in wanted.items():
            dst = osp.join(temp, rel)
            os.makedirs(osp.dirname(dst), exist_ok=True)
            if copy:
                shutil.copyfile(src, dst)
            else:
                # relative to the final location; the temporary folder is at the same depth
                final_dir = osp.dirname(osp.join(osp.abspath(folder), rel))
                os.symlink(osp.relpath(osp.abspath(src), final_dir), dst)
        os.replace(temp, folder)
    finally:
        if osp.exists(temp):
            shutil.rmtree(temp)


def make_nyu_split(data_root: str, num: int, seed: int = 0, src_split: str = 'train',
                   out_split: Optional[str] = None, copy: bool = False,
                   min_per_scene: Optional[int] = None, img_suffix: str = '.jpg',
                   depth_map_suffix: str = '.png') -> FewShotSubset:
    """Write a scene-balanced few-shot split of NYU Depth v2 in mmseg's layout.

    Picks ``num`` image/depth pairs of ``images/<src_split>`` /
    ``annotations/<src_split>`` with :func:`select_balanced`, the "classes"
    being the scene types of the file names (:func:`nyu_scene_type`), and
    writes them to ``images/<out_split>/`` and ``annotations/<out_split>/``
    (same file names) as relative symlinks, or copies. Point the config at
    them: ``data_prefix=dict(img_path='images/<out_split>',
    depth_map_path='annotations/<out_split>')``.

    Args:
        data_root (str): The NYU root (holds ``images`` and ``annotations``).
        num (int): Frames to choose.
        seed (int): Selection seed.
        src_split (str): The split folder to choose from.
        out_split (str, optional): The split folder to write; default ``train_<num>``.
        copy (bool): Copy the files instead of linking them.
        min_per_scene (int, optional): Every scene type in at least
            ``min(min_per_scene, available)`` chosen frames; default
            ``num // number of scene types`` (an even share; the rest of the
            budget is a seeded random fill).
        img_suffix (str): Image suffix.
        depth_map_suffix (str): Depth map suffix.

    Returns:
        FewShotSubset: ``ids`` are the chosen stems (relative to
        ``images/<src_split>``, without suffix), ``available``/``chosen`` count
        frames per scene type, ``out_file`` is the written image folder.

    Raises:
        FileExistsError: ``images/<out_split>`` or ``annotations/<out_split>``
            exists and holds anything but exactly this choice (named).
        FileNotFoundError: A source folder or a depth map is missing.
        ValueError: ``num`` is not positive or exceeds the frames, or
            ``out_split`` equals ``src_split``.
    """
    out_split = out_split or f'train_{num}'
    if out_split == src_split:
        raise ValueError(f'out_split and src_split are both {src_split!r}; '
                         'choose another name for the few-shot folder')
    pairs = _list_pairs(data_root, src_split, img_suffix, depth_map_suffix)
    scenes = {stem: {nyu_scene_type(stem)} for stem in pairs}
    if min_per_scene is None:
        min_per_scene = max(num, 0) // len({s for ss in scenes.values() for s in ss})
    source = f'NYU folder {osp.join(data_root, "images", src_split)}'
    subset = select_balanced(scenes, num, seed, min_per_scene, source=source)
    wanted = {
        osp.join(data_root, 'images', out_split):
        {stem + img_suffix: pairs[stem][0] for stem in subset.ids},
        osp.join(data_root, 'annotations', out_split):
        {stem + depth_map_suffix: pairs[stem][1] for stem in subset.ids},
    }
    todo = {}
    for folder, files in wanted.items():
        if osp.lexists(folder):
            if not (osp.isdir(folder) and _folder_matches(folder, files)):
                raise FileExistsError(
                    f'{folder} already exists and does not hold exactly these {num} frames of '
                    f'{src_split!r} (seed {seed}); remove it or choose another out_split')
        else:
            todo[folder] = files
    for folder, files in todo.items():
        _fill_folder(folder, files, copy)
    subset.out_file = osp.join(data_root, 'images', out_split)
    return subset
