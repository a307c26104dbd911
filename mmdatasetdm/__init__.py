"""mmdatasetdm: DatasetDM for MMSegmentation, MMDetection and MMPose.

Importing the package applies the compatibility shims of :mod:`mmdatasetdm.compat`.
Modules register themselves lazily through :mod:`mmdatasetdm.registry`
(``type='mmdatasetdm.X'`` in any config).
"""
from . import compat
from .version import __version__

compat.apply()

__all__ = ['__version__']
