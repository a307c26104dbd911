"""Write a demo world in the on-disk layouts of the real data sets.

The real-data chain of DatasetDM reads PASCAL VOC 2012, COCO 2017 and NYU
Depth v2 through the toolboxes' stock dataset classes. To rehearse that chain
without the real data, the functions here copy a demo world, upscaled to a
chosen size, into those layouts::

    <out>/VOCdevkit/VOC2012/JPEGImages/<name>.jpg
    <out>/VOCdevkit/VOC2012/SegmentationClass/<name>.png     palette PNG, VOC class ids
    <out>/VOCdevkit/VOC2012/ImageSets/Segmentation/{train,val}.txt
    <out>/coco/{train2017,val2017}/<image_id:012d>.jpg
    <out>/coco/annotations/instances_{train2017,val2017}.json         80 COCO categories
    <out>/coco/annotations/person_keypoints_{train2017,val2017}.json  17 COCO keypoints
    <out>/nyu/images/{train,test}/<scene>_<code:04d>_<index:05d>.jpg
    <out>/nyu/annotations/{train,test}/<scene>_<code:04d>_<index:05d>.png  uint16 depth, mm
    <out>/demo_world_layouts.json                             what went where (manifest)

They are read by mmseg's ``PascalVOCDataset`` and ``NYUDataset``, mmdet's
``CocoDataset`` and mmpose's ``CocoDataset`` with their stock metainfo.

**Splits.** The labelled demo splits given as ``train_splits`` (default
``train_100``; ``test_shifted`` may be added) become VOC ``train``, COCO
``train2017`` and NYU ``train``; ``val_splits`` (default ``test``) become VOC
``val``, COCO ``val2017`` and NYU ``test``. Every demo split gets a *split
code*: its position in ``train_splits + val_splits`` (0, 1, ...), which keeps
the names of different splits apart:

* VOC name ``<split>_<index:06d>`` (e.g. ``train_100_000003``);
* COCO image id ``code * 1000000 + index + 1`` (the demo id ``index + 1`` for
  code 0), file ``<image id:012d>.jpg``, annotation id ``image id * 1000 +``
  the demo instance id;
* NYU name ``<scene>_<code:04d>_<index:05d>``, shaped like NYU's
  ``kitchen_0028b_00045``: ``scene`` is the image's ground kind (``grass``,
  ``sand``, ``road``, ``dirt``; ``tiles``, ``snow``, ``clay``, ``moss`` in the
  shifted domain), re-sampled from the world seed without rendering, so the
  scene-balanced few-shot choice
  (:func:`mmdatasetdm.datasets.fewshot.make_nyu_split`) has scene types to
  balance on.

**Scaling.** ``size`` is the output side (or ``(height, width)``), e.g. 128 or
256 for the 64-pixel world. Images are resized bilinearly (JPEG, quality
95); label maps, depth and instance masks by nearest neighbour (for an
integer factor every pixel becomes a ``f x f`` block). A COCO box is the box
of the resized mask (for an integer factor exactly the demo box times the
factor), ``area`` its pixel count, keypoints are multiplied by the factor
(pixel-edge coordinates: a keypoint stays in the block of its pixel).

**Classes.** The demo classes are mapped onto the real label sets by name
where one exists and onto a stand-in otherwise (:data:`VOC_CLASS_MAP`,
:data:`COCO_CATEGORY_MAP`). The stand-ins only give every demo class its own
real id; metric values of a rehearsal on this data mean nothing.
"""
import json
import os
import os.path as osp
import shutil
from types import MappingProxyType
from typing import Dict, List, Sequence, Tuple, Union

import numpy as np
from PIL import Image
from pycocotools import mask as mask_utils

from mmdatasetdm.fileio import (IGNORE_INDEX, atomic_write_bytes, atomic_write_json,
                                atomic_write_text, encode_png, read_rgb, read_semantic, write_image,
                                write_semantic)
