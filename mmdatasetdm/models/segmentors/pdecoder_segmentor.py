"""P-Decoder models of MMSegmentation: semantic segmentation and depth."""
from mmseg.models.segmentors import DepthEstimator, EncoderDecoder

from mmdatasetdm.registry import MODELS
from ..prompted import PromptedBackboneMixin


@MODELS.register_module()
class PDecoderSegmentor(PromptedBackboneMixin, EncoderDecoder):
    """mmseg's ``EncoderDecoder`` on a frozen ``DiffusionBackbone``, with one
    prompt per image (see :mod:`mmdatasetdm.models.prompted`).

    Everything else (decode head, losses, inference modes, metrics) is
    mmseg's. With a ``Mask2FormerHead`` whose pixel decoder is
    ``HypercolumnPixelDecoder`` this is DatasetDM's semantic P-Decoder.
    """

    task = 'semantic'


@MODELS.register_module()
class PDecoderDepthEstimator(PromptedBackboneMixin, DepthEstimator):
    """mmseg's ``DepthEstimator`` on a frozen ``DiffusionBackbone``."""

    task = 'depth'
