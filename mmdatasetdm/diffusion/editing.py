"""Prompt-to-Prompt editing through diffusers attention processors.

An edit samples the source prompt and the edited prompt side by side from the
same seed (one pipeline call, batch ``[source, edited]``). During the first
steps the edited image's attention probabilities are taken from the source's:
its cross-attention maps (through a token alignment, so a swapped word takes
the map of the word it replaces) for ``cross_steps`` of the schedule, its
self-attention maps for ``self_steps``. The layout is fixed in those steps, so
the edited image keeps the source's objects where they were, which is what
keeps labels decoded from it comparable with the source's (Hertz et al.,
Prompt-to-Prompt, 2022).

Everything goes through diffusers' public API (``set_attn_processor`` and a
UNet forward pre-hook that counts steps). Outside the injection window every
layer calls the processor it had before. A :class:`~.capture.FeatureCapture`
attached to the UNet stays the outermost processor, so features and
cross-attention maps are read during an edit as during plain sampling (each
row's own attention).
"""
import difflib
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

import torch
from torch import Tensor

from .capture import FeatureCapture
from .sampling import CaptureSampler, SampleBatch
from .text import tokenize


def token_alignment(tokenizer, source: str, target: str) -> Tuple[Tensor, Tensor]:
    """Which source tokens each target token's cross-attention map is taken from.

    Token ids (padded to the tokenizer's length) are aligned with
    :class:`difflib.SequenceMatcher`: equal runs map one to one; a replaced run
    maps each target token to the mean of the source run it replaces (a word
    swap); inserted target tokens keep their own maps.

    Args:
        tokenizer: a CLIP tokenizer.
        source (str): the source prompt.
        target (str): the edited prompt.

    Returns:
        tuple[Tensor, Tensor]: ``mapping`` (T, T), column j the weights of the
        source tokens for target token j, and ``mapped`` (T,) bool, whether
        target token j takes a source map.
    """
    src, tgt = (tokenize(tokenizer, [p])[0].tolist() for p in (source, target))
    length = len(tgt)
    mapping = torch.zeros(len(src), length)
    mapped = torch.zeros(length, dtype=torch.bool)
    matcher = difflib.SequenceMatcher(a=src, b=tgt, autojunk=False)
    for tag, i0, i1, j0, j1 in matcher.get_opcodes():
        if tag == 'equal':
            for k in range(i1 - i0):
                mapping[i0 + k, j0 + k] = 1.0
            mapped[j0:j1] = True
        elif tag == 'replace':
            mapping[i0:i1, j0:j1] = 1.0 / (i1 - i0)
            mapped[j0:j1] = True
    return mapping, mapped


@dataclass
class InjectionWindow:
    """How long the edited image copies the source's attention.

    Args:
        cross_steps (float): fraction of the sampling steps (from the first,
            noisiest one) in which cross-attention maps are injected.
        self_steps (float): the same for self-attention maps.
    """

    cross_steps: float = 0.8
    self_steps: float = 0.4

    def __post_init__(self):
        for name in ('cross_steps', 'self_steps'):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f'{name} must be a fraction of the steps in [0, 1], got {value}')


class AttentionInjection:
    """The state one edit's processors share: the step, the window, the alignment.

    Args:
        num_steps (int): sampling steps of the edit (UNet calls).
        window (InjectionWindow): injection fractions.
        mapping (Tensor), mapped (Tensor): :func:`token_alignment`'s result.
    """

    def __init__(self, num_steps: int, window: InjectionWindow, mapping: Tensor, mapped: Tensor):
        self.num_steps = int(num_steps)
        self.window = window
        self.mapping = mapping
        self.mapped = mapped
        self.step = -1

    def on_unet_call(self, module, args, kwargs):
        self.step += 1
        return None

    def active(self, cross: bool) -> bool:
        fraction = self.window.cross_steps if cross else self.window.self_steps
        return 0 <= self.step < round(fraction * self.num_steps)


