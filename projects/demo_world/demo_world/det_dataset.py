"""mmdet dataset reading a demo world's COCO instances JSON."""
from typing import Optional

from mmdet.datasets import CocoDataset

from mmdatasetdm.registry import DATASETS
from .layout import WorldLayout
from .metainfo import DET_METAINFO


@DATASETS.register_module()
class DemoWorldDetDataset(CocoDataset):
    """Detection / instance segmentation on a demo-world split (stock :class:`CocoDataset`).

    Args:
        split (str, optional): Split name; fills ``ann_file``
            (``annotations/instances_<split>.json``) and ``data_prefix``
            (``images/<split>/``) unless given.
        **kwargs: Other :class:`CocoDataset` arguments.
    """
    METAINFO = dict(classes=DET_METAINFO['classes'], palette=DET_METAINFO['palette'])

    def __init__(self, split: Optional[str] = None, **kwargs) -> None:
        if split is not None:
            kwargs.setdefault('ann_file', WorldLayout.rel_instances(split))
            kwargs.setdefault('data_prefix', dict(img=WorldLayout.rel_image_dir(split) + '/'))
        super().__init__(**kwargs)
