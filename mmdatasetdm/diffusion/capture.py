"""Observe a diffusers UNet: up-block features and cross-attention maps.

Everything goes through diffusers' public API: an attention processor that
wraps (and delegates to) whatever processor each layer already had, and
PyTorch module hooks. Nothing is monkey-patched and the UNet's outputs are
computed by the original processors, so capture never changes sampling.

Only what a perception decoder consumes is stored:

* the output of every up block before its upsampler (SD-1.x at 512x512:
  8x8x1280, 16x16x1280, 32x32x640, 64x64x320),
* cross-attention probabilities of the conditional batch, averaged over heads
  and over the layers of one resolution, at chosen strides only.

Self-attention maps are never computed or stored.
"""
import math
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple

import torch
from torch import Tensor, nn

from .pyramid import FeatureLevel


@dataclass
class CaptureConfig:
    """What to capture.

    Args:
        feature_blocks (Sequence[int], optional): indices of the UNet up blocks
            whose features are read. None: all of them.
        attention_strides (Sequence[int], optional): image strides at which
            cross-attention maps are kept (e.g. ``(8, 16, 32)``). None: every
            stride that has cross-attention; ``()``: none.
        attention_parts (Sequence[str]): which parts of the UNet contribute
            attention maps: any of ``'down'``, ``'mid'``, ``'up'``.
        vae_scale_factor (int): image pixels per latent pixel (8 for SD).
    """

    feature_blocks: Optional[Sequence[int]] = None
    attention_strides: Optional[Sequence[int]] = None
    attention_parts: Sequence[str] = ('down', 'mid', 'up')
    vae_scale_factor: int = 8


def unet_feature_info(unet_config: Mapping, config: CaptureConfig) -> List[dict]:
    """The feature levels a capture reads from a UNet of this config.

    Args:
        unet_config (Mapping): a ``UNet2DConditionModel`` config (``unet.config``
            or the ``unet/config.json`` of a diffusers folder).
        config (CaptureConfig): what is captured.

    Returns:
        list[dict]: one ``dict(name, stride, channels)`` per level, finest first.
    """
    block_out_channels = list(unet_config['block_out_channels'])
    num = len(block_out_channels)
    channels = list(reversed(block_out_channels))
    blocks = range(num) if config.feature_blocks is None else config.feature_blocks
    for index in blocks:
        if not 0 <= index < num:
            raise ValueError(f'capture feature_blocks {list(blocks)} name up block {index}, but '
                             f'the UNet has {num} up blocks')
    info = [dict(name=f'up_blocks.{i}', stride=config.vae_scale_factor * 2**(num - 1 - i),
                 channels=channels[i]) for i in blocks]
    return sorted(info, key=lambda d: (d['stride'], d['name']))


def unet_attention_strides(unet_config: Mapping, config: CaptureConfig) -> List[int]:
    """The image strides at which a capture records cross-attention maps.

    Args:
        unet_config (Mapping): a ``UNet2DConditionModel`` config.
        config (CaptureConfig): what is captured.

    Returns:
        list[int]: sorted strides (those with cross-attention in the chosen
        parts, intersected with ``config.attention_strides`` when given).
    """
    num = len(unet_config['block_out_channels'])
    parts = config.attention_parts
    strides = set()
    for i, kind in enumerate(unet_config['down_block_types']):
        if 'down' in parts and 'CrossAttn' in kind:
            strides.add(2**i)
    for i, kind in enumerate(unet_config['up_block_types']):
        if 'up' in parts and 'CrossAttn' in kind:
            strides.add(2**(num - 1 - i))
    if 'mid' in parts and 'CrossAttn' in (unet_config.get('mid_block_type') or ''):
        strides.add(2**(num - 1))
    strides = {s * config.vae_scale_factor for s in strides}
    if config.attention_strides is not None:
        strides &= set(config.attention_strides)
    return sorted(strides)


class _CaptureState:
    """Mutable state shared by the hooks of one :class:`FeatureCapture`."""

    def __init__(self):
        self.active = False
        self.batch_slice: slice = slice(None)
        self.latent_size: Tuple[int, int] = (0, 0)
        self.features: Dict[str, Tensor] = {}
        self.attention_sum: Dict[int, Tensor] = {}
        self.attention_count: Dict[int, int] = {}
        self.timestep: Optional[int] = None

    def reset(self):
        self.features.clear()
        self.attention_sum.clear()
        self.attention_count.clear()
        self.timestep = None


