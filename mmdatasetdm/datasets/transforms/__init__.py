from .confidence import IgnoreUncertainPixels
from .hide_classes import HideClasses
from .mosaic import InstanceMosaic
from .prompt import AddPrompt

__all__ = ['AddPrompt', 'HideClasses', 'IgnoreUncertainPixels', 'InstanceMosaic']
