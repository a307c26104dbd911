"""One demo-world sample: seeding, rendering, captioning and annotations.

An image's content depends only on ``(world seed, split name, image index)``
(and the image size and the split's domain): :func:`image_rng` derives an
independent random stream from those, so any image can be regenerated alone
and splits never share images.
"""
import hashlib
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

import numpy as np
from pycocotools import mask as mask_utils

from .appearance import get_domain
from .caption import caption_scene, partial_captions
from .metainfo import ARTICULATED_CLASS, CLASS_IDS
from .render import DEFAULT_MAX_DEPTH, RenderedScene, render_scene
from .scene import Scene, sample_scene

# Instances with fewer visible pixels get no COCO annotation (their pixels keep
# their class in the semantic map) and are not named in the caption.
DEFAULT_MIN_AREA = 12
# COCO annotation ids are image_id * ANN_ID_STRIDE + (local index + 1).
ANN_ID_STRIDE = 1000


def split_code(split: str) -> int:
    """A stable 32-bit integer for a split name (independent of ``PYTHONHASHSEED``)."""
    return int.from_bytes(hashlib.sha256(split.encode('utf-8')).digest()[:4], 'little')


def image_rng(seed: int, split: str, index: int) -> np.random.Generator:
    """The random stream of one image.

    Args:
        seed (int): World seed (non-negative).
        split (str): Split name.
        index (int): Image index within the split (non-negative).

    Returns:
        numpy.random.Generator: A PCG64 generator seeded from all three.
    """
    if seed < 0 or index < 0:
        raise ValueError(f'seed and index must be non-negative, got seed={seed}, index={index}')
    return np.random.default_rng(np.random.SeedSequence([int(seed), split_code(split), int(index)]))


def coco_image_id(index: int) -> int:
    """COCO image id of image ``index`` (ids start at 1; 0 is falsy in some COCO tools)."""
    return int(index) + 1


@dataclass
class InstanceAnnotation:
    """Ground truth of one visible object.

    Args:
        instance_id (int): Value of the object in the instance map.
        category (str): Class name.
        bbox (list[float]): ``[x, y, w, h]`` of the visible mask (pixel edges).
        area (int): Visible pixel count.
        rle (dict): COCO RLE of the visible mask (``counts`` as str).
        keypoints (numpy.ndarray | None): (K, 3) ``x, y, v`` for the articulated class.
    """
    instance_id: int
    category: str
    bbox: List[float]
    area: int
    rle: dict
    keypoints: Optional[np.ndarray] = None


@dataclass
class DemoSample:
    """Everything known about one image.

    Args:
        split (str): Split name.
        index (int): Index within the split.
        scene (Scene): The sampled scene description.
        rendered (RenderedScene): Pixels and dense ground truth.
        caption (str): Caption naming classes and attributes.
        annotations (list[InstanceAnnotation]): Visible instances (area >= min_area).
        partial_captions (list[str]): Shorter true captions, one per class
            shown (see :func:`~.caption.partial_captions`).
    """
    split: str
    index: int
    scene: Scene
    rendered: RenderedScene
    caption: str
    annotations: List[InstanceAnnotation]
    partial_captions: List[str] = field(default_factory=list)

    @property
    def stem(self) -> str:
        """File stem shared by all files of this image: ``{index:08d}``."""
        return f'{self.index:08d}'


def instance_annotations(scene: Scene, rendered: RenderedScene,
                         min_area: int = DEFAULT_MIN_AREA) -> List[InstanceAnnotation]:
    """COCO-style annotations of the visible instances of a rendered scene.

    Args:
        scene (Scene): The scene.
        rendered (RenderedScene): Its rendering.
        min_area (int): Minimum visible area (pixels) to annotate an instance.

    Returns:
        list[InstanceAnnotation]: In instance-id order (far to near).
    """
    anns = []
    for k, obj in enumerate(scene.objects, start=1):
        mask = rendered.instances == k
        area = int(mask.sum())
        if area < min_area:
            continue
        rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
        bbox = [float(v) for v in mask_utils.toBbox(rle)]
        rle = dict(size=[int(s) for s in rle['size']], counts=rle['counts'].decode('ascii'))
        anns.append(InstanceAnnotation(instance_id=k, category=obj.category, bbox=bbox, area=area,
                                       rle=rle, keypoints=rendered.keypoints[k - 1]))
    return anns


def make_sample(seed: int, split: str, index: int, size: Tuple[int, int] = (64, 64),
                domain: str = 'default', min_area: int = DEFAULT_MIN_AREA,
                max_depth: float = DEFAULT_MAX_DEPTH,
                class_frequency: str = 'long_tail') -> DemoSample:
    """Sample, render, caption and annotate one image.

    Args:
        seed (int): World seed.
        split (str): Split name.
        index (int): Image index within the split.
        size (tuple[int, int]): ``(height, width)``.
        domain (str): ``'default'`` or ``'shifted'``.
        min_area (int): Minimum visible area of an annotated instance.
        max_depth (float): Ground depth clip in metres.
        class_frequency (str): How often each class appears (a key of
            :data:`~projects.demo_world.demo_world.scene.CLASS_FREQUENCIES`).

    Returns:
        DemoSample: The sample.
    """
    rng = image_rng(seed, split, index)
    scene = sample_scene(rng, get_domain(domain), size, class_frequency=class_frequency)
    rendered = render_scene(scene, max_depth=max_depth)
    anns = instance_annotations(scene, rendered, min_area)
    areas = {a.instance_id: a.area for a in anns}
    return DemoSample(split=split, index=index, scene=scene, rendered=rendered,
                      caption=caption_scene(scene, areas),
                      partial_captions=partial_captions(scene, areas),
                      annotations=anns)


def coco_annotation(sample: DemoSample, ann: InstanceAnnotation, with_keypoints: bool) -> dict:
    """The COCO JSON dict of one annotation.

    Args:
        sample (DemoSample): The image the annotation belongs to.
        ann (InstanceAnnotation): The annotation.
        with_keypoints (bool): Add ``keypoints`` and ``num_keypoints`` (articulated class only).

    Returns:
        dict: ``id, image_id, category_id, bbox, area, segmentation, iscrowd``
        (+ ``keypoints``, ``num_keypoints``).
    """
    image_id = coco_image_id(sample.index)
    out = dict(id=image_id * ANN_ID_STRIDE + ann.instance_id, image_id=image_id,
               category_id=CLASS_IDS[ann.category], bbox=ann.bbox, area=ann.area,
               segmentation=ann.rle, iscrowd=0)
    if with_keypoints:
        if ann.category != ARTICULATED_CLASS or ann.keypoints is None:
            raise ValueError(f'annotation {out["id"]} of class {ann.category!r} has no keypoints')
        kpts = ann.keypoints
        out['keypoints'] = [
            v for x, y, f in kpts.tolist() for v in (round(x, 2), round(y, 2), int(f))
        ]
        out['num_keypoints'] = int(np.count_nonzero(kpts[:, 2] > 0))
    return out
