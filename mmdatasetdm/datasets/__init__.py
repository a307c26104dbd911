"""Datasets of mmdatasetdm.

:mod:`.demo_world` (the procedural demo world) needs only numpy/PIL/pycocotools.
The toolbox dataset classes that read it are imported (and registered in
``mmdatasetdm.registry.DATASETS``) when their toolbox is installed.
"""
from importlib.util import find_spec

from .demo_world import DEMO_WORLD_METAINFO, DET_METAINFO, POSE_METAINFO, SEG_METAINFO

__all__ = ['DEMO_WORLD_METAINFO', 'SEG_METAINFO', 'DET_METAINFO', 'POSE_METAINFO']

if find_spec('mmseg') is not None:
    from .demo_world_seg import DemoWorldDepthDataset, DemoWorldSegDataset  # noqa: F401
    from .synthetic_depth import SyntheticDepthDataset  # noqa: F401
    from .synthetic_seg import SyntheticSegDataset  # noqa: F401
    __all__ += ['DemoWorldSegDataset', 'DemoWorldDepthDataset', 'SyntheticSegDataset',
                'SyntheticDepthDataset']
if find_spec('mmdet') is not None:
    from .demo_world_det import DemoWorldDetDataset  # noqa: F401
    from .synthetic_instance import SyntheticInstanceDataset  # noqa: F401
    __all__ += ['DemoWorldDetDataset', 'SyntheticInstanceDataset']
if find_spec('mmpose') is not None:
    from .demo_world_pose import DemoWorldPoseDataset  # noqa: F401
    from .synthetic_pose import SyntheticPoseDataset  # noqa: F401
    __all__ += ['DemoWorldPoseDataset', 'SyntheticPoseDataset']
