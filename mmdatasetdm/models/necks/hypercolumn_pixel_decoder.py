"""The P-Decoder's pixel decoder for Mask2Former-style heads."""
from typing import List, Optional, Sequence, Tuple

from mmdet.models.layers import MSDeformAttnPixelDecoder
from torch import Tensor

from mmdatasetdm.compat import use_pytorch_deform_attn_without_cuda_ops
from mmdatasetdm.diffusion import FeaturePyramid
from mmdatasetdm.registry import MODELS
from .hypercolumn import HypercolumnNeck


@MODELS.register_module()
class HypercolumnPixelDecoder(MSDeformAttnPixelDecoder):
    """Hypercolumn fusion followed by mmdet's multi-scale deformable encoder.

    A drop-in ``pixel_decoder`` for mmdet's (and mmseg's) ``Mask2FormerHead``:
    it takes the :class:`FeaturePyramid` of ``DiffusionBackbone``, fuses UNet
    features and cross-attention maps into maps at ``fused_strides`` (default
    1/4, 1/8, 1/16, 1/32), and runs the stock ``MSDeformAttnPixelDecoder`` on
    them (falling back to mmcv's PyTorch deformable attention where the
    compiled kernel is missing), which returns the mask features (finest stride, 1/4) and the
    multi-scale memory of the ``num_outs`` coarsest strides (1/32, 1/16, 1/8)
    for the transformer decoder.

    Args:
        in_channels (Sequence[int]): backbone level channels, finest first (the
            head fills this in from its own ``in_channels``).
        strides (Sequence[int]): backbone level strides, finest first (a
            P-Decoder model fills it from its backbone when the config leaves
            it out; see :mod:`mmdatasetdm.models.input_shape`).
        feat_channels (int): channels of the fused maps and of the encoder.
        out_channels (int): channels of the mask features.
        fused_strides (Sequence[int]): strides the hypercolumn produces.
        attention (dict, optional): see :class:`HypercolumnNeck`.
        num_outs (int): how many (coarsest) levels the deformable encoder uses.
        norm_cfg, act_cfg, encoder, positional_encoding, init_cfg: as for
            ``mmdet.MSDeformAttnPixelDecoder``.
    """

    def __init__(self, in_channels: Sequence[int], strides: Sequence[int], feat_channels: int = 256,
                 out_channels: int = 256, fused_strides: Sequence[int] = (4, 8, 16, 32),
                 attention: Optional[dict] = None, num_outs: int = 3,
                 norm_cfg: dict = dict(type='GN', num_groups=32), act_cfg: dict = dict(type='ReLU'),
                 encoder: Optional[dict] = None,
                 positional_encoding: dict = dict(num_feats=128, normalize=True),
                 init_cfg: Optional[dict] = None):
        super().__init__(in_channels=[feat_channels] * len(fused_strides),
                         strides=list(fused_strides), feat_channels=feat_channels,
                         out_channels=out_channels, num_outs=num_outs, norm_cfg=norm_cfg,
                         act_cfg=act_cfg, encoder=encoder, positional_encoding=positional_encoding,
                         init_cfg=init_cfg)
        self.hypercolumn = HypercolumnNeck(
            in_channels=in_channels, in_strides=strides, out_channels=feat_channels,
            out_strides=fused_strides, attention=attention, norm_cfg=norm_cfg, act_cfg=act_cfg)
        # the encoder runs on GPUs even with a CPU-ops mmcv (mmcv's PyTorch path)
        use_pytorch_deform_attn_without_cuda_ops()

    def forward(self, pyramid: FeaturePyramid) -> Tuple[Tensor, List[Tensor]]:
        """Returns ``(mask_features, multi_scale_memory)`` like the stock decoder:
        mask features (B, out_channels, H/4, W/4) and memory maps from the
        coarsest to the finest of the encoder levels."""
        return super().forward(list(self.hypercolumn(pyramid)))
