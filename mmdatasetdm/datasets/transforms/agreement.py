"""Ignore the generated labels that a trained segmentor's prediction contradicts."""
import numpy as np

from mmdatasetdm.fileio import read_semantic
from mmdatasetdm.registry import TRANSFORMS
from .ignore_pixels import IgnorePixelsByMap


@TRANSFORMS.register_module()
class IgnoreDisagreement(IgnorePixelsByMap):
    """Turn the pixels of ``gt_seg_map`` whose label differs from a segmentor's prediction
    into ``ignore_index``, except those labelled with one of the sample's kept classes.

    The prediction is the one ``tools/predict_synthetic.py`` wrote for the sample (data info
    ``agreement_path``, in the same class ids as the loaded mask); ``agreement_keep_ids``
    lists the ids to keep whatever the prediction says (:class:`~mmdatasetdm.datasets.
    SyntheticSegDataset` with ``agreement_keeps_prompted=True`` puts there the classes the
    sample's prompt named). A sample without ``agreement_path`` (a real image in a mixed
    batch) passes unchanged.

    Args:
        ignore_index (int): the label of ignored pixels.
    """

    path_key = 'agreement_path'
    what = 'prediction'

    def read(self, path: str) -> np.ndarray:
        return read_semantic(path)

    def keep(self, seg: np.ndarray, predicted: np.ndarray, results: dict) -> np.ndarray:
        return (seg == predicted) | np.isin(seg, results.get('agreement_keep_ids', ()))

    def __repr__(self) -> str:
        return f'{type(self).__name__}(ignore_index={self.ignore_index})'