class PromptToPromptProcessor:
    """Attention processor that gives the edited rows the source rows' attention.

    The UNet batch holds pairs ``[source, edited]`` (with classifier-free
    guidance ``[uncond source, uncond edited, source, edited]``). Inside the
    injection window the attention is computed explicitly (scores from
    diffusers' ``Attention.get_attention_scores``) and the odd rows' probabilities
    are replaced; outside it the layer's previous processor runs.

    Args:
        inner: the processor the layer had before.
        injection (AttentionInjection): the edit's shared state.
    """

    def __init__(self, inner, injection: AttentionInjection):
        self.inner = inner
        self.injection = injection

    def __call__(self, attn, hidden_states: Tensor, encoder_hidden_states: Optional[Tensor] = None,
                 attention_mask: Optional[Tensor] = None, temb: Optional[Tensor] = None, *args,
                 **kwargs) -> Tensor:
        cross = encoder_hidden_states is not None
        if not self.injection.active(cross) or hidden_states.shape[0] % 2:
            return self.inner(attn, hidden_states, encoder_hidden_states, attention_mask, temb,
                              *args, **kwargs)
        residual = hidden_states
        if attn.spatial_norm is not None:
            hidden_states = attn.spatial_norm(hidden_states, temb)
        ndim = hidden_states.ndim
        if ndim == 4:
            b, c, h, w = hidden_states.shape
            hidden_states = hidden_states.view(b, c, h * w).transpose(1, 2)
        batch, length, _ = (hidden_states if encoder_hidden_states is None
                            else encoder_hidden_states).shape
        attention_mask = attn.prepare_attention_mask(attention_mask, length, batch)
        if attn.group_norm is not None:
            hidden_states = attn.group_norm(hidden_states.transpose(1, 2)).transpose(1, 2)
        query = attn.to_q(hidden_states)
        if encoder_hidden_states is None:
            encoder_hidden_states = hidden_states
        elif attn.norm_cross:
            encoder_hidden_states = attn.norm_encoder_hidden_states(encoder_hidden_states)
        key = attn.head_to_batch_dim(attn.to_k(encoder_hidden_states))
        value = attn.head_to_batch_dim(attn.to_v(encoder_hidden_states))
        query = attn.head_to_batch_dim(query)
        probs = attn.get_attention_scores(query, key, attention_mask)  # (B*heads, Q, K)
        probs = self._inject(probs, batch, cross)
        out = attn.batch_to_head_dim(torch.bmm(probs, value))
        out = attn.to_out[1](attn.to_out[0](out))
        if ndim == 4:
            out = out.transpose(-1, -2).reshape(b, c, h, w)
        if attn.residual_connection:
            out = out + residual
        return out / attn.rescale_output_factor

    def _inject(self, probs: Tensor, batch: int, cross: bool) -> Tensor:
        pairs = probs.view(batch // 2, 2, -1, *probs.shape[1:])  # (pairs, 2, heads, Q, K)
        source, edited = pairs[:, 0], pairs[:, 1]
        if cross:
            mapping = self.injection.mapping.to(probs)
            mapped = self.injection.mapped.to(probs.device)
            edited = torch.where(mapped, source @ mapping, edited)
        else:
            edited = source
        return torch.stack([source, edited], dim=1).view_as(probs)


@contextmanager
def prompt_to_prompt(unet, injection: AttentionInjection,
                     capture: Optional[FeatureCapture] = None):
    """Install :class:`PromptToPromptProcessor` on every attention layer of ``unet``.

    The previous processors and hooks come back on exit. An attached ``capture``
    is detached first and re-attached around the new processors, so it keeps
    recording each row's own features and attention.
    """
    reattach = capture is not None and capture.attached
    if reattach:
        capture.detach()
    previous = dict(unet.attn_processors)
    unet.set_attn_processor(
        {name: PromptToPromptProcessor(proc, injection) for name, proc in previous.items()})
    handle = unet.register_forward_pre_hook(injection.on_unet_call, with_kwargs=True)
    try:
        if reattach:
            capture.attach()
        yield injection
    finally:
        if reattach:
            capture.detach()
        handle.remove()
        unet.set_attn_processor(previous)
        if reattach:
            capture.attach()


def sample_edit(sampler: CaptureSampler, source: str, target: str, seed: int,
                window: Optional[InjectionWindow] = None,
                token_indices: Optional[Sequence[dict]] = None) -> SampleBatch:
    """Sample ``source`` and its edit ``target`` from one seed, with attention injection.

    Args:
        sampler (CaptureSampler): the sampler (its capture reads both images).
        source (str): the source prompt.
        target (str): the edited prompt.
        seed (int): the seed of both images.
        window (InjectionWindow, optional): how long attention is injected
            (default: cross 0.8, self 0.4 of the steps).
        token_indices (Sequence[dict], optional): per prompt, ``{class name:
            token positions}`` for the decoder.

    Returns:
        SampleBatch: two images, ``[source, edited]``, and their features.
    """
    mapping, mapped = token_alignment(sampler.components.tokenizer, source, target)
    injection = AttentionInjection(sampler.config.steps, window or InjectionWindow(), mapping,
                                   mapped)
    with prompt_to_prompt(sampler.components.unet, injection, sampler.capture):
        return sampler([source, target], [seed, seed], token_indices=token_indices)