from .appearance import get_domain
from .layout import WorldLayout
from .metainfo import ARTICULATED_CLASS, CLASS_IDS, KEYPOINT_NAMES, OBJECT_CLASSES
from .sample import ANN_ID_STRIDE, image_rng
from .scene import sample_scene

# ----------------------------------------------------------------- label sets
VOC_CLASSES = ('background', 'aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus', 'car',
               'cat', 'chair', 'cow', 'diningtable', 'dog', 'horse', 'motorbike', 'person',
               'pottedplant', 'sheep', 'sofa', 'train', 'tvmonitor')

# COCO 2017's 80 categories: (id, name, supercategory); the ids skip 12, 26, 29, ...
COCO_CATEGORIES = (
    (1, 'person', 'person'), (2, 'bicycle', 'vehicle'), (3, 'car', 'vehicle'),
    (4, 'motorcycle', 'vehicle'), (5, 'airplane', 'vehicle'), (6, 'bus', 'vehicle'),
    (7, 'train', 'vehicle'), (8, 'truck', 'vehicle'), (9, 'boat', 'vehicle'),
    (10, 'traffic light', 'outdoor'), (11, 'fire hydrant', 'outdoor'),
    (13, 'stop sign', 'outdoor'), (14, 'parking meter', 'outdoor'), (15, 'bench', 'outdoor'),
    (16, 'bird', 'animal'), (17, 'cat', 'animal'), (18, 'dog', 'animal'),
    (19, 'horse', 'animal'), (20, 'sheep', 'animal'), (21, 'cow', 'animal'),
    (22, 'elephant', 'animal'), (23, 'bear', 'animal'), (24, 'zebra', 'animal'),
    (25, 'giraffe', 'animal'), (27, 'backpack', 'accessory'), (28, 'umbrella', 'accessory'),
    (31, 'handbag', 'accessory'), (32, 'tie', 'accessory'), (33, 'suitcase', 'accessory'),
    (34, 'frisbee', 'sports'), (35, 'skis', 'sports'), (36, 'snowboard', 'sports'),
    (37, 'sports ball', 'sports'), (38, 'kite', 'sports'), (39, 'baseball bat', 'sports'),
    (40, 'baseball glove', 'sports'), (41, 'skateboard', 'sports'),
    (42, 'surfboard', 'sports'), (43, 'tennis racket', 'sports'), (44, 'bottle', 'kitchen'),
    (46, 'wine glass', 'kitchen'), (47, 'cup', 'kitchen'), (48, 'fork', 'kitchen'),
    (49, 'knife', 'kitchen'), (50, 'spoon', 'kitchen'), (51, 'bowl', 'kitchen'),
    (52, 'banana', 'food'), (53, 'apple', 'food'), (54, 'sandwich', 'food'),
    (55, 'orange', 'food'), (56, 'broccoli', 'food'), (57, 'carrot', 'food'),
    (58, 'hot dog', 'food'), (59, 'pizza', 'food'), (60, 'donut', 'food'), (61, 'cake', 'food'),
    (62, 'chair', 'furniture'), (63, 'couch', 'furniture'), (64, 'potted plant', 'furniture'),
    (65, 'bed', 'furniture'), (67, 'dining table', 'furniture'), (70, 'toilet', 'furniture'),
    (72, 'tv', 'electronic'), (73, 'laptop', 'electronic'), (74, 'mouse', 'electronic'),
    (75, 'remote', 'electronic'), (76, 'keyboard', 'electronic'),
    (77, 'cell phone', 'electronic'), (78, 'microwave', 'appliance'),
    (79, 'oven', 'appliance'), (80, 'toaster', 'appliance'), (81, 'sink', 'appliance'),
    (82, 'refrigerator', 'appliance'), (84, 'book', 'indoor'), (85, 'clock', 'indoor'),
    (86, 'vase', 'indoor'), (87, 'scissors', 'indoor'), (88, 'teddy bear', 'indoor'),
    (89, 'hair drier', 'indoor'), (90, 'toothbrush', 'indoor'))
COCO_CATEGORY_IDS = MappingProxyType({name: cid for cid, name, _ in COCO_CATEGORIES})

