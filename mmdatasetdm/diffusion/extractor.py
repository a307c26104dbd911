"""Diffusion inversion: real images -> UNet features at a small timestep.

The paper's P-Decoder is trained on features of *real* images: the image is
encoded by the VAE, noised once to a small timestep ``t`` with the scheduler's
``add_noise``, and the frozen UNet runs once with the prompt. The features
read during that pass are the same kind that are read while sampling at ``t``.
"""
from typing import Dict, List, Optional, Sequence, Union

import torch
from torch import Tensor

from .capture import CaptureConfig, FeatureCapture
from .components import DiffusionComponents
from .pyramid import FeaturePyramid
from .text import PromptEncoder, word_token_positions

# Image convention of this module: float tensors in [-1, 1] (the VAE's input
# range). In OpenMMLab configs: data_preprocessor mean=[127.5]*3, std=[127.5]*3.
IMAGE_RANGE = (-1.0, 1.0)
_RANGE_TOLERANCE = 1e-3


def check_image_range(images: Tensor) -> None:
    """Raise if ``images`` are not float tensors in [-1, 1] of shape (B, 3, H, W)."""
    if images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f'images must have shape (B, 3, H, W), got {tuple(images.shape)}')
    if not images.is_floating_point():
        raise TypeError(f'images must be float tensors in [-1, 1], got dtype {images.dtype}')
    lo, hi = images.min().item(), images.max().item()
    if lo < IMAGE_RANGE[0] - _RANGE_TOLERANCE or hi > IMAGE_RANGE[1] + _RANGE_TOLERANCE:
        raise ValueError(f'images must lie in [-1, 1] (the VAE convention), got values in '
                         f'[{lo:.3f}, {hi:.3f}]; normalise with mean=127.5, std=127.5')


class DiffusionFeatureExtractor:
    """Frozen SD components + feature capture, usable without OpenMMLab.

    Args:
        components (DiffusionComponents): the frozen model.
        capture (CaptureConfig | dict, optional): what to capture.
        timestep (int): default diffusion timestep of :meth:`invert`.
        feature_dtype (torch.dtype): dtype of the returned features.
    """

    def __init__(self, components: DiffusionComponents,
                 capture: Union[CaptureConfig, dict, None] = None, timestep: int = 1,
                 feature_dtype: torch.dtype = torch.float32):
        self.components = components
        if isinstance(capture, dict):
            capture = CaptureConfig(**capture)
        capture = capture or CaptureConfig()
        capture.vae_scale_factor = components.vae_scale_factor
        self.capture = FeatureCapture(components.unet, capture).attach()
        self.prompt_encoder = PromptEncoder(components.tokenizer, components.text_encoder)
        self.timestep = int(timestep)
        self.feature_dtype = feature_dtype

    def close(self):
        """Detach the capture: the UNet gets its original processors back."""
        self.capture.detach()

    def __enter__(self) -> 'DiffusionFeatureExtractor':
        return self

    def __exit__(self, *exc):
        self.close()

    @property
    def size_divisor(self) -> int:
        """Image sides must be multiples of this (VAE factor x UNet down-sampling)."""
        unet = self.components.unet
        return self.components.vae_scale_factor * 2 ** (len(unet.config.down_block_types) - 1)

    def token_indices(self, prompts: Sequence[str],
                      words: Optional[Sequence[Sequence[str]]]) -> List[Dict[str, List[int]]]:
        if words is None:
            return [{} for _ in prompts]
        if len(words) != len(prompts):
            raise ValueError(f'got {len(words)} word lists for {len(prompts)} prompts')
        return [
            word_token_positions(self.components.tokenizer, p, w) for p, w in zip(prompts, words)
        ]

    @torch.no_grad()
    def encode_images(self, images: Tensor) -> Tensor:
        """VAE latents (distribution mean) x scaling factor, shape (B, 4, H/8, W/8)."""
        vae = self.components.vae
        latents = vae.encode(images.to(vae.device, vae.dtype)).latent_dist.mean
        shift = getattr(vae.config, 'shift_factor', None)
        if shift is not None:
            latents = latents - shift
        return latents * vae.config.scaling_factor

    @torch.no_grad()
    def invert(self, images: Tensor, prompts: Sequence[str],
               words: Optional[Sequence[Sequence[str]]] = None, timestep: Optional[int] = None,
               generator: Union[torch.Generator, List[torch.Generator], None] = None
               ) -> FeaturePyramid:
        """Features of real images at ``timestep``.

        Args:
            images (Tensor): shape (B, 3, H, W), float in [-1, 1]; H and W
                multiples of :attr:`size_divisor`.
            prompts (Sequence[str]): one prompt per image.
            words (Sequence[Sequence[str]], optional): per image, the words
                (class names) whose token positions the pyramid records.
            timestep (int, optional): diffusion timestep; default
                ``self.timestep``.
            generator: seeds the noise of ``add_noise`` (one generator, or one
                per image for batch-size-independent noise).

        Returns:
            FeaturePyramid: features of the conditional pass.
        """
        check_image_range(images)
        if len(prompts) != images.shape[0]:
            raise ValueError(f'got {len(prompts)} prompts for {images.shape[0]} images')
        div = self.size_divisor
        if images.shape[-2] % div or images.shape[-1] % div:
            raise ValueError(f'image size {tuple(images.shape[-2:])} must be a multiple of {div} '
                             '(VAE factor x UNet down-sampling)')
        from diffusers.utils.torch_utils import randn_tensor
        unet, scheduler = self.components.unet, self.components.scheduler
        t = self.timestep if timestep is None else int(timestep)
        latents = self.encode_images(images).to(unet.dtype)
        noise = randn_tensor(latents.shape, generator=generator, device=latents.device,
                             dtype=latents.dtype)
        t_tensor = torch.full((latents.shape[0],), t, dtype=torch.long, device=latents.device)
        noisy = scheduler.add_noise(latents, noise, t_tensor)
        embeds = self.prompt_encoder(prompts, device=unet.device).to(unet.dtype)
        with self.capture.arm(t):
            unet(noisy, t_tensor, encoder_hidden_states=embeds)
            levels, attention = self.capture.result()
        pyramid = FeaturePyramid(levels=levels, attention=attention,
                                 token_indices=self.token_indices(prompts, words),
                                 prompts=list(prompts), timestep=t)
        return pyramid.to(dtype=self.feature_dtype)
