"""Generated instance segmentation data as an MMDetection dataset."""
import copy
import os.path as osp
from collections import defaultdict
from typing import List, Mapping, Optional, Sequence

from mmdet.datasets import CocoDataset
from mmengine.fileio import get_local_path

from mmdatasetdm.fileio import IGNORE_INDEX, INSTANCES_JSON
from mmdatasetdm.registry import DATASETS
from .synthetic import (NamedLoadErrorsMixin, class_id_map, coco_image_of, resolve_metainfo,
                        select_samples)


@DATASETS.register_module()
class SyntheticInstanceDataset(NamedLoadErrorsMixin, CocoDataset):
    """Images and COCO instances (``instances.json``) written by ``tools/generate.py``.

    The generator writes its own category ids; they are mapped onto the real
    dataset's classes *by category name*, so labels mean what they mean in the
    real set and the metainfo is exactly the real set's (it mixes with it in
    ``ConcatDataset``, ``RepeatDataset`` and the stock transforms unchanged).
    Unlike :class:`CocoDataset`, which silently skips annotations of
    categories outside ``classes``, a category the real set lacks is an error
    unless it is mapped (``class_map``) or dropped (``drop_classes``).

    Only samples that ``manifest.jsonl`` lists as accepted are read. Dropped
    classes and annotations scored below ``min_score`` are removed; images
    left without instances go through mmdet's usual ``filter_cfg``
    (``filter_empty_gt``).

    Args:
        data_root (str): the generated dataset folder.
        metainfo (dict, optional): the real dataset's metainfo (``classes``,
            ``palette``).
        metainfo_from (str, optional): instead of ``metainfo``, the registered
            mmdet type of the real dataset (e.g. ``'CocoDataset'``) whose
            ``METAINFO`` to take.
        ann_file (str): the COCO JSON, relative to ``data_root``.
            Defaults to ``'instances.json'``.
        class_map (Mapping[str, str], optional): generator category name ->
            real class name, for names that differ.
        drop_classes (Sequence[str]): generator categories whose instances
            are removed.
        classes_filter (Sequence[str], optional): keep samples whose prompt
            names one of these generator classes.
        min_score (float, optional): keep annotations whose ``score`` (the
            P-Decoder's confidence) reaches this.
        max_samples (int, optional): read at most this many samples (in index
            order).
        verify (bool): decode-check every image while loading (a clear error
            for a corrupt file; slower).
        **kwargs: :class:`CocoDataset` arguments (``pipeline``,
            ``filter_cfg``, ``test_mode``...).
    """

    METAINFO = dict()

    def __init__(self, data_root: str, metainfo: Optional[dict] = None,
                 metainfo_from: Optional[str] = None, ann_file: str = INSTANCES_JSON,
                 class_map: Optional[Mapping[str, str]] = None, drop_classes: Sequence[str] = (),
                 classes_filter: Optional[Sequence[str]] = None, min_score: Optional[float] = None,
                 max_samples: Optional[int] = None, verify: bool = False, **kwargs) -> None:
        from mmdet.registry import DATASETS as DET_DATASETS
        metainfo = resolve_metainfo(metainfo, metainfo_from, DET_DATASETS, type(self).__name__)
        if 'classes' not in metainfo:
            raise ValueError(f'{type(self).__name__}: the real metainfo names no classes')
        self.class_map = dict(class_map or {})
        self.drop_classes = list(drop_classes)
        self.classes_filter = None if classes_filter is None else list(classes_filter)
        self.min_score = min_score
        self.max_samples = max_samples
        self.verify = verify
        kwargs.setdefault('data_prefix', dict(img='images/'))
        super().__init__(data_root=data_root, metainfo=metainfo, ann_file=ann_file, **kwargs)

    def set_categories(self, categories: Sequence[Mapping], source: str) -> None:
        """Map the generator's COCO categories onto the real classes by name:
        ``cat2label`` (generator category id -> real label; dropped categories
        are left out) and ``cat_ids``.

        Args:
            categories (Sequence[Mapping]): the generator's ``categories``.
            source (str): the file or folder they come from (for errors).
        """
        if not categories:
            raise ValueError(f'{source} has no categories: it was not written by an instance '
                             'decoder run; regenerate it with tools/generate.py')
        mapping = class_id_map([c['name'] for c in categories], self.metainfo['classes'],
                               self.class_map, self.drop_classes, source=source,
                               kind='categories')
        self.cat2label = {cat['id']: mapping[k] for k, cat in enumerate(categories)
                          if mapping[k] != IGNORE_INDEX}
        self.cat_ids = list(self.cat2label)

    def load_data_list(self) -> List[dict]:
        """Read the selected samples' images and instances.

        Returns:
            list[dict]: mmdet data infos (``img_path``, ``img_id``, ``height``,
            ``width``, ``instances`` with ``bbox``, ``bbox_label``, ``mask``,
            ``ignore_flag``), plus the sample's ``prompt``.
        """
        lines = select_samples(self.data_root, self.classes_filter, max_samples=self.max_samples,
                               verify=self.verify, filters='classes_filter/max_samples')
        with get_local_path(self.ann_file, backend_args=self.backend_args) as local_path:
            coco = self.COCOAPI(local_path)
        categories = coco.dataset.get('categories') or []
        self.set_categories(categories, self.ann_file)
        known = {cat['id'] for cat in categories}
        cat_img_map = defaultdict(list)
        data_list = []
        for line in lines:
            img_info = dict(coco_image_of(line, coco.imgs, self.ann_file))
            img_info['img_id'] = img_info['id']
            anns = []
            for ann in coco.load_anns(coco.get_ann_ids(img_ids=[img_info['id']])):
                if ann['category_id'] not in known:
                    raise ValueError(
                        f'{self.ann_file}: annotation {ann.get("id")} of sample {line["index"]} '
                        f'has category_id {ann["category_id"]}, which is not one of its '
                        f'categories {sorted(known)}: the file is damaged or was edited')
                if ann['category_id'] not in self.cat2label:  # a dropped class
                    continue
                if self.min_score is not None and ann.get('score', -1.0) < self.min_score:
                    continue
                anns.append(copy.deepcopy(ann))
                cat_img_map[ann['category_id']].append(img_info['id'])
            info = self.parse_data_info(dict(raw_ann_info=anns, raw_img_info=img_info))
            info['img_path'] = osp.join(self.data_root, line['files']['image'])
            info['prompt'] = line['prompt']
            data_list.append(info)
        if not any(info['instances'] for info in data_list):
            raise ValueError(f'{self.ann_file}: no annotation of the {len(lines)} selected '
                             'samples passes the dataset\'s filters (min_score/drop_classes)')
        # what CocoDataset.filter_data reads: images holding kept instances
        self.cat_img_map = {cat_id: cat_img_map.get(cat_id, []) for cat_id in self.cat_ids}
        return data_list