# COCO's 17 person keypoints and its 1-based skeleton.
COCO_KEYPOINT_NAMES = ('nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear',
                       'left_shoulder', 'right_shoulder', 'left_elbow', 'right_elbow',
                       'left_wrist', 'right_wrist', 'left_hip', 'right_hip', 'left_knee',
                       'right_knee', 'left_ankle', 'right_ankle')
COCO_SKELETON = ((16, 14), (14, 12), (17, 15), (15, 13), (12, 13), (6, 12), (7, 13), (6, 7),
                 (6, 8), (7, 9), (8, 10), (9, 11), (2, 3), (1, 2), (1, 3), (2, 4), (3, 5),
                 (4, 6), (5, 7))

# ------------------------------------------------------------ class mapping
#: Demo class -> VOC 2012 class. person and car exist in VOC; the rest are
#: stand-ins of roughly the same outline: a traffic cone -> ``bottle`` (an
#: upright tapering object), a tree -> ``pottedplant`` (the only plant class),
#: a ball -> ``sheep`` (VOC has no ball; a compact round blob). Background
#: stays 0 and ignore stays 255.
VOC_CLASS_MAP = MappingProxyType({
    'background': 'background',
    'person': 'person',
    'car': 'car',
    'cone': 'bottle',
    'tree': 'pottedplant',
    'ball': 'sheep',
})

#: Demo class -> COCO 2017 category. person, car and ``sports ball`` exist in
#: COCO; cone -> ``bottle`` and tree -> ``potted plant`` are stand-ins, the
#: same as for VOC.
COCO_CATEGORY_MAP = MappingProxyType({
    'person': 'person',
    'car': 'car',
    'cone': 'bottle',
    'tree': 'potted plant',
    'ball': 'sports ball',
})

#: COCO keypoint -> demo keypoint it is copied from (``None``: not labelled,
#: written as ``0, 0, 0``). The demo's ``neck`` has no COCO counterpart and is
#: dropped; its ``head`` centre stands in for the nose.
COCO_KEYPOINT_SOURCES = MappingProxyType({
    'nose': 'head',
    'left_eye': None, 'right_eye': None, 'left_ear': None, 'right_ear': None,
    **{name: name for name in COCO_KEYPOINT_NAMES[5:]},
})

FORMATS = ('voc', 'coco', 'nyu')
DEFAULT_TRAIN_SPLITS = ('train_100', )
DEFAULT_VAL_SPLITS = ('test', )
MANIFEST_FILE = 'demo_world_layouts.json'
JPEG_QUALITY = 95
# Depth PNGs are written in millimetres, as NYU's (mmseg reads them with depth_rescale_factor=1e-3).
NYU_DEPTH_SCALE = 1000.0
COCO_ID_STRIDE = 1_000_000

VOC_ROOT = 'VOCdevkit/VOC2012'
COCO_ROOT = 'coco'
NYU_ROOT = 'nyu'


def voc_label_lut() -> np.ndarray:
    """Demo semantic id -> VOC class id, as a 256-entry lookup table.

    Returns:
        np.ndarray: uint8, shape (256,); ``255`` (ignore) and unknown ids map to 255.
    """
    lut = np.full(256, IGNORE_INDEX, np.uint8)
    lut[0] = VOC_CLASSES.index(VOC_CLASS_MAP['background'])
    for name, demo_id in CLASS_IDS.items():
        lut[demo_id] = VOC_CLASSES.index(VOC_CLASS_MAP[name])
    return lut


def coco_category_id(demo_class: str) -> int:
    """The COCO category id a demo class is written as (see :data:`COCO_CATEGORY_MAP`)."""
    return COCO_CATEGORY_IDS[COCO_CATEGORY_MAP[demo_class]]


