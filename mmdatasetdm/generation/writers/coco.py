"""COCO annotations: instances with RLE masks and person keypoints.

Ids derive from the global sample index, so any split of the work into
shards merges into the same file: image id ``index + 1`` and annotation id
``image_id * MAX_ANNOTATIONS_PER_IMAGE + k`` for the ``k``-th annotation of
the image (ids start at 1: pycocotools' evaluation treats id 0 as "no match").
"""
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np
from pycocotools import mask as mask_util

from mmdatasetdm.fileio.synthetic_format import image_id_of

MAX_ANNOTATIONS_PER_IMAGE = 1000

# The COCO person keypoints (the public format's names and 1-based skeleton).
COCO_KEYPOINT_NAMES = ('nose', 'left_eye', 'right_eye', 'left_ear', 'right_ear', 'left_shoulder',
                       'right_shoulder', 'left_elbow', 'right_elbow', 'left_wrist', 'right_wrist',
                       'left_hip', 'right_hip', 'left_knee', 'right_knee', 'left_ankle',
                       'right_ankle')
COCO_SKELETON_1BASED = ((16, 14), (14, 12), (17, 15), (15, 13), (12, 13), (6, 12), (7, 13), (6, 7),
                        (6, 8), (7, 9), (8, 10), (9, 11), (2, 3), (1, 2), (1, 3), (2, 4), (3, 5),
                        (4, 6), (5, 7))


def annotation_id_of(index: int, k: int) -> int:
    """COCO id of the ``k``-th annotation of sample ``index``.

    Args:
        index (int): global sample index.
        k (int): 0-based position among the sample's annotations.

    Returns:
        int: a positive id, unique over the whole dataset.
    """
    if not 0 <= k < MAX_ANNOTATIONS_PER_IMAGE:
        raise ValueError(f'sample {index} has more than {MAX_ANNOTATIONS_PER_IMAGE} annotations')
    return image_id_of(index) * MAX_ANNOTATIONS_PER_IMAGE + k


def check_categories(categories: Sequence[Mapping[str, Any]]) -> List[Dict[str, Any]]:
    """Validate a COCO categories list (the real dataset's ids and names).

    Args:
        categories (Sequence[Mapping]): ``[{'id': 1, 'name': 'person', ...}]``
            in the order of the decoder's class indices.

    Returns:
        list[dict]: plain-dict copies.
    """
    if isinstance(categories, (str, bytes)) or not categories:
        raise ValueError(
            f'categories must be a non-empty list of {{"id", "name"}} dicts, got {categories!r}')
    out = []
    for k, cat in enumerate(categories):
        cat = dict(cat)
        if not isinstance(cat.get('id'), int) or isinstance(cat.get('id'), bool) or cat['id'] < 1:
            raise ValueError(f'categories[{k}] needs an integer "id" >= 1, got {cat.get("id")!r}')
        if not isinstance(cat.get('name'), str) or not cat['name']:
            raise ValueError(f'categories[{k}] needs a non-empty "name", got {cat.get("name")!r}')
        out.append(cat)
    for key in ('id', 'name'):
        values = [c[key] for c in out]
        repeated = sorted({v for v in values if values.count(v) > 1}, key=str)
        if repeated:
            raise ValueError(f'categories repeat the {key}s {repeated}')
    return out


def _get(container, name: str, default=None):
    if isinstance(container, Mapping):
        value = container.get(name, default)
    else:
        value = getattr(container, name, default)
    if value is not None and hasattr(value, 'detach'):  # a torch tensor
        value = value.detach().cpu().numpy()
    return value


def _score_list(scores, n: int, what: str) -> List[float]:
    if scores is None:
        raise ValueError(f'{what}: "scores" are required (one per annotation)')
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    if len(scores) != n:
        raise ValueError(f'{what}: {len(scores)} scores for {n} annotations')
    if not np.all(np.isfinite(scores)):
        raise ValueError(f'{what}: scores must be finite')
    return [round(float(s), 6) for s in scores]


def encode_mask(mask: np.ndarray) -> Dict[str, Any]:
    """RLE of a binary mask with string counts (JSON-ready).

    Args:
        mask (np.ndarray): shape (H, W), nonzero = inside.

    Returns:
        dict: ``{'size': [H, W], 'counts': str}``.
    """
    rle = mask_util.encode(np.asfortranarray(np.asarray(mask) != 0, dtype=np.uint8))
    return {'size': [int(s) for s in rle['size']], 'counts': rle['counts'].decode('ascii')}