class CrossAttentionRecorder:
    """Attention processor that records cross-attention probabilities.

    The output is computed by ``inner`` (the processor the layer had before),
    so numerics are exactly those of the unobserved model. When the capture is
    active and the layer is a cross-attention layer, the attention
    probabilities of the selected (conditional) batch rows are recomputed from
    ``to_q``/``to_k`` with diffusers' own ``Attention.get_attention_scores``,
    averaged over heads and accumulated per stride.

    Args:
        inner: the processor to delegate to.
        state (_CaptureState): the capture this processor reports to.
        record (bool): whether this layer's maps are wanted at all.
        vae_scale_factor (int): image pixels per latent pixel.
    """

    def __init__(self, inner, state: _CaptureState, record: bool, vae_scale_factor: int,
                 strides: Optional[Sequence[int]]):
        self.inner = inner
        self.state = state
        self.record = record
        self.vae_scale_factor = vae_scale_factor
        self.strides = None if strides is None else set(strides)

    def __call__(self, attn, hidden_states: Tensor, encoder_hidden_states: Optional[Tensor] = None,
                 attention_mask: Optional[Tensor] = None, temb: Optional[Tensor] = None, *args,
                 **kwargs) -> Tensor:
        if self.record and self.state.active and encoder_hidden_states is not None:
            self._record(attn, hidden_states, encoder_hidden_states, temb)
        return self.inner(attn, hidden_states, encoder_hidden_states, attention_mask, temb,
                          *args, **kwargs)

    @torch.no_grad()
    def _record(self, attn, hidden_states: Tensor, encoder_hidden_states: Tensor,
                temb: Optional[Tensor]):
        sel = self.state.batch_slice
        hidden_states = hidden_states[sel]
        encoder_hidden_states = encoder_hidden_states[sel]
        if attn.spatial_norm is not None:
            hidden_states = attn.spatial_norm(hidden_states,
                                              temb[sel] if temb is not None else None)
        if hidden_states.ndim == 4:
            b, c, h, w = hidden_states.shape
            hidden_states = hidden_states.view(b, c, h * w).transpose(1, 2)
        if attn.group_norm is not None:
            hidden_states = attn.group_norm(hidden_states.transpose(1, 2)).transpose(1, 2)
        if attn.norm_cross:
            encoder_hidden_states = attn.norm_encoder_hidden_states(encoder_hidden_states)
        batch, pixels, _ = hidden_states.shape
        stride, size = self._stride_of(pixels)
        if self.strides is not None and stride not in self.strides:
            return
        query = attn.to_q(hidden_states)
        key = attn.to_k(encoder_hidden_states)
        heads = attn.heads
        query = query.view(batch, -1, heads, query.shape[-1] // heads).transpose(1, 2)
        key = key.view(batch, -1, heads, key.shape[-1] // heads).transpose(1, 2)
        if attn.norm_q is not None:
            query = attn.norm_q(query)
        if attn.norm_k is not None:
            key = attn.norm_k(key)
        query = query.reshape(batch * heads, pixels, -1)
        key = key.reshape(batch * heads, key.shape[2], -1)
        probs = attn.get_attention_scores(query, key, None)  # (B*heads, HW, T)
        probs = probs.float().view(batch, heads, pixels, -1).mean(1)  # (B, HW, T)
        maps = probs.transpose(1, 2).reshape(batch, -1, *size)  # (B, T, h, w)
        acc = self.state.attention_sum
        acc[stride] = maps if stride not in acc else acc[stride] + maps
        self.state.attention_count[stride] = self.state.attention_count.get(stride, 0) + 1

    def _stride_of(self, pixels: int) -> Tuple[int, Tuple[int, int]]:
        """Find the down-sampling factor f with ceil(H/f) * ceil(W/f) == pixels."""
        height, width = self.state.latent_size
        factor = 1
        while factor <= max(height, width):
            h, w = math.ceil(height / factor), math.ceil(width / factor)
            if h * w == pixels:
                return factor * self.vae_scale_factor, (h, w)
            factor *= 2
        raise RuntimeError(f'cannot place an attention map of {pixels} pixels on a latent of '
                           f'size {height}x{width}')


def _timestep_value(timestep) -> int:
    if isinstance(timestep, Tensor):
        timestep = timestep.flatten()[0].item()
    return int(round(float(timestep)))


class FeatureCapture:
    """Attach to a UNet and capture features at one timestep.

    Use as a context manager (or call :meth:`attach` / :meth:`detach`). While
    attached, every UNet call whose timestep equals the armed timestep is
    observed; other calls pass through untouched.

    Example::

        capture = FeatureCapture(unet, CaptureConfig(attention_strides=(16, 32)))
        with capture:
            with capture.arm(timestep=1, batch_slice=slice(2, 4)):
                pipe(prompts, guidance_scale=7.5, ...)   # CFG: rows 2..3 are conditional
            levels, attention = capture.result()

    Args:
        unet: a diffusers ``UNet2DConditionModel``.
        config (CaptureConfig): what to capture.
    """

    def __init__(self, unet: nn.Module, config: Optional[CaptureConfig] = None):
        self.unet = unet
        self.config = config or CaptureConfig()
        self.state = _CaptureState()
        self._handles: List = []
        self._original_processors: Optional[dict] = None
        self._armed_timestep: Optional[int] = None
        self._callbacks: List[Callable[[], None]] = []

    # ------------------------------------------------------------------ attach
    def attach(self) -> 'FeatureCapture':
        if self._original_processors is not None:
            return self
        unet = self.unet
        self._original_processors = dict(unet.attn_processors)
        processors = {}
        for name, proc in self._original_processors.items():
            # 'down_blocks.0.attentions.0...', 'mid_block.attentions...', 'up_blocks...'
            part = name.split('.')[0].split('_')[0]
            record = part in self.config.attention_parts and self.config.attention_strides != ()
            processors[name] = CrossAttentionRecorder(
                proc, self.state, record, self.config.vae_scale_factor,
                self.config.attention_strides)
        unet.set_attn_processor(processors)

        self._handles.append(unet.register_forward_pre_hook(self._on_unet_call, with_kwargs=True))
        self._handles.append(unet.register_forward_hook(self._on_unet_return))
        blocks = range(len(unet.up_blocks)) if self.config.feature_blocks is None \
            else self.config.feature_blocks
        for index in blocks:
            block = unet.up_blocks[index]
            name = f'up_blocks.{index}'
            upsamplers = getattr(block, 'upsamplers', None)
            if upsamplers:
                self._handles.append(upsamplers[0].register_forward_pre_hook(
                    self._feature_pre_hook(name), with_kwargs=True))
            else:
                self._handles.append(block.register_forward_hook(self._feature_hook(name)))
        return self

    def detach(self):
        for handle in self._handles:
            handle.remove()
        self._handles.clear()
        if self._original_processors is not None:
            self.unet.set_attn_processor(self._original_processors)
            self._original_processors = None

    @property
    def attached(self) -> bool:
        """Whether the capture's processors and hooks are on the UNet."""
        return self._original_processors is not None

    def __enter__(self) -> 'FeatureCapture':
        return self.attach()

    def __exit__(self, *exc):
        self.detach()

    # ------------------------------------------------------------------- arm
    @contextmanager
    def arm(self, timestep: int, batch_slice: slice = slice(None)):
        """Capture the UNet call(s) at ``timestep`` inside this block.

        Args:
            timestep (int): the scheduler timestep value to observe.
            batch_slice (slice): rows of the UNet batch to keep (with
                classifier-free guidance the conditional half, e.g.
                ``slice(B, 2 * B)``).
        """
        if self._original_processors is None:
            raise RuntimeError('FeatureCapture.arm() needs an attached capture '
                               '(use it as a context manager or call attach())')
        self.state.reset()
        self.state.batch_slice = batch_slice
        self._armed_timestep = int(timestep)
        try:
            yield self
        finally:
            self._armed_timestep = None
            self.state.active = False

    def _on_unet_call(self, module, args, kwargs):
        sample = args[0] if args else kwargs['sample']
        timestep = args[1] if len(args) > 1 else kwargs['timestep']
        if self._armed_timestep is not None and _timestep_value(timestep) == self._armed_timestep:
            self.state.reset()
            self.state.active = True
            self.state.timestep = self._armed_timestep
            self.state.latent_size = tuple(sample.shape[-2:])
        return None

    def _on_unet_return(self, module, args, output):
        if self.state.active:
            self.state.active = False
            for callback in self._callbacks:
                callback()
        return None

    def add_done_callback(self, fn: Callable[[], None]):
        """Call ``fn()`` right after a captured UNet pass finished."""
        self._callbacks.append(fn)

    def _store_feature(self, name: str, hidden_states: Tensor):
        if self.state.active:
            self.state.features[name] = hidden_states[self.state.batch_slice].detach()

    def _feature_pre_hook(self, name: str):
        def hook(module, args, kwargs):
            self._store_feature(name, args[0] if args else kwargs['hidden_states'])
            return None
        return hook

    def _feature_hook(self, name: str):
        def hook(module, args, output):
            self._store_feature(name, output[0] if isinstance(output, tuple) else output)
            return None
        return hook

    # ------------------------------------------------------------ description
    def feature_info(self) -> List[dict]:
        """What :meth:`result` will return, known before any forward pass.

        Returns:
            list[dict]: one ``dict(name, stride, channels)`` per feature level,
            finest first (like timm's ``feature_info``).
        """
        return unet_feature_info(self.unet.config, self.config)

    def attention_strides(self) -> List[int]:
        """The strides :meth:`result` will hold attention maps for."""
        return unet_attention_strides(self.unet.config, self.config)

    # ---------------------------------------------------------------- result
    @property
    def captured(self) -> bool:
        return bool(self.state.features)

    def result(self) -> Tuple[List[FeatureLevel], Dict[int, Tensor]]:
        """The captured levels (finest first) and per-stride attention maps.

        Returns:
            tuple: (list[FeatureLevel], dict[int, Tensor]) where attention maps
            have shape (B, T, h, w).
        """
        if not self.state.features:
            raise RuntimeError('nothing was captured: the UNet was never called at the armed '
                               f'timestep {self._armed_timestep or self.state.timestep}')
        latent_h = self.state.latent_size[0]
        levels = []
        for name, feats in self.state.features.items():
            stride = self.config.vae_scale_factor * max(1, round(latent_h / feats.shape[-2]))
            levels.append(FeatureLevel(name=name, stride=stride, features=feats))
        levels.sort(key=lambda lv: (lv.stride, lv.name))
        attention = {s: self.state.attention_sum[s] / self.state.attention_count[s]
                     for s in sorted(self.state.attention_sum)}
        return levels, attention
