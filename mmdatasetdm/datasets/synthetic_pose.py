"""Generated keypoint data as an MMPose dataset."""
import copy
import os.path as osp
from typing import List, Optional, Sequence, Tuple

import numpy as np
from mmengine.fileio import get_local_path
from mmpose.datasets.datasets.base import BaseCocoStyleDataset
from xtcocotools.coco import COCO

from mmdatasetdm.fileio import KEYPOINTS_JSON
from mmdatasetdm.registry import DATASETS
from .synthetic import NamedLoadErrorsMixin, coco_image_of, resolve_metainfo, select_samples


def keypoint_order(generated: Sequence[str], real: Sequence[str], source: str
                   ) -> Optional[np.ndarray]:
    """How to reorder generated keypoints into the real dataset's order.

    Args:
        generated (Sequence[str]): keypoint names of the generated file.
        real (Sequence[str]): the real metainfo's keypoint names, by id.
        source (str): the generated file, named in errors.

    Returns:
        np.ndarray | None: ``order`` with ``real[k] == generated[order[k]]``,
        or None when the orders are equal.

    Raises:
        ValueError: the two name sets differ (names the file, the missing
            and extra names, and the fix).
    """
    generated, real = list(generated), list(real)
    if generated == real:
        return None
    if sorted(generated) != sorted(real) or len(set(generated)) != len(generated):
        missing = [n for n in real if n not in generated]
        extra = [n for n in generated if n not in real]
        raise ValueError(
            f'{source}: its {len(generated)} keypoints {generated} are not the real dataset\'s '
            f'{len(real)} keypoints (missing: {missing}, extra: {extra}); the P-Decoder was '
            'trained on another keypoint set: give this dataset the metainfo of that set and '
            'convert with mmpose\'s KeypointConverter in its pipeline, or generate with a '
            'P-Decoder trained on the real set')
    return np.array([generated.index(name) for name in real])


