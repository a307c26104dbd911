"""DatasetDM's instance P-Decoder as an MMDetection detector."""
from mmdet.models.detectors import Mask2Former

from mmdatasetdm.registry import MODELS
from ..prompted import PromptedBackboneMixin


@MODELS.register_module()
class PDecoderMask2Former(PromptedBackboneMixin, Mask2Former):
    """mmdet's ``Mask2Former`` on a frozen ``DiffusionBackbone``, with one
    prompt per image (see :mod:`mmdatasetdm.models.prompted`).

    With a ``Mask2FormerHead`` whose pixel decoder is
    ``HypercolumnPixelDecoder`` (``num_stuff_classes=0``) and a
    ``MaskFormerFusionHead`` with ``instance_on=True``, this is DatasetDM's
    instance P-Decoder with real class labels. Matching, losses and
    post-processing are mmdet's.
    """

    task = 'instance'
