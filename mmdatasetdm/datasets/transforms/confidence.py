"""Ignore the pixels whose generated label is uncertain (a synthetic set's confidence map)."""
import numpy as np

from mmdatasetdm.fileio import read_confidence
from mmdatasetdm.registry import TRANSFORMS
from .ignore_pixels import IgnorePixelsByMap


@TRANSFORMS.register_module()
class IgnoreUncertainPixels(IgnorePixelsByMap):
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

    path_key = 'confidence_path'
    what = 'confidence map'

    def __init__(self, min_confidence=None, ignore_index: int = 255):
        if min_confidence is not None and not 0 <= min_confidence <= 1:
            raise ValueError(f'IgnoreUncertainPixels: min_confidence must lie in [0, 1], got '
                             f'{min_confidence}')
        super().__init__(ignore_index)
        self.min_confidence = min_confidence

    def read(self, path: str) -> np.ndarray:
        return read_confidence(path)

    def keep(self, seg: np.ndarray, confidence: np.ndarray, results: dict) -> np.ndarray:
        threshold = self.min_confidence
        if threshold is None:
            threshold = results.get('min_pixel_confidence')
        if threshold is None:
            raise KeyError(f'IgnoreUncertainPixels: no threshold for {results[self.path_key]} '
                           '(min_confidence, or min_pixel_confidence in the data info)')
        # the map holds round(255 p): compare in the stored units, so that a threshold equal to
        # a stored value keeps it
        return confidence * 255 >= np.float32(threshold) * 255 - 1e-3

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(min_confidence={self.min_confidence}, '
                f'ignore_index={self.ignore_index})')
