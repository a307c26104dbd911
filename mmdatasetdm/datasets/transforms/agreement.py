"""Ignore the generated labels that a trained segmentor's prediction contradicts."""
import numpy as np
from mmcv.transforms import BaseTransform

from mmdatasetdm.fileio import read_semantic
from mmdatasetdm.registry import TRANSFORMS


@TRANSFORMS.register_module()
class IgnoreDisagreement(BaseTransform):
    """Turn the pixels of ``gt_seg_map`` whose label differs from a segmentor's prediction
    into ``ignore_index``, except those labelled with one of the sample's kept classes.

    The prediction is the one ``tools/predict_synthetic.py`` wrote for the sample (data info
    ``agreement_path``, in the same class ids as the loaded mask); ``agreement_keep_ids``
    lists the ids to keep whatever the prediction says: :class:`~mmdatasetdm.datasets.
    SyntheticSegDataset` puts there the classes the sample's prompt named, for which the
    prompt is evidence the segmentor lacks (its weak, rare classes). A sample without
    ``agreement_path`` (a real image in a mixed batch) passes unchanged.

    Args:
        ignore_index (int): the label of ignored pixels.
    """

    def __init__(self, ignore_index: int = 255):
        self.ignore_index = int(ignore_index)

    def transform(self, results: dict) -> dict:
        path = results.get('agreement_path')
        if path is None:
            return results
        if 'gt_seg_map' not in results:
            raise KeyError('IgnoreDisagreement needs gt_seg_map: put it right after '
                           'LoadAnnotations')
        seg = results['gt_seg_map']
        predicted = read_semantic(path)
        if predicted.shape != seg.shape:
            raise ValueError(f'{path}: prediction {predicted.shape} but the mask of '
                             f'{results.get("seg_map_path")} is {seg.shape}: put '
                             'IgnoreDisagreement before any resize or crop')
        keep = (seg == predicted) | np.isin(seg, results.get('agreement_keep_ids', ()))
        results['gt_seg_map'] = np.where(keep, seg, self.ignore_index).astype(seg.dtype)
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(ignore_index={self.ignore_index})'
