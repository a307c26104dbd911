"""OpenMMLab models of mmdatasetdm, registered in ``mmdatasetdm.registry.MODELS``."""
from .backbones import *  # noqa: F401,F403
