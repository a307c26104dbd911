"""The typed output of the frozen diffusion model: a multi-scale feature pyramid.

Like detectron2's ``Backbone`` contract, every level carries its name, its
stride (image pixels per feature pixel) and its channel count, so consumers
never guess shapes. Cross-attention maps are stored per stride together with
the token positions of the words they belong to.
"""
from dataclasses import dataclass, field, replace
from typing import Dict, List, Optional, Sequence

import torch
from torch import Tensor


@dataclass
class FeatureLevel:
    """One level of UNet features.

    Args:
        name (str): Where the features were read, e.g. ``'up_blocks.3'``.
        stride (int): Image pixels per feature pixel (8 for a 64x64 map of a
            512x512 image).
        features (Tensor): shape (B, C, h, w).
    """

    name: str
    stride: int
    features: Tensor

    @property
    def channels(self) -> int:
        return self.features.shape[1]

    @property
    def size(self) -> tuple:
        return tuple(self.features.shape[-2:])


@dataclass
class FeaturePyramid:
    """Features and cross-attention maps of one UNet pass at one timestep.

    Args:
        levels (list[FeatureLevel]): UNet up-block features, sorted by
            increasing stride (finest first).
        attention (dict[int, Tensor]): stride -> cross-attention
            probabilities of shape (B, T, h, w), averaged over heads and
            layers; they sum to 1 over the T text tokens at every pixel.
        token_indices (list[dict[str, list[int]]]): per sample, the token
            positions of each named word (class names) in its prompt.
        prompts (list[str]): the prompt of each sample.
        timestep (int): the diffusion timestep the features were read at.
    """

    levels: List[FeatureLevel]
    attention: Dict[int, Tensor] = field(default_factory=dict)
    token_indices: List[Dict[str, List[int]]] = field(default_factory=list)
    prompts: List[str] = field(default_factory=list)
    timestep: Optional[int] = None

    @property
    def batch_size(self) -> int:
        return self.levels[0].features.shape[0]

    @property
    def strides(self) -> List[int]:
        return [level.stride for level in self.levels]

    @property
    def channels(self) -> List[int]:
        return [level.channels for level in self.levels]

    def __len__(self) -> int:
        return len(self.levels)

    def __getitem__(self, key):
        """``pyramid[i]``: the features (B, C, h, w) of level ``i`` (finest
        first), as for a tuple of feature maps; ``pyramid['up_blocks.3']``:
        the :class:`FeatureLevel` of that name."""
        if isinstance(key, int):
            return self.levels[key].features
        return self._level(key)

    def _level(self, name: str) -> FeatureLevel:
        for level in self.levels:
            if level.name == name:
                return level
        raise KeyError(
            f'no feature level named {name!r}; levels: {[lv.name for lv in self.levels]}')

    def to(self, *args, **kwargs) -> 'FeaturePyramid':
        """Move/cast every tensor, like ``Tensor.to``."""
        return replace(
            self,
            levels=[replace(lv, features=lv.features.to(*args, **kwargs)) for lv in self.levels],
            attention={s: a.to(*args, **kwargs) for s, a in self.attention.items()})

    def select(self, indices: Sequence[int]) -> 'FeaturePyramid':
        """The pyramid of a subset of the batch, in the given order."""
        index = torch.as_tensor(list(indices), dtype=torch.long)

        def pick(t: Tensor) -> Tensor:
            return t.index_select(0, index.to(t.device))

        return FeaturePyramid(
            levels=[replace(lv, features=pick(lv.features)) for lv in self.levels],
            attention={s: pick(a) for s, a in self.attention.items()},
            token_indices=[self.token_indices[i] for i in indices] if self.token_indices else [],
            prompts=[self.prompts[i] for i in indices] if self.prompts else [],
            timestep=self.timestep)

    @staticmethod
    def cat(pyramids: Sequence['FeaturePyramid']) -> 'FeaturePyramid':
        """Concatenate pyramids of the same structure along the batch."""
        first = pyramids[0]
        for other in pyramids[1:]:
            if other.strides != first.strides or sorted(other.attention) != sorted(first.attention):
                raise ValueError('cannot concatenate feature pyramids of different structure: '
                                 f'strides {first.strides} vs {other.strides}')
        return FeaturePyramid(
            levels=[replace(lv, features=torch.cat([p.levels[i].features for p in pyramids]))
                    for i, lv in enumerate(first.levels)],
            attention={s: torch.cat([p.attention[s] for p in pyramids]) for s in first.attention},
            token_indices=[t for p in pyramids for t in p.token_indices],
            prompts=[t for p in pyramids for t in p.prompts],
            timestep=first.timestep)

    def to_state(self) -> dict:
        """A dict of tensors and plain values (for ``torch.save`` with
        ``weights_only`` loading, or safetensors metadata)."""
        return dict(
            level_names=[lv.name for lv in self.levels],
            level_strides=[lv.stride for lv in self.levels],
            level_features=[lv.features for lv in self.levels],
            attention={int(s): a for s, a in self.attention.items()},
            token_indices=self.token_indices,
            prompts=self.prompts,
            timestep=self.timestep)

    @classmethod
    def from_state(cls, state: dict) -> 'FeaturePyramid':
        """Inverse of :meth:`to_state`."""
        return cls(
            levels=[FeatureLevel(n, s, f) for n, s, f in zip(
                state['level_names'], state['level_strides'], state['level_features'])],
            attention=dict(state['attention']),
            token_indices=list(state['token_indices']),
            prompts=list(state['prompts']),
            timestep=state['timestep'])
