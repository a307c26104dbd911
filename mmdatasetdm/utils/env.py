"""The versions of the libraries a result depends on."""
from importlib import metadata
from typing import Dict, Sequence

# the distributions whose code computes a generated set or a trained model
LIBRARIES = ('mmdatasetdm', 'torch', 'diffusers', 'transformers', 'mmengine', 'mmcv',
             'mmsegmentation', 'mmdet', 'mmpose', 'numpy', 'pillow')


def library_versions(names: Sequence[str] = LIBRARIES) -> Dict[str, str]:
    """Installed version of each distribution (``'not installed'`` when absent).

    Args:
        names (Sequence[str]): distribution names.

    Returns:
        dict[str, str]: name -> version, in the given order.
    """
    out = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = 'not installed'
    return out