def coco_categories_2017(keypoints_only: bool = False) -> List[dict]:
    """COCO 2017's ``categories`` list.

    Args:
        keypoints_only (bool): Only ``person``, with ``keypoints`` and ``skeleton``
            (as in ``person_keypoints_*.json``).

    Returns:
        list[dict]: ``{"supercategory", "id", "name"}`` per category.
    """
    if keypoints_only:
        return [dict(supercategory='person', id=1, name='person',
                     keypoints=list(COCO_KEYPOINT_NAMES),
                     skeleton=[list(link) for link in COCO_SKELETON])]
    return [dict(supercategory=sup, id=cid, name=name) for cid, name, sup in COCO_CATEGORIES]


def map_keypoints(keypoints: Sequence[float], scale: Tuple[float, float] = (1.0, 1.0)) -> list:
    """Demo keypoints -> COCO's 17, scaled.

    Args:
        keypoints (Sequence[float]): Flat ``x, y, v`` of the demo's 14 keypoints.
        scale (tuple[float, float]): ``(sx, sy)`` multiplied onto labelled points.

    Returns:
        list: Flat ``x, y, v`` of COCO's 17 keypoints (``0, 0, 0`` where unlabelled).
    """
    demo = np.asarray(keypoints, np.float64).reshape(len(KEYPOINT_NAMES), 3)
    out = []
    for name in COCO_KEYPOINT_NAMES:
        source = COCO_KEYPOINT_SOURCES[name]
        x, y, v = demo[KEYPOINT_NAMES.index(source)] if source else (0.0, 0.0, 0)
        if v > 0:
            out += [round(float(x) * scale[0], 2), round(float(y) * scale[1], 2), int(v)]
        else:
            out += [0, 0, 0]
    return out


# ------------------------------------------------------------------ helpers
def _size_hw(size: Union[int, Sequence[int]]) -> Tuple[int, int]:
    hw = (int(size), int(size)) if np.isscalar(size) else tuple(int(s) for s in size)
    if len(hw) != 2 or min(hw) <= 0:
        raise ValueError(f'size must be a positive side or (height, width), got {size!r}')
    return hw


def nearest_resize(array: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    """Nearest-neighbour resize of a 2-D array (integer factors replicate pixels).

    Args:
        array (np.ndarray): (H, W) array of any dtype.
        size (tuple[int, int]): ``(height, width)`` wanted.

    Returns:
        np.ndarray: (height, width), same dtype; output pixel ``(r, c)`` takes
        the input pixel under its centre.
    """
    h, w = array.shape[:2]
    rows = np.minimum(((np.arange(size[0]) + 0.5) * h / size[0]).astype(np.int64), h - 1)
    cols = np.minimum(((np.arange(size[1]) + 0.5) * w / size[1]).astype(np.int64), w - 1)
    return array[rows[:, None], cols[None, :]]


def _bilinear_resize(image: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    if image.shape[:2] == tuple(size):
        return image
    return np.asarray(Image.fromarray(image).resize((size[1], size[0]), Image.BILINEAR))


def _read_uint16(path: str) -> np.ndarray:
    with Image.open(path) as img:
        return np.array(img).astype(np.uint16)


def _load_meta(world: str) -> dict:
    path = WorldLayout(world).meta
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path} does not exist: {world} is not a demo world')
    with open(path, encoding='utf-8') as f:
        return json.load(f)


def _check_splits(meta: dict, world: str, train_splits: Sequence[str],
                  val_splits: Sequence[str]) -> Dict[str, int]:
    """Split name -> split code, after checking every split is labelled and written."""
    names = list(train_splits) + list(val_splits)
    if not train_splits or not val_splits:
        raise ValueError('train_splits and val_splits must each name at least one split')
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f'demo splits {dup} are given more than once')
    splits = meta.get('splits', {})
    for name in names:
        if name not in splits:
            raise ValueError(f'the demo world {world} has no split {name!r} '
                             f'(it has {sorted(splits)})')
        if not splits[name].get('labelled', True):
            raise ValueError(f'demo split {name!r} of {world} is unlabelled; '
                             'only labelled splits can be written as real data sets')
    return {name: code for code, name in enumerate(names)}


