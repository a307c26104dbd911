"""Hide classes from a sample's semantic labels (the zero-shot protocol's training side)."""
from typing import Sequence

import numpy as np
from mmcv.transforms import BaseTransform

from mmdatasetdm.registry import TRANSFORMS


@TRANSFORMS.register_module()
class HideClasses(BaseTransform):
    """Turn the pixels of ``hidden`` classes of ``gt_seg_map`` into ``ignore_index``.

    Zero-shot training sees images that contain the hidden (unseen) classes but
    none of their labels: their pixels are ignored by the losses, not called
    background, and a later ``AddPrompt(source='present')`` does not name them.
    Place it right after ``LoadAnnotations``.

    Args:
        classes (Sequence[str]): class names indexed by label id.
        hidden (Sequence[str]): the classes to hide (names of ``classes``).
        ignore_index (int): the label of ignored pixels.
    """

    def __init__(self, classes: Sequence[str], hidden: Sequence[str], ignore_index: int = 255):
        unknown = [c for c in hidden if c not in classes]
        if unknown:
            raise ValueError(f'HideClasses: hidden classes {unknown} are not among the classes '
                             f'{list(classes)}')
        if not hidden:
            raise ValueError('HideClasses needs at least one class to hide')
        self.classes = list(classes)
        self.hidden = list(hidden)
        self.ids = np.array([self.classes.index(c) for c in hidden])
        self.ignore_index = int(ignore_index)

    def transform(self, results: dict) -> dict:
        if 'gt_seg_map' not in results:
            raise KeyError('HideClasses needs gt_seg_map: put it after LoadAnnotations')
        seg = results['gt_seg_map']
        results['gt_seg_map'] = np.where(np.isin(seg, self.ids), self.ignore_index,
                                         seg).astype(seg.dtype)
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(hidden={self.hidden}, ignore_index={self.ignore_index})'
