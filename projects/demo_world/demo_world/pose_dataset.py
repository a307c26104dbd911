"""mmpose dataset reading a demo world's COCO keypoints JSON."""
from typing import Optional

from mmpose.datasets.datasets.base import BaseCocoStyleDataset

from mmdatasetdm.registry import DATASETS
from .layout import WorldLayout
from .metainfo import POSE_METAINFO


@DATASETS.register_module()
class DemoWorldPoseDataset(BaseCocoStyleDataset):
    """Person keypoints on a demo-world split (stock :class:`BaseCocoStyleDataset`).

    The metainfo (14 keypoints, skeleton, sigmas, flip pairs) is
    :data:`projects.demo_world.demo_world.POSE_METAINFO`.

    Args:
        split (str, optional): Split name; fills ``ann_file``
            (``annotations/keypoints_<split>.json``) and ``data_prefix``
            (``images/<split>/``) unless given.
        **kwargs: Other :class:`BaseCocoStyleDataset` arguments (``data_mode``, ...).
    """
    METAINFO = POSE_METAINFO

    def __init__(self, split: Optional[str] = None, **kwargs) -> None:
        if split is not None:
            kwargs.setdefault('ann_file', WorldLayout.rel_keypoints(split))
            kwargs.setdefault('data_prefix', dict(img=WorldLayout.rel_image_dir(split) + '/'))
        super().__init__(**kwargs)