def _split_indices(world: str, split: str) -> List[int]:
    path = WorldLayout(world).split_file(split)
    if not osp.isfile(path):
        raise FileNotFoundError(f'split file {path} does not exist')
    with open(path, encoding='utf-8') as f:
        return [int(line) for line in f if line.strip()]


def _prepare(out_root: str, overwrite: bool) -> None:
    if osp.exists(out_root) and os.listdir(out_root):
        if not overwrite:
            raise FileExistsError(f'{out_root} already exists and is not empty; '
                                  'pass overwrite=True (--overwrite) to replace it')
        shutil.rmtree(out_root)
    os.makedirs(out_root, exist_ok=True)


def _scaled_image(world: str, split: str, index: int, hw: Tuple[int, int]) -> np.ndarray:
    return _bilinear_resize(read_rgb(WorldLayout(world).image(split, index)), hw)


def scene_type(meta: dict, split: str, index: int) -> str:
    """The scene type of a demo image: the ground kind its scene was sampled with.

    Re-samples only the scene description (no rendering) from the world's seed
    and the split's domain and class distribution in ``meta.json``.

    Args:
        meta (dict): The world's ``meta.json`` content.
        split (str): Split name.
        index (int): Image index.

    Returns:
        str: e.g. ``'grass'``.
    """
    spec = meta['splits'][split]
    rng = image_rng(int(meta['seed']), split, int(index))
    scene = sample_scene(rng, get_domain(spec.get('domain', 'default')),
                         (int(meta['height']), int(meta['width'])),
                         class_frequency=spec.get('class_frequency', 'long_tail'))
    return scene.background.ground


# ---------------------------------------------------------------------- VOC
def write_voc(world: str, out: str, size: Union[int, Sequence[int]] = 128,
              train_splits: Sequence[str] = DEFAULT_TRAIN_SPLITS,
              val_splits: Sequence[str] = DEFAULT_VAL_SPLITS, overwrite: bool = False) -> dict:
    """Write a demo world as PASCAL VOC 2012 segmentation under ``out/VOCdevkit/VOC2012``.

    Read it with mmseg's ``PascalVOCDataset(data_root=<out>/VOCdevkit/VOC2012,
    data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClass'),
    ann_file='ImageSets/Segmentation/train.txt')`` (or ``val.txt``).

    Args:
        world (str): Demo-world root.
        out (str): Output root (the data root that holds ``VOCdevkit``).
        size (int | Sequence[int]): Output side or ``(height, width)``.
        train_splits (Sequence[str]): Demo splits written to ``train.txt``.
        val_splits (Sequence[str]): Demo splits written to ``val.txt``.
        overwrite (bool): Replace an existing ``VOCdevkit/VOC2012`` folder.

    Returns:
        dict: ``root`` (the VOC2012 folder) and ``splits``: ``{'train'|'val':
        [{'split', 'index', 'name'}, ...]}``.

    Raises:
        FileExistsError: The VOC2012 folder exists, is not empty and
            ``overwrite`` is False.
        ValueError: A split is unknown or unlabelled.
    """
    meta = _load_meta(world)
    _check_splits(meta, world, train_splits, val_splits)
    hw = _size_hw(size)
    root = osp.join(out, VOC_ROOT)
    _prepare(root, overwrite)
    layout, lut = WorldLayout(world), voc_label_lut()
    result = dict(root=root, splits={})
    for target, splits in (('train', train_splits), ('val', val_splits)):
        entries = []
        for split in splits:
            for index in _split_indices(world, split):
                name = f'{split}_{index:06d}'
                write_image(osp.join(root, 'JPEGImages', name + '.jpg'),
                            _scaled_image(world, split, index, hw), 'jpg', JPEG_QUALITY)
                labels = lut[nearest_resize(read_semantic(layout.semantic(split, index)), hw)]
                write_semantic(osp.join(root, 'SegmentationClass', name + '.png'), labels,
                               palette='voc')
                entries.append(dict(split=split, index=index, name=name))
        atomic_write_text(osp.join(root, 'ImageSets', 'Segmentation', f'{target}.txt'),
                          ''.join(e['name'] + '\n' for e in entries))
        result['splits'][target] = entries
    return result


