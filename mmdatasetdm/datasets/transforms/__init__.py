from .mosaic import InstanceMosaic
from .prompt import AddPrompt

__all__ = ['AddPrompt', 'InstanceMosaic']
