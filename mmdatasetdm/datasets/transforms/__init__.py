from .agreement import IgnoreDisagreement
from .confidence import IgnoreUncertainPixels
from .hide_classes import HideClasses
from .mosaic import InstanceMosaic
from .pick_person import PickPerson
from .prompt import AddPrompt

__all__ = ['AddPrompt', 'HideClasses', 'IgnoreDisagreement', 'IgnoreUncertainPixels',
           'InstanceMosaic', 'PickPerson']
