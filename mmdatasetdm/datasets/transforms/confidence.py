"""Ignore the pixels whose generated label is uncertain (a synthetic set's confidence map)."""
import numpy as np
from mmcv.transforms import BaseTransform

from mmdatasetdm.fileio import read_confidence
from mmdatasetdm.registry import TRANSFORMS


@TRANSFORMS.register_module()
class IgnoreUncertainPixels(BaseTransform):
    """Turn the pixels of ``gt_seg_map`` whose confidence is below a threshold into
    ``ignore_index``.

    The confidence map is the one a generation run writes beside each semantic mask
    (``writer=dict(confidence=True)``); the sample's data info names it
    (``confidence_path``) and may carry the threshold (``min_pixel_confidence``), as
    :class:`~mmdatasetdm.datasets.SyntheticSegDataset` does with its
    ``min_pixel_confidence`` option, which also places this transform right after
    ``LoadAnnotations``. A sample without ``confidence_path`` (a real image in a mixed
    batch) passes unchanged.

    Args:
        min_confidence (float, optional): the threshold; default: the data info's
            ``min_pixel_confidence``.
        ignore_index (int): the label of ignored pixels.
    """

    def __init__(self, min_confidence=None, ignore_index: int = 255):
        if min_confidence is not None and not 0 <= min_confidence <= 1:
            raise ValueError(f'IgnoreUncertainPixels: min_confidence must lie in [0, 1], got '
                             f'{min_confidence}')
        self.min_confidence = min_confidence
        self.ignore_index = int(ignore_index)

    def transform(self, results: dict) -> dict:
        path = results.get('confidence_path')
        if path is None:
            return results
        if 'gt_seg_map' not in results:
            raise KeyError('IgnoreUncertainPixels needs gt_seg_map: put it right after '
                           'LoadAnnotations')
        threshold = self.min_confidence
        if threshold is None:
            threshold = results.get('min_pixel_confidence')
        if threshold is None:
            raise KeyError(f'IgnoreUncertainPixels: no threshold for {path} (min_confidence, or '
                           'min_pixel_confidence in the data info)')
        seg = results['gt_seg_map']
        confidence = read_confidence(path)
        if confidence.shape != seg.shape:
            raise ValueError(f'{path}: confidence map {confidence.shape} but the mask of '
                             f'{results.get("seg_map_path")} is {seg.shape}: put '
                             'IgnoreUncertainPixels before any resize or crop')
        # the map holds round(255 p): compare in the stored units, so that a threshold equal to
        # a stored value keeps it
        keep = confidence * 255 >= np.float32(threshold) * 255 - 1e-3
        results['gt_seg_map'] = np.where(keep, seg, self.ignore_index).astype(seg.dtype)
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(min_confidence={self.min_confidence}, '
                f'ignore_index={self.ignore_index})')