# --------------------------------------------------------------------- COCO
def _scaled_annotation(ann: dict, image_id: int, src_hw: Tuple[int, int],
                       hw: Tuple[int, int]) -> dict:
    """A demo COCO annotation, resized to ``hw`` and mapped onto COCO's ids."""
    rle = dict(ann['segmentation'])
    if isinstance(rle.get('counts'), list):
        rle = mask_utils.frPyObjects(rle, *src_hw)
    mask = nearest_resize(mask_utils.decode(rle), hw)
    scaled = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
    demo_class = OBJECT_CLASSES[int(ann['category_id']) - 1]
    out = dict(id=image_id * ANN_ID_STRIDE + int(ann['id']) % ANN_ID_STRIDE,
               image_id=image_id, category_id=coco_category_id(demo_class),
               bbox=[float(v) for v in mask_utils.toBbox(scaled)],
               area=int(mask_utils.area(scaled)),
               segmentation=dict(size=[int(s) for s in scaled['size']],
                                 counts=scaled['counts'].decode('ascii')),
               iscrowd=int(ann.get('iscrowd', 0)))
    if 'keypoints' in ann:
        sx, sy = hw[1] / src_hw[1], hw[0] / src_hw[0]
        out['keypoints'] = map_keypoints(ann['keypoints'], (sx, sy))
        out['num_keypoints'] = int(sum(1 for v in out['keypoints'][2::3] if v > 0))
    return out


def _coco_info(split_names: Sequence[str], meta: dict) -> dict:
    return dict(description=f'mmdatasetdm demo world (seed {meta.get("seed")}) splits '
                f'{list(split_names)} in the COCO 2017 layout', version='1.0', year=2024,
                contributor='mmdatasetdm', date_created='')


def write_coco(world: str, out: str, size: Union[int, Sequence[int]] = 128,
               train_splits: Sequence[str] = DEFAULT_TRAIN_SPLITS,
               val_splits: Sequence[str] = DEFAULT_VAL_SPLITS, overwrite: bool = False) -> dict:
    """Write a demo world as COCO 2017 instances and person keypoints under ``out/coco``.

    ``instances_<set>.json`` holds every image of the set (also those without
    objects), all objects with COCO category ids (:data:`COCO_CATEGORY_MAP`),
    compressed-RLE masks (``iscrowd`` 0) and COCO's 80 categories;
    ``person_keypoints_<set>.json`` the same images, the person objects with
    COCO's 17 keypoints (:data:`COCO_KEYPOINT_SOURCES`) and the ``person``
    category. Read them with mmdet's ``CocoDataset(data_root=<out>/coco,
    ann_file='annotations/instances_train2017.json',
    data_prefix=dict(img='train2017/'))`` and mmpose's ``CocoDataset``
    (``data_prefix=dict(img='train2017/')``, its stock metainfo).

    Args:
        world (str): Demo-world root.
        out (str): Output root (the data root that holds ``coco``).
        size (int | Sequence[int]): Output side or ``(height, width)``.
        train_splits (Sequence[str]): Demo splits written to ``train2017``.
        val_splits (Sequence[str]): Demo splits written to ``val2017``.
        overwrite (bool): Replace an existing ``coco`` folder.

    Returns:
        dict: ``root`` (the coco folder) and ``splits``: ``{'train2017'|'val2017':
        [{'split', 'index', 'image_id', 'file_name'}, ...]}``.

    Raises:
        FileExistsError: The coco folder exists, is not empty and ``overwrite`` is False.
        ValueError: A split is unknown or unlabelled.
    """
    meta = _load_meta(world)
    codes = _check_splits(meta, world, train_splits, val_splits)
    hw = _size_hw(size)
    src_hw = (int(meta['height']), int(meta['width']))
    root = osp.join(out, COCO_ROOT)
    _prepare(root, overwrite)
    layout = WorldLayout(world)
    result = dict(root=root, splits={})
    for target, splits in (('train2017', train_splits), ('val2017', val_splits)):
        entries, images, instances, keypoints = [], [], [], []
        for split in splits:
            with open(layout.instances(split), encoding='utf-8') as f:
                demo_instances = json.load(f)
            with open(layout.keypoints(split), encoding='utf-8') as f:
                demo_keypoints = json.load(f)
            by_image = {}
            for ann in demo_instances['annotations']:
                by_image.setdefault(ann['image_id'], []).append(ann)
            kpt_by_image = {}
            for ann in demo_keypoints['annotations']:
                kpt_by_image.setdefault(ann['image_id'], []).append(ann)
            for index in _split_indices(world, split):
                demo_id = index + 1
                image_id = codes[split] * COCO_ID_STRIDE + demo_id
                file_name = f'{image_id:012d}.jpg'
                write_image(osp.join(root, target, file_name),
                            _scaled_image(world, split, index, hw), 'jpg', JPEG_QUALITY)
                images.append(dict(license=0, file_name=file_name, coco_url='',
                                   height=hw[0], width=hw[1], date_captured='', flickr_url='',
                                   id=image_id))
                instances += [_scaled_annotation(a, image_id, src_hw, hw)
                              for a in by_image.get(demo_id, [])]
                keypoints += [_scaled_annotation(a, image_id, src_hw, hw)
                              for a in kpt_by_image.get(demo_id, [])
                              if a['category_id'] == CLASS_IDS[ARTICULATED_CLASS]]
                entries.append(dict(split=split, index=index, image_id=image_id,
                                    file_name=file_name))
        info = _coco_info(splits, meta)
        atomic_write_json(osp.join(root, 'annotations', f'instances_{target}.json'),
                          dict(info=info, licenses=[], images=images, annotations=instances,
                               categories=coco_categories_2017()))
        atomic_write_json(osp.join(root, 'annotations', f'person_keypoints_{target}.json'),
                          dict(info=info, licenses=[], images=images, annotations=keypoints,
                               categories=coco_categories_2017(keypoints_only=True)))
        result['splits'][target] = entries
    return result


