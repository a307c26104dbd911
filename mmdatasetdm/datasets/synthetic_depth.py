"""Generated depth data as an MMSegmentation depth dataset (mmseg's NYU layout)."""
import os.path as osp
from typing import List, Optional, Sequence

from mmseg.datasets import NYUDataset

from mmdatasetdm.fileio import read_dataset_meta
from mmdatasetdm.registry import DATASETS
from .synthetic import NamedLoadErrorsMixin, resolve_metainfo, select_samples

DEPTH_MODES = ('I;16', 'I')


@DATASETS.register_module()
class SyntheticDepthDataset(NamedLoadErrorsMixin, NYUDataset):
    """Images and 16-bit depth PNGs written by ``tools/generate.py``.

    Data infos are what mmseg's ``NYUDataset`` delivers (``img_path``,
    ``depth_map_path``, ``seg_fields``, ``category_id``), so the stock
    ``LoadDepthAnnotation`` / ``PackSegInputs`` pipeline, ``DepthEstimator``
    and ``DepthMetric`` read them unchanged. The PNGs hold metres x
    ``depth_scale`` (``dataset.json``); ``LoadDepthAnnotation`` rescales with
    a fixed factor of its own, so the dataset checks that its pipeline's
    ``depth_rescale_factor`` is ``1 / depth_scale`` (a wrong factor would
    silently train on depths 1000x off). The metainfo is the real set's
    exactly (mmengine's ``ConcatDataset`` compares it); ``category_id`` is the
    index of the first prompted class that is one of the real ``classes``
    (NYU's scene types), else -1, as ``NYUDataset`` does for unknown names.

    Args:
        data_root (str): the generated dataset folder.
        metainfo (dict, optional): the real dataset's metainfo.
        metainfo_from (str, optional): instead of ``metainfo``, the registered
            mmseg type of the real dataset (e.g. ``'NYUDataset'``) whose
            ``METAINFO`` to take.
        classes_filter (Sequence[str], optional): keep samples whose prompt
            names one of these generator classes.
        min_score (float, optional): keep samples whose manifest score
            ``score_key`` reaches this.
        score_key (str): the manifest score ``min_score`` applies to.
            Defaults to ``'min_depth'`` (the generator records ``min_depth``
            and ``max_depth`` in metres).
        max_samples (int, optional): keep at most this many (in index order).
        verify (bool): decode-check every image and check that every depth
            PNG is 16-bit while loading (clear errors; slower).
        **kwargs: ``NYUDataset`` / ``BaseSegDataset`` arguments (``pipeline``,
            ``test_mode``...).
    """

    METAINFO = dict()

    def __init__(self, data_root: str, metainfo: Optional[dict] = None,
                 metainfo_from: Optional[str] = None,
                 classes_filter: Optional[Sequence[str]] = None, min_score: Optional[float] = None,
                 score_key: str = 'min_depth', max_samples: Optional[int] = None,
                 verify: bool = False, **kwargs) -> None:
        from mmseg.registry import DATASETS as SEG_DATASETS
        metainfo = resolve_metainfo(metainfo, metainfo_from, SEG_DATASETS, type(self).__name__)
        self.classes_filter = None if classes_filter is None else list(classes_filter)
        self.min_score = min_score
        self.score_key = score_key
        self.max_samples = max_samples
        self.verify = verify
        kwargs.setdefault('data_prefix', dict(img_path='', depth_map_path=''))
        kwargs.setdefault('img_suffix', '')
        kwargs.setdefault('depth_map_suffix', '')
        super().__init__(data_root=data_root, metainfo=metainfo, **kwargs)

    def _check_rescale_factor(self, depth_scale: float) -> None:
        """The pipeline's ``LoadDepthAnnotation`` must undo ``depth_scale``."""
        from mmseg.datasets.transforms import LoadDepthAnnotation
        for transform in getattr(self.pipeline, 'transforms', []):
            if not isinstance(transform, LoadDepthAnnotation):
                continue
            factor = transform.depth_rescale_factor
            if abs(factor * depth_scale - 1.0) > 1e-6:
                raise ValueError(
                    f'{osp.join(self.data_root, "dataset.json")} stores depth x {depth_scale:g} '
                    f'(depth_scale) but this dataset\'s LoadDepthAnnotation rescales by '
                    f'{factor:g}, which would give depths {factor * depth_scale:g} x the truth; '
                    f'set depth_rescale_factor={1.0 / depth_scale:g} in the synthetic set\'s '
                    'own pipeline')

    def load_data_list(self) -> List[dict]:
        """Read the selected samples' images and depth maps.

        Returns:
            list[dict]: mmseg depth data infos, plus ``prompt`` and
            ``depth_scale``.
        """
        meta = read_dataset_meta(self.data_root)
        lines = select_samples(self.data_root, self.classes_filter, self.min_score,
                               self.score_key, self.max_samples, verify=self.verify,
                               filters='classes_filter/min_score/max_samples')
        classes = list(self._metainfo.get('classes', ()))
        data_list = []
        for line in lines:
            files = line['files']
            if 'depth' not in files:
                raise ValueError(f'sample {line["index"]} of {self.data_root} has no depth map: '
                                 'the dataset was not generated by a depth decoder')
            scale = float(line.get('depth_scale', meta.get('depth_scale')))
            if scale != float(meta['depth_scale']):
                raise ValueError(f'{osp.join(self.data_root, "manifest.jsonl")}: sample '
                                 f'{line["index"]} has depth_scale {scale:g} but dataset.json '
                                 f'says {meta["depth_scale"]:g}; the folder mixes two runs')
            depth_path = osp.join(self.data_root, files['depth'])
            if self.verify:
                self._verify_depth(depth_path)
            category_id = next((classes.index(c) for c in line.get('classes', []) if c in classes),
                               -1)
            data_list.append(dict(
                img_path=osp.join(self.data_root, files['image']), depth_map_path=depth_path,
                seg_fields=[], category_id=category_id, prompt=line['prompt'],
                depth_scale=scale))
        self._check_rescale_factor(float(meta['depth_scale']))
        return data_list

    @staticmethod
    def _verify_depth(path: str) -> None:
        from PIL import Image
        with Image.open(path) as image:
            mode = image.mode
        if mode not in DEPTH_MODES:
            raise ValueError(f'{path} is not a 16-bit depth PNG (mode {mode}): an 8-bit depth map '
                             'loses the range; regenerate it with tools/generate.py (it writes '
                             '16-bit PNGs of metres x depth_scale)')
