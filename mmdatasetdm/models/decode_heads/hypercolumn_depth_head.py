"""DatasetDM's depth P-Decoder head for mmseg's ``DepthEstimator``."""
from typing import List, Sequence, Tuple, Union

import torch
from mmcv.cnn import ConvModule
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from mmseg.models.utils import resize
from torch import Tensor, nn

from mmdatasetdm.registry import MODELS


@MODELS.register_module()
class HypercolumnDepthHead(BaseDecodeHead):
    """Dense depth from the fused maps of a ``HypercolumnNeck``.

    The selected maps (``in_index``, finest first) are resized to the finest
    one and concatenated (mmseg's ``input_transform='resize_concat'``), refined
    by ``num_convs`` 3x3 conv-norm-act layers and mapped to one channel;
    ``sigmoid(x) * max_depth`` bounds the depth to ``(0, max_depth)`` metres.
    The loss (default mmseg's ``SiLogLoss``) compares the prediction, resized
    bilinearly to the ground truth, on pixels with valid (> 0) depth.

    Why not mmseg's ``VPDDepthHead``: it expects the raw SD-UNet levels
    (strides 8-64, channels 320/640/1280/1280) and aggregates them at 1/32,
    where the hypercolumn already provides fused maps at 1/4; this head reads
    those directly.

    Args:
        in_channels (int | Sequence[int]): channels of the selected maps.
        channels (int): channels of the refinement convs.
        max_depth (float): the largest depth the head can output, in metres.
        num_convs (int): number of 3x3 refinement convs (>= 1).
        in_index (int | Sequence[int]): which neck outputs to use.
        input_transform (str, optional): ``'resize_concat'`` for several
            inputs, None for one.
        loss_decode (dict | Sequence[dict]): depth loss config(s).
        kwargs: the rest of ``BaseDecodeHead``'s arguments (``norm_cfg``,
            ``act_cfg``, ``align_corners``, ``init_cfg``, ...).
    """

    def __init__(self, in_channels: Union[int, Sequence[int]], channels: int,
                 max_depth: float = 10.0, num_convs: int = 2,
                 in_index: Union[int, Sequence[int]] = (0, 1, 2, 3),
                 input_transform: str = 'resize_concat',
                 loss_decode: Union[dict, Sequence[dict]] = dict(type='mmseg.SiLogLoss'),
                 **kwargs):
        if not max_depth > 0:
            raise ValueError(f'max_depth must be > 0, got {max_depth}')
        if num_convs < 1:
            raise ValueError(f'num_convs must be >= 1, got {num_convs}')
        kwargs.setdefault('dropout_ratio', 0.0)
        super().__init__(in_channels, channels, num_classes=1, out_channels=1,
                         threshold=0.5, in_index=in_index, input_transform=input_transform,
                         loss_decode=loss_decode, **kwargs)
        self.max_depth = float(max_depth)
        self.convs = nn.Sequential(*[
            ConvModule(self.in_channels if i == 0 else channels, channels, 3, padding=1,
                       conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)
            for i in range(num_convs)])

    def forward(self, inputs: Tuple[Tensor, ...]) -> Tensor:
        """Depth at the finest input stride.

        Args:
            inputs (tuple[Tensor]): the neck's maps, finest first, each
                (B, C_i, H / s_i, W / s_i).

        Returns:
            Tensor: depth in metres, shape (B, 1, H / s_0, W / s_0).
        """
        x = self.convs(self._transform_inputs(inputs))
        return torch.sigmoid(self.cls_seg(x)) * self.max_depth

    def loss_by_feat(self, pred_depth_map: Tensor, batch_data_samples: List) -> dict:
        """Depth losses against ``gt_depth_map`` of the samples.

        Args:
            pred_depth_map (Tensor): shape (B, 1, h, w), from :meth:`forward`.
            batch_data_samples (list[SegDataSample]): with ``gt_depth_map``.

        Returns:
            dict[str, Tensor]: one entry per loss name.
        """
        missing = [i for i, s in enumerate(batch_data_samples) if 'gt_depth_map' not in s]
        if missing:
            raise KeyError(f'samples {missing} have no gt_depth_map: load it with '
                           'LoadDepthAnnotation in the training pipeline')
        gt = torch.stack([s.gt_depth_map.data for s in batch_data_samples]).to(pred_depth_map)
        pred = resize(pred_depth_map, size=gt.shape[2:], mode='bilinear',
                      align_corners=self.align_corners)
        losses = {}
        for loss_decode in (self.loss_decode if isinstance(self.loss_decode, nn.ModuleList)
                            else [self.loss_decode]):
            value = loss_decode(pred, gt)
            name = loss_decode.loss_name
            losses[name] = losses[name] + value if name in losses else value
        return losses
