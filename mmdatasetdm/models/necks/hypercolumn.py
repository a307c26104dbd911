"""Hypercolumn fusion of diffusion features and cross-attention maps."""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.model import BaseModule
from torch import Tensor, nn

from mmdatasetdm.diffusion import FeaturePyramid
from mmdatasetdm.registry import MODELS


def word_attention(pyramid: FeaturePyramid, stride: int, words: Sequence[str],
                   normalize: bool = True) -> Tensor:
    """One attention map per word, averaged over the word's token positions.

    A word absent from a sample's prompt gives a zero map for that sample.

    Args:
        pyramid (FeaturePyramid): needs ``attention[stride]`` (B, T, h, w) and
            ``token_indices``.
        stride (int): which attention resolution.
        words (Sequence[str]): e.g. the dataset's class names.
        normalize (bool): divide each map by its spatial maximum, so that a
            word's map lies in [0, 1] whatever its share of the softmax.

    Returns:
        Tensor: shape (B, len(words), h, w).
    """
    maps = pyramid.attention[stride]
    batch, tokens = maps.shape[:2]
    weights = maps.new_zeros(batch, len(words), tokens)
    for b in range(batch):
        indices = pyramid.token_indices[b] if pyramid.token_indices else {}
        for k, word in enumerate(words):
            positions = indices.get(word, [])
            if positions:
                weights[b, k, positions] = 1.0 / len(positions)
    out = torch.einsum('bkt,bthw->bkhw', weights, maps)
    if normalize:
        out = out / out.flatten(2).amax(-1).clamp_min(1e-6)[..., None, None]
    return out


@MODELS.register_module()
class HypercolumnNeck(BaseModule):
    """Fuse a :class:`FeaturePyramid` into maps at chosen strides.

    For each output stride, every input (each UNet level, and the attention
    maps of each attention stride) is projected by its own 1x1 convolution,
    resized (bilinear) to the output size and summed; a 3x3 conv with norm and
    activation follows. Because resizing and 1x1 convolutions are linear, the
    sum equals a 1x1 convolution of the concatenated, resized "hypercolumn",
    without ever materialising the concatenation.

    Args:
        in_channels (Sequence[int]): channels of the pyramid levels, finest first
            (``DiffusionBackbone.out_channels``).
        in_strides (Sequence[int]): their strides (``DiffusionBackbone.out_strides``).
            A P-Decoder model fills both from its backbone when the config
            leaves them out (:mod:`mmdatasetdm.models.input_shape`), and the
            attention ``strides`` / ``num_tokens`` likewise.
        out_channels (int): channels of every output map.
        out_strides (Sequence[int]): strides of the outputs, finest first.
        attention (dict, optional): how cross-attention maps are used; None to
            ignore them. Keys: ``strides`` (attention strides to read),
            ``tokens`` (``'all'``: the T token maps as channels; ``'words'``:
            one map per entry of ``words``, see :func:`word_attention`),
            ``num_tokens`` (T, for ``'all'``; 77 for CLIP), ``words``,
            ``normalize``.
        norm_cfg (dict): norm layer of the output convs.
        act_cfg (dict): activation of the output convs.
        init_cfg (dict, optional): mmengine init config.
    """

    def __init__(self, in_channels: Sequence[int], in_strides: Sequence[int], out_channels: int,
                 out_strides: Sequence[int] = (4, 8, 16, 32), attention: Optional[dict] = None,
                 norm_cfg: dict = dict(type='GN', num_groups=32),
                 act_cfg: dict = dict(type='ReLU'), init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if len(in_channels) != len(in_strides):
            raise ValueError(f'in_channels {list(in_channels)} and in_strides {list(in_strides)} '
                             'must have the same length')
        self.in_strides = list(in_strides)
        self.out_strides = list(out_strides)
        self.out_channels = out_channels
        self.attention = dict(attention) if attention else None
        attention_channels: Dict[int, int] = {}
        if self.attention:
            mode = self.attention.setdefault('tokens', 'all')
            if mode == 'all':
                num = self.attention.setdefault('num_tokens', 77)
            elif mode == 'words':
                if not self.attention.get('words'):
                    raise ValueError(
                        "attention=dict(tokens='words') needs a non-empty `words` list")
                self.attention['words'] = list(self.attention['words'])
                num = len(self.attention['words'])
            else:
                raise ValueError(f"attention tokens must be 'all' or 'words', got {mode!r}")
            self.attention.setdefault('normalize', mode == 'words')
            attention_channels = {int(s): num for s in self.attention.get('strides', ())}
            if not attention_channels:
                raise ValueError('attention needs `strides` (e.g. (8, 16, 32))')
        self.attention_strides = sorted(attention_channels)

        # projections[o][i]: input i (levels, then attention strides) -> output o
        inputs = list(in_channels) + [attention_channels[s] for s in self.attention_strides]
        self.projections = nn.ModuleList(
            nn.ModuleList(
                nn.Conv2d(c, out_channels, 1, bias=(i == 0)) for i, c in enumerate(inputs))
            for _ in self.out_strides)
        self.output_convs = nn.ModuleList(
            ConvModule(out_channels, out_channels, 3, padding=1, norm_cfg=norm_cfg, act_cfg=act_cfg)
            for _ in self.out_strides)

    def _inputs(self, pyramid: FeaturePyramid) -> List[Tensor]:
        if pyramid.strides != self.in_strides:
            raise ValueError(f'pyramid strides {pyramid.strides} differ from the configured '
                             f'in_strides {self.in_strides}')
        inputs = [level.features for level in pyramid.levels]
        for stride in self.attention_strides:
            if stride not in pyramid.attention:
                raise KeyError(f'the pyramid has no attention maps at stride {stride} '
                               f'(has {sorted(pyramid.attention)}); check the backbone capture')
            if self.attention['tokens'] == 'words':
                maps = word_attention(pyramid, stride, self.attention['words'],
                                      self.attention['normalize'])
            else:
                maps = pyramid.attention[stride]
                if self.attention['normalize']:
                    maps = maps / maps.flatten(2).amax(-1).clamp_min(1e-6)[..., None, None]
            inputs.append(maps)
        return inputs

    def forward(self, pyramid: FeaturePyramid) -> Tuple[Tensor, ...]:
        """Fuse.

        Args:
            pyramid (FeaturePyramid): the backbone output.

        Returns:
            tuple[Tensor]: one map per output stride, finest first, each of
            shape (B, out_channels, ceil(H / s), ceil(W / s)).
        """
        inputs = self._inputs(pyramid)
        first = pyramid.levels[0]
        height = first.features.shape[-2] * first.stride
        width = first.features.shape[-1] * first.stride
        outs = []
        for stride, projections, conv in zip(self.out_strides, self.projections, self.output_convs):
            size = (-(-height // stride), -(-width // stride))
            fused = 0
            for x, proj in zip(inputs, projections):
                y = proj(x)
                if tuple(y.shape[-2:]) != size:
                    y = F.interpolate(y, size=size, mode='bilinear', align_corners=False)
                fused = fused + y
            outs.append(conv(fused))
        return tuple(outs)