@DATASETS.register_module()
class SyntheticPoseDataset(NamedLoadErrorsMixin, BaseCocoStyleDataset):
    """Images and COCO keypoints (``keypoints.json``) written by ``tools/generate.py``.

    The dataset carries the real dataset's keypoint metainfo (names, flip
    pairs, sigmas, skeleton) exactly, given as ``metainfo`` or taken from the
    real dataset's type. The generated file's keypoints are matched to it by
    name: the same names in another order are reordered, any other
    difference (a missing or extra keypoint, a different skeleton) is an
    error. Mix with mmpose's ``CombinedDataset(metainfo=<the real
    metainfo>, datasets=[real, synthetic], sample_ratio_factor=[...])``.

    Only samples that ``manifest.jsonl`` lists as accepted are read.

    Args:
        data_root (str): the generated dataset folder.
        metainfo (dict, optional): the real dataset's metainfo, e.g.
            ``dict(from_file='configs/_base_/datasets/coco.py')``.
        metainfo_from (str, optional): instead of ``metainfo``, the registered
            mmpose type of the real dataset (e.g. ``'CocoDataset'``) whose
            ``METAINFO`` to take.
        ann_file (str): the COCO keypoints JSON, relative to ``data_root``.
            Defaults to ``'keypoints.json'``.
        classes_filter (Sequence[str], optional): keep samples whose prompt
            names one of these generator classes.
        min_score (float, optional): keep poses whose ``score`` (the mean
            keypoint confidence of the P-Decoder) reaches this.
        max_samples (int, optional): read at most this many samples (images,
            in index order).
        verify (bool): decode-check every image while loading.
        **kwargs: :class:`BaseCocoStyleDataset` arguments (``data_mode``,
            ``pipeline``, ``test_mode``...).
    """

    METAINFO = dict()

    def __init__(self, data_root: str, metainfo: Optional[dict] = None,
                 metainfo_from: Optional[str] = None, ann_file: str = KEYPOINTS_JSON,
                 classes_filter: Optional[Sequence[str]] = None, min_score: Optional[float] = None,
                 max_samples: Optional[int] = None, verify: bool = False, **kwargs) -> None:
        from mmpose.registry import DATASETS as POSE_DATASETS
        metainfo = resolve_metainfo(metainfo, metainfo_from, POSE_DATASETS, type(self).__name__)
        self.classes_filter = None if classes_filter is None else list(classes_filter)
        self.min_score = min_score
        self.max_samples = max_samples
        self.verify = verify
        if kwargs.get('bbox_file'):
            raise ValueError(f'{type(self).__name__} reads generated poses; bbox_file is for '
                             'evaluating with detected boxes on a real set')
        kwargs.setdefault('data_prefix', dict(img='images/'))
        super().__init__(data_root=data_root, metainfo=metainfo, ann_file=ann_file, **kwargs)

    def _check_layout(self, category: dict) -> Optional[np.ndarray]:
        """Match the generated category's keypoints and skeleton to the metainfo."""
        meta = self._metainfo
        real = [meta['keypoint_id2name'][k] for k in range(meta['num_keypoints'])]
        names = category.get('keypoints')
        if not names:
            raise ValueError(f'{self.ann_file}: category {category.get("name")!r} lists no '
                             'keypoints; it was not written by a pose decoder run')
        order = keypoint_order(names, real, self.ann_file)
        if category.get('skeleton'):
            generated = {frozenset((names[a - 1], names[b - 1])) for a, b in category['skeleton']}
            expected = {frozenset((real[a], real[b])) for a, b in meta['skeleton_links']}
            if generated != expected:
                differ = sorted(tuple(sorted(link)) for link in generated ^ expected)
                raise ValueError(
                    f'{self.ann_file}: its skeleton differs from the real dataset\'s metainfo '
                    f'({meta.get("dataset_name")}) in the links {differ}: the P-Decoder was '
                    'trained with another keypoint metainfo (flip pairs and sigmas may differ '
                    'too); give this dataset the metainfo the P-Decoder was trained with')
        return order

    def load_data_list(self) -> List[dict]:
        """mmpose's data list, refusing one that its validity check emptied.

        Raises:
            ValueError: no generated pose has a labelled keypoint (mmpose's
                validity check drops poses without one), with the fix.
        """
        data_list = super().load_data_list()
        if not data_list:
            raise ValueError(f'{self.ann_file}: no generated pose has a labelled keypoint, and '
                             'mmpose keeps none without one; generate with a lower '
                             'filters.min_keypoint_score, or train the P-Decoder longer')
        return data_list

    def _load_annotations(self) -> Tuple[List[dict], List[dict]]:
        """Read the selected samples' images and poses.

        Returns:
            tuple[list[dict], list[dict]]: the instances (mmpose's parsed
            annotations, plus the sample's ``prompt``) and the images.
        """
        lines = select_samples(self.data_root, self.classes_filter, max_samples=self.max_samples,
                               verify=self.verify, filters='classes_filter/max_samples')
        with get_local_path(self.ann_file) as local_path:
            self.coco = COCO(local_path)
        categories = [c for c in self.coco.dataset.get('categories', []) if c.get('keypoints')]
        if len(categories) != 1:
            raise ValueError(f'{self.ann_file} has {len(categories)} keypoint categories; a '
                             'generated keypoints file has one (the posed class)')
        category = categories[0]
        order = self._check_layout(category)
        # as BaseCocoStyleDataset does: CocoMetric writes these when it has no ann_file
        self._metainfo['CLASSES'] = self.coco.loadCats(self.coco.getCatIds())
        instance_list, image_list = [], []
        for line in lines:
            img = dict(coco_image_of(line, self.coco.imgs, self.ann_file))
            img.update(img_id=img['id'], img_path=osp.join(self.data_root, line['files']['image']))
            image_list.append(img)
            for ann in self.coco.loadAnns(self.coco.getAnnIds(imgIds=img['id'])):
                if ann['category_id'] != category['id']:
                    continue
                if self.min_score is not None and ann.get('score', -1.0) < self.min_score:
                    continue
                ann = copy.deepcopy(ann)
                if order is not None:
                    ann['keypoints'] = np.reshape(ann['keypoints'], (-1, 3))[order].reshape(
                        -1).tolist()
                info = self.parse_data_info(dict(raw_ann_info=ann, raw_img_info=img))
                if info:
                    info['prompt'] = line['prompt']
                    instance_list.append(info)
        if not instance_list:
            raise ValueError(f'{self.ann_file}: no pose of the {len(lines)} selected samples '
                             'passes the dataset\'s filters (min_score)')
        return instance_list, image_list