# ---------------------------------------------------------------------- NYU
def write_nyu(world: str, out: str, size: Union[int, Sequence[int]] = 128,
              train_splits: Sequence[str] = DEFAULT_TRAIN_SPLITS,
              val_splits: Sequence[str] = DEFAULT_VAL_SPLITS, overwrite: bool = False) -> dict:
    """Write a demo world as NYU Depth v2 in mmseg's layout under ``out/nyu``.

    ``images/<set>/<name>.jpg`` and ``annotations/<set>/<name>.png`` (uint16
    depth in millimetres, 0 where the demo has no depth, i.e. sky) with
    ``<set>`` ``train`` or ``test`` and ``<name>`` ``<scene>_<code:04d>_<index:05d>``
    (see the module docstring). Read them with mmseg's ``NYUDataset(data_root=<out>/nyu,
    data_prefix=dict(img_path='images/train', depth_map_path='annotations/train'))``
    and ``LoadDepthAnnotation(depth_rescale_factor=1e-3)``.

    Args:
        world (str): Demo-world root.
        out (str): Output root (the data root that holds ``nyu``).
        size (int | Sequence[int]): Output side or ``(height, width)``.
        train_splits (Sequence[str]): Demo splits written to ``train``.
        val_splits (Sequence[str]): Demo splits written to ``test``.
        overwrite (bool): Replace an existing ``nyu`` folder.

    Returns:
        dict: ``root`` (the nyu folder) and ``splits``: ``{'train'|'test':
        [{'split', 'index', 'name', 'scene'}, ...]}``.

    Raises:
        FileExistsError: The nyu folder exists, is not empty and ``overwrite`` is False.
        ValueError: A split is unknown or unlabelled.
    """
    meta = _load_meta(world)
    codes = _check_splits(meta, world, train_splits, val_splits)
    hw = _size_hw(size)
    scale = NYU_DEPTH_SCALE / float(meta.get('depth_scale', NYU_DEPTH_SCALE))
    root = osp.join(out, NYU_ROOT)
    _prepare(root, overwrite)
    layout = WorldLayout(world)
    result = dict(root=root, splits={})
    for target, splits in (('train', train_splits), ('test', val_splits)):
        entries = []
        for split in splits:
            for index in _split_indices(world, split):
                scene = scene_type(meta, split, index)
                name = f'{scene}_{codes[split]:04d}_{index:05d}'
                write_image(osp.join(root, 'images', target, name + '.jpg'),
                            _scaled_image(world, split, index, hw), 'jpg', JPEG_QUALITY)
                depth = nearest_resize(_read_uint16(layout.depth(split, index)), hw)
                if scale != 1.0:
                    depth = np.clip(np.rint(depth * scale), 0, 65535).astype(np.uint16)
                atomic_write_bytes(osp.join(root, 'annotations', target, name + '.png'),
                                   encode_png(depth))
                entries.append(dict(split=split, index=index, name=name, scene=scene))
        result['splits'][target] = entries
    return result