def decode_mask(rle: Mapping[str, Any]) -> np.ndarray:
    """Inverse of :func:`encode_mask`: a uint8 mask of shape (H, W)."""
    counts = rle['counts']
    return mask_util.decode({
        'size': list(rle['size']),
        'counts': counts.encode('ascii') if isinstance(counts, str) else counts
    })


def instance_annotations(index: int, instances, categories: Sequence[Mapping[str, Any]],
                         image_size: Optional[Tuple[int, int]] = None) -> List[Dict[str, Any]]:
    """COCO instance annotations of one sample.

    Args:
        index (int): the global sample index.
        instances (Mapping | object): ``masks`` (N, H, W) binary, ``labels``
            (N,) indices into ``categories``, ``scores`` (N,); a dict or an
            object with those attributes (e.g. mmdet's ``InstanceData``,
            tensors allowed).
        categories (Sequence[Mapping]): the real dataset's categories in the
            order of ``labels``.
        image_size (tuple[int, int], optional): (H, W) the masks must have.

    Returns:
        list[dict]: annotations with id, image_id, category_id, segmentation
        (RLE), area, bbox (x, y, w, h), iscrowd=0, score.
    """
    what = f'sample {index} instances'
    masks, labels = _get(instances, 'masks'), _get(instances, 'labels')
    if masks is None or labels is None:
        raise ValueError(f'{what}: "masks" and "labels" are required')
    masks = np.asarray(masks)
    labels = np.asarray(labels).reshape(-1)
    if masks.ndim != 3:
        raise ValueError(f'{what}: masks must have shape (N, H, W), got {masks.shape}')
    if image_size is not None and tuple(masks.shape[1:]) != tuple(image_size):
        raise ValueError(
            f'{what}: masks are {masks.shape[1:]} but the image is {tuple(image_size)}')
    if len(labels) != len(masks):
        raise ValueError(f'{what}: {len(labels)} labels for {len(masks)} masks')
    if labels.dtype.kind not in 'iu':
        raise ValueError(
            f'{what}: labels must be integer indices into categories, got dtype {labels.dtype}')
    scores = _score_list(_get(instances, 'scores'), len(masks), what)
    out = []
    for k, (mask, label) in enumerate(zip(masks, labels)):
        if not 0 <= int(label) < len(categories):
            raise ValueError(
                f'{what}: label {int(label)} of annotation {k} is not an index into the '
                f'{len(categories)} categories')
        rle = encode_mask(mask)
        coded = {'size': rle['size'], 'counts': rle['counts'].encode('ascii')}
        area = int(mask_util.area(coded))
        if area == 0:
            raise ValueError(f'{what}: mask {k} is empty; filter empty instances before writing')
        bbox = [float(v) for v in mask_util.toBbox(coded)]
        out.append(
            dict(
                id=annotation_id_of(index, k),
                image_id=image_id_of(index),
                category_id=int(categories[int(label)]['id']),
                segmentation=rle,
                area=area,
                bbox=bbox,
                iscrowd=0,
                score=scores[k]))
    return out


