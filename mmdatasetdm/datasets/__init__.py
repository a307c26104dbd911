"""Datasets of mmdatasetdm: generated (synthetic) sets for each toolbox, streamed ones (online
generation) with their sampler, few-shot subsets, class balance, and the ``AddPrompt``
transform.

The toolbox dataset classes are imported (and registered in
``mmdatasetdm.registry.DATASETS``) when their toolbox is installed.
"""
from importlib.util import find_spec

from .streaming import StreamingSyntheticDataset, StreamSampler

__all__ = ['StreamingSyntheticDataset', 'StreamSampler']

if find_spec('mmseg') is not None:
    from .synthetic_depth import SyntheticDepthDataset  # noqa: F401
    from .synthetic_seg import SyntheticSegDataset  # noqa: F401
    __all__ += ['SyntheticSegDataset', 'SyntheticDepthDataset']
if find_spec('mmdet') is not None:
    from .synthetic_instance import SyntheticInstanceDataset  # noqa: F401
    __all__ += ['SyntheticInstanceDataset']
if find_spec('mmpose') is not None:
    from .synthetic_pose import SyntheticPoseDataset  # noqa: F401
    __all__ += ['SyntheticPoseDataset']
