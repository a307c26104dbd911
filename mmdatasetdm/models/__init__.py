"""OpenMMLab models of mmdatasetdm, registered in ``mmdatasetdm.registry.MODELS``."""
from .backbones import *  # noqa: F401,F403
from .decode_heads import *  # noqa: F401,F403
from .detectors import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .necks import *  # noqa: F401,F403
from .pose_estimators import *  # noqa: F401,F403
from .prompted import PromptedBackboneMixin, prompts_from_metas  # noqa: F401
from .segmentors import *  # noqa: F401,F403