@dataclass
class KeypointMeta:
    """Keypoint names, skeleton and the COCO category of the posed class.

    Args:
        names (Sequence[str]): keypoint names, in order.
        skeleton (Sequence[tuple[int, int]]): 0-based index pairs.
        category (dict): the COCO category (``id``, ``name``); keypoints and
            skeleton are added when written.
    """
    names: Tuple[str, ...] = COCO_KEYPOINT_NAMES
    skeleton: Tuple[Tuple[int, int], ...] = tuple((a - 1, b - 1) for a, b in COCO_SKELETON_1BASED)
    category: Dict[str, Any] = field(
        default_factory=lambda: dict(id=1, name='person', supercategory='person'))

    def __post_init__(self):
        self.names = tuple(str(n) for n in self.names)
        if not self.names or len(set(self.names)) != len(self.names):
            raise ValueError(f'keypoint names must be non-empty and unique, got {list(self.names)}')
        pairs = []
        for link in self.skeleton:
            a, b = (self.names.index(x) if isinstance(x, str) else int(x) for x in link)
            if not (0 <= a < len(self.names) and 0 <= b < len(self.names)):
                raise ValueError(
                    f'skeleton link {tuple(link)} is outside the {len(self.names)} keypoints')
            pairs.append((a, b))
        self.skeleton = tuple(pairs)
        self.category = check_categories([self.category])[0]

    @property
    def num_keypoints(self) -> int:
        return len(self.names)

    @classmethod
    def from_metainfo(cls,
                      metainfo: Mapping[str, Any],
                      category: Optional[Mapping[str, Any]] = None):
        """Build from mmpose metainfo (raw ``dataset_info`` or parsed) or a COCO category.

        Accepted forms: ``keypoint_info`` + ``skeleton_info`` (an mmpose
        ``configs/_base_/datasets/*.py`` ``dataset_info``),
        ``keypoint_id2name`` + ``skeleton_links`` (mmpose's parsed metainfo),
        or ``keypoints`` + 1-based ``skeleton`` (a COCO category).

        Args:
            metainfo (Mapping): one of the forms above.
            category (Mapping, optional): the COCO category (default: the
                COCO category's own id/name, else person with id 1).

        Returns:
            KeypointMeta: the metadata.
        """
        meta = dict(metainfo)
        if 'keypoint_info' in meta:
            info = meta['keypoint_info']
            names = [info[k]['name'] for k in sorted(info, key=lambda k: info[k].get('id', k))]
            skeleton = [
                tuple(s['link']) for _, s in sorted(dict(meta.get('skeleton_info', {})).items())
            ]
        elif 'keypoint_id2name' in meta:
            id2name = meta['keypoint_id2name']
            names = [id2name[k] for k in sorted(id2name)]
            skeleton = [tuple(link) for link in meta.get('skeleton_links', [])]
        elif 'keypoints' in meta:
            names = list(meta['keypoints'])
            skeleton = [(a - 1, b - 1) for a, b in meta.get('skeleton', [])]
            if category is None and 'id' in meta:
                category = {k: v for k, v in meta.items() if k not in ('keypoints', 'skeleton')}
        else:
            raise ValueError(
                'keypoint metainfo needs keypoint_info/skeleton_info, keypoint_id2name/'
                f'skeleton_links or keypoints/skeleton; got keys {sorted(meta)}')
        category = dict(category or dict(id=1, name='person', supercategory='person'))
        return cls(names=tuple(names), skeleton=tuple(skeleton), category=category)

    def coco_category(self) -> Dict[str, Any]:
        """The COCO category with ``keypoints`` and 1-based ``skeleton``."""
        return dict(self.category, keypoints=list(self.names),
                    skeleton=[[a + 1, b + 1] for a, b in self.skeleton])

    def to_dict(self) -> Dict[str, Any]:
        """JSON-ready form (``KeypointMeta(**d)`` rebuilds it)."""
        return dict(names=list(self.names), skeleton=[list(p) for p in self.skeleton],
                    category=dict(self.category))