WRITERS = MappingProxyType(dict(voc=write_voc, coco=write_coco, nyu=write_nyu))


def write_real_layouts(world: str, out: str, size: Union[int, Sequence[int]] = 128,
                       formats: Sequence[str] = FORMATS,
                       train_splits: Sequence[str] = DEFAULT_TRAIN_SPLITS,
                       val_splits: Sequence[str] = DEFAULT_VAL_SPLITS,
                       overwrite: bool = False) -> dict:
    """Write a demo world in several real layouts and a manifest of what went where.

    Args:
        world (str): Demo-world root.
        out (str): Output root: ``VOCdevkit``, ``coco`` and ``nyu`` go below it.
        size (int | Sequence[int]): Output side or ``(height, width)``.
        formats (Sequence[str]): Any of ``'voc'``, ``'coco'``, ``'nyu'``.
        train_splits (Sequence[str]): Demo splits written as the training sets.
        val_splits (Sequence[str]): Demo splits written as the val / test sets.
        overwrite (bool): Replace the format folders that exist.

    Returns:
        dict: The manifest, also written to ``<out>/demo_world_layouts.json``:
        ``world``, ``size`` (``[height, width]``), ``train_splits``,
        ``val_splits``, the class tables and one entry per format (the return
        value of :func:`write_voc` / :func:`write_coco` / :func:`write_nyu`).
    """
    unknown = [f for f in formats if f not in WRITERS]
    if unknown or not formats:
        raise ValueError(f'unknown formats {unknown}; choose from {list(FORMATS)}')
    hw = _size_hw(size)
    manifest = dict(world=osp.abspath(world), size=list(hw), train_splits=list(train_splits),
                    val_splits=list(val_splits), voc_class_map=dict(VOC_CLASS_MAP),
                    coco_category_map={k: [v, coco_category_id(k)]
                                       for k, v in COCO_CATEGORY_MAP.items()},
                    coco_keypoint_sources=dict(COCO_KEYPOINT_SOURCES), formats={})
    for fmt in dict.fromkeys(formats):
        manifest['formats'][fmt] = WRITERS[fmt](world, out, hw, train_splits, val_splits,
                                                overwrite)
    atomic_write_text(osp.join(out, MANIFEST_FILE), json.dumps(manifest, indent=1) + '\n')
    return manifest


__all__ = [
    'VOC_CLASSES', 'COCO_CATEGORIES', 'COCO_CATEGORY_IDS', 'COCO_KEYPOINT_NAMES', 'COCO_SKELETON',
    'VOC_CLASS_MAP', 'COCO_CATEGORY_MAP', 'COCO_KEYPOINT_SOURCES', 'FORMATS', 'MANIFEST_FILE',
    'voc_label_lut', 'coco_category_id', 'coco_categories_2017', 'map_keypoints',
    'nearest_resize', 'scene_type', 'write_voc', 'write_coco', 'write_nyu', 'write_real_layouts'
]
