"""The base of the transforms that ignore pixels of a loaded mask by a per-sample map."""
import numpy as np
from mmcv.transforms import BaseTransform


class IgnorePixelsByMap(BaseTransform):
    """Turn pixels of ``gt_seg_map`` into ``ignore_index`` where a per-sample map, read from
    the file the data info names under :attr:`path_key`, says so (:meth:`keep`).

    A sample without that file (a real image in a mixed batch) passes unchanged. The map must
    have the mask's shape, so the transform goes right after ``LoadAnnotations``, before any
    resize or crop.

    Args:
        ignore_index (int): the label of ignored pixels.
    """

    path_key = ''  # the data info key of the map's file
    what = 'map'  # what the map is, in errors

    def __init__(self, ignore_index: int = 255):
        self.ignore_index = int(ignore_index)

    def read(self, path: str) -> np.ndarray:
        """The map of ``path``."""
        raise NotImplementedError

    def keep(self, seg: np.ndarray, mapped: np.ndarray, results: dict) -> np.ndarray:
        """Which pixels of ``seg`` keep their label, given the sample's map."""
        raise NotImplementedError

    def transform(self, results: dict) -> dict:
        path = results.get(self.path_key)
        if path is None:
            return results
        name = type(self).__name__
        if 'gt_seg_map' not in results:
            raise KeyError(f'{name} needs gt_seg_map: put it right after LoadAnnotations')
        seg = results['gt_seg_map']
        mapped = self.read(path)
        if mapped.shape != seg.shape:
            raise ValueError(f'{path}: {self.what} {mapped.shape} but the mask of '
                             f'{results.get("seg_map_path")} is {seg.shape}: put {name} '
                             'before any resize or crop')
        keep = self.keep(seg, mapped, results)
        results['gt_seg_map'] = np.where(keep, seg, self.ignore_index).astype(seg.dtype)
        return results
