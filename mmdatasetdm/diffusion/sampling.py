"""Text-to-image sampling with feature capture in the same run.

Sampling is diffusers' own ``StableDiffusionPipeline`` call; the
:class:`~mmdatasetdm.diffusion.FeatureCapture` attached to its UNet is armed
at one timestep of the schedule and reads the conditional half of that step's
UNet batch. There is no second UNet pass and no re-encoding of the image, and
since capture only observes, the images are exactly those the pipeline makes
without it (same seeds, same settings).
"""
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch

from .capture import FeatureCapture
from .components import DiffusionComponents, build_scheduler
from .pyramid import FeaturePyramid
from .text import word_token_positions


@dataclass
class SamplingConfig:
    """How images are sampled.

    Args:
        steps (int): denoising steps.
        guidance_scale (float): classifier-free guidance (<= 1 disables it).
        guidance_rescale (float): diffusers' ``guidance_rescale`` (Lin et al.,
            2023): pulls the guided prediction's standard deviation back
            towards the conditional one's; 0.7 is their choice for models
            trained with a zero terminal SNR, 0 disables it.
        scheduler (dict, optional): ``dict(type='DPMSolverMultistepScheduler',
            ...)`` to replace the model's scheduler (noise schedule kept).
        capture_step (int, optional): index into the scheduler's timesteps
            at which features are read; -1 is the last, least noisy step, as
            DatasetDM does with SD. None (the default): the step nearest
            ``capture_timestep``, or the last step when that is None too.
        capture_timestep (int, optional): read the features at the sampling
            step whose timestep is nearest this value, e.g. the timestep the
            P-Decoder was trained at (``DiffusionBackbone.timestep``). Only
            used when ``capture_step`` is None.
        height, width (int, optional): image size (default: the UNet's).
        negative_prompt (str, optional): the unconditional prompt.
    """

    steps: int = 20
    guidance_scale: float = 7.5
    guidance_rescale: float = 0.0
    scheduler: Optional[dict] = None
    capture_step: Optional[int] = None
    capture_timestep: Optional[int] = None
    height: Optional[int] = None
    width: Optional[int] = None
    negative_prompt: Optional[str] = None


@dataclass
class SampleBatch:
    """Images and the features read while sampling them.

    Args:
        images (np.ndarray): uint8, shape (B, H, W, 3), RGB.
        pyramid (FeaturePyramid): the captured features (conditional branch).
        seeds (list[int]): the seed of each image.
        timestep (int): the timestep the features were read at.
    """

    images: np.ndarray
    pyramid: FeaturePyramid
    seeds: List[int]
    timestep: int


class CaptureSampler:
    """Sample images with diffusers and capture their features.

    Args:
        components (DiffusionComponents): the frozen model.
        capture (FeatureCapture): attached to ``components.unet``.
        config (SamplingConfig): sampling settings.
    """

    def __init__(self, components: DiffusionComponents, capture: FeatureCapture,
                 config: Optional[SamplingConfig] = None):
        if capture.unet is not components.unet:
            raise ValueError('the capture must be attached to the sampled UNet')
        self.components = components
        self.capture = capture
        self.config = config or SamplingConfig()
        scheduler = components.scheduler
        if self.config.scheduler is not None:
            scheduler = build_scheduler(self.config.scheduler, scheduler.config)
        self.pipeline = components.as_pipeline()
        self.pipeline.scheduler = scheduler
        self.pipeline.set_progress_bar_config(disable=True)

    @property
    def scheduler_name(self) -> str:
        return type(self.pipeline.scheduler).__name__

    def capture_timestep(self) -> int:
        """The timestep value at which features are read (depends on the
        scheduler and the number of steps)."""
        scheduler = self.pipeline.scheduler
        scheduler.set_timesteps(self.config.steps)
        timesteps = [int(t) for t in scheduler.timesteps]
        if self.config.capture_step is not None:
            return timesteps[self.config.capture_step]
        if self.config.capture_timestep is None:
            return timesteps[-1]
        target = int(self.config.capture_timestep)
        return min(timesteps, key=lambda t: (abs(t - target), t))

    @torch.no_grad()
    def __call__(self, prompts: Sequence[str], seeds: Sequence[int],
                 words: Optional[Sequence[Sequence[str]]] = None,
                 token_indices: Optional[Sequence[Dict[str, List[int]]]] = None) -> SampleBatch:
        """Sample one image per prompt, image i from ``torch.Generator().manual_seed(seeds[i])``.

        Args:
            prompts (Sequence[str]): the prompts.
            seeds (Sequence[int]): one seed per prompt; an image depends only on
                its prompt and seed, never on the batch it was sampled in.
            words (Sequence[Sequence[str]], optional): per prompt, the words
                (class names) whose token positions are recorded.
            token_indices (Sequence[dict], optional): per prompt, ready-made
                ``{class name: token positions}`` (e.g. when the prompt names
                a class by a synonym); overrides ``words``.

        Returns:
            SampleBatch: images and features.
        """
        if len(prompts) != len(seeds):
            raise ValueError(f'got {len(seeds)} seeds for {len(prompts)} prompts')
        cfg = self.config
        batch = len(prompts)
        generators = [torch.Generator(device='cpu').manual_seed(int(s)) for s in seeds]
        timestep = self.capture_timestep()
        cfg_batch = cfg.guidance_scale > 1.0
        rows = slice(batch, 2 * batch) if cfg_batch else slice(0, batch)
        with self.capture.arm(timestep, batch_slice=rows):
            out = self.pipeline(
                list(prompts), height=cfg.height, width=cfg.width, num_inference_steps=cfg.steps,
                guidance_scale=cfg.guidance_scale, guidance_rescale=cfg.guidance_rescale,
                negative_prompt=[cfg.negative_prompt] * batch if cfg.negative_prompt else None,
                generator=generators, output_type='np')
            levels, attention = self.capture.result()
        images = (np.clip(out.images, 0, 1) * 255).round().astype(np.uint8)
        tokenizer = self.components.tokenizer
        if token_indices is not None:
            token_indices = [{k: list(v) for k, v in t.items()} for t in token_indices]
        elif words is not None:
            token_indices = [word_token_positions(tokenizer, p, w) for p, w in zip(prompts, words)]
        else:
            token_indices = [{} for _ in prompts]
        pyramid = FeaturePyramid(levels=levels, attention=attention, token_indices=token_indices,
                                 prompts=list(prompts), timestep=timestep)
        return SampleBatch(images=images, pyramid=pyramid.to(dtype=torch.float32),
                           seeds=[int(s) for s in seeds], timestep=timestep)
