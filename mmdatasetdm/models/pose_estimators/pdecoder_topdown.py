"""DatasetDM's pose P-Decoder as an MMPose top-down estimator."""
from mmpose.models.pose_estimators import TopdownPoseEstimator

from mmdatasetdm.registry import MODELS
from ..prompted import PromptedBackboneMixin


@MODELS.register_module()
class PDecoderTopdown(PromptedBackboneMixin, TopdownPoseEstimator):
    """mmpose's ``TopdownPoseEstimator`` on a frozen ``DiffusionBackbone``,
    with one prompt per person crop (see :mod:`mmdatasetdm.models.prompted`).

    With a ``HypercolumnNeck`` that fuses the pyramid into one stride-4 map
    and mmpose's ``HeatmapHead`` (no deconvolutions, ``MSRAHeatmap`` codec,
    ``KeypointMSELoss``), this is DatasetDM's pose P-Decoder.
    """

    task = 'pose'