def keypoint_annotations(index: int, poses, meta: KeypointMeta,
                         image_size: Optional[Tuple[int, int]] = None) -> List[Dict[str, Any]]:
    """COCO keypoint annotations of one sample; every line has exactly K keypoints.

    Args:
        index (int): the global sample index.
        poses (Mapping | object): ``keypoints`` (N, K, 3) as x, y, v with v in
            {0, 1, 2}, or (N, K, 2) with ``visibility`` (N, K); ``scores``
            (N,); optional ``bboxes`` (N, 4) as x1, y1, x2, y2 (else the box
            of the labelled keypoints) and ``masks`` (N, H, W) (adds an RLE
            segmentation and makes ``area`` the mask area, else the box area).
        meta (KeypointMeta): names, skeleton and category.
        image_size (tuple[int, int], optional): (H, W) of the image.

    Returns:
        list[dict]: annotations with id, image_id, category_id, keypoints
        (flat [x, y, v] * K), num_keypoints, bbox, area, iscrowd=0, score.
    """
    what = f'sample {index} keypoints'
    keypoints = _get(poses, 'keypoints')
    if keypoints is None:
        raise ValueError(f'{what}: "keypoints" are required')
    keypoints = np.asarray(keypoints, dtype=np.float64)
    K = meta.num_keypoints
    if keypoints.ndim != 3 or keypoints.shape[1] != K or keypoints.shape[2] not in (2, 3):
        raise ValueError(
            f'{what}: keypoints must have shape (N, {K}, 3) or (N, {K}, 2) for the {K} '
            f'keypoints of the metainfo, got {keypoints.shape}')
    n = len(keypoints)
    if keypoints.shape[2] == 2:
        visibility = _get(poses, 'visibility')
        if visibility is None:
            raise ValueError(f'{what}: (N, K, 2) keypoints need "visibility" (N, K) in {{0, 1, 2}}')
        visibility = np.asarray(visibility)
        if visibility.shape != (n, K):
            raise ValueError(
                f'{what}: visibility must have shape ({n}, {K}), got {visibility.shape}')
    else:
        visibility = keypoints[..., 2]
        keypoints = keypoints[..., :2]
    if not np.all(np.isin(visibility, (0, 1, 2))):
        raise ValueError(
            f'{what}: visibility values must be 0, 1 or 2, got {np.unique(visibility).tolist()}')
    visibility = visibility.astype(np.int64)
    if not np.all(np.isfinite(keypoints[visibility > 0])):
        raise ValueError(f'{what}: labelled keypoints must have finite coordinates')
    scores = _score_list(_get(poses, 'scores'), n, what)
    bboxes, masks = _get(poses, 'bboxes'), _get(poses, 'masks')
    if bboxes is not None:
        bboxes = np.asarray(bboxes, dtype=np.float64)
        if bboxes.shape != (n, 4):
            raise ValueError(
                f'{what}: bboxes must have shape ({n}, 4) as x1, y1, x2, y2, got {bboxes.shape}')
    if masks is not None:
        masks = np.asarray(masks)
        if masks.ndim != 3 or len(masks) != n:
            raise ValueError(f'{what}: masks must have shape ({n}, H, W), got {masks.shape}')
        if image_size is not None and tuple(masks.shape[1:]) != tuple(image_size):
            raise ValueError(
                f'{what}: masks are {masks.shape[1:]} but the image is {tuple(image_size)}')
    out = []
    for k in range(n):
        v = visibility[k]
        xy = np.where(v[:, None] > 0, keypoints[k], 0.0)
        flat = []
        for (x, y), vis in zip(xy, v):
            flat.extend([round(float(x), 3), round(float(y), 3), int(vis)])
        if bboxes is not None:
            x1, y1, x2, y2 = bboxes[k]
        elif np.any(v > 0):
            x1, y1 = xy[v > 0].min(axis=0)
            x2, y2 = xy[v > 0].max(axis=0)
        else:
            raise ValueError(f'{what}: person {k} has no labelled keypoint and no bbox')
        if x2 < x1 or y2 < y1:
            raise ValueError(f'{what}: bbox {k} has x2 < x1 or y2 < y1: {[x1, y1, x2, y2]}')
        bbox = [
            round(float(x1), 3),
            round(float(y1), 3),
            round(float(x2 - x1), 3),
            round(float(y2 - y1), 3)
        ]
        ann = dict(
            id=annotation_id_of(index, k),
            image_id=image_id_of(index),
            category_id=int(meta.category['id']),
            keypoints=flat,
            num_keypoints=int((v > 0).sum()),
            bbox=bbox,
            area=round(bbox[2] * bbox[3], 3),
            iscrowd=0,
            score=scores[k])
        if masks is not None:
            rle = encode_mask(masks[k])
            ann['segmentation'] = rle
            ann['area'] = int(decode_mask(rle).sum())
        out.append(ann)
    return out


def coco_document(images: List[Dict[str, Any]], annotations: List[Dict[str, Any]],
                  categories: List[Dict[str, Any]]) -> Dict[str, Any]:
    """A COCO JSON document (no timestamps, so it is reproducible byte for byte).

    Args:
        images (list[dict]): image entries (id, file_name, width, height).
        annotations (list[dict]): annotations.
        categories (list[dict]): categories.

    Returns:
        dict: ``info``, ``licenses``, ``images``, ``annotations``, ``categories``.
    """
    return dict(info=dict(description='mmdatasetdm synthetic data'), licenses=[], images=images,
                annotations=annotations, categories=categories)
