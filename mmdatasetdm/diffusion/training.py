"""Train a tiny Stable-Diffusion-architecture model from images and captions.

The recipe is SD's, shrunk to a laptop:

1. **VAE** (``AutoencoderKL``): reconstruction (L1 + L2, plus an L1 on image
   gradients that keeps edges sharp without a perceptual network) and a small
   KL term, trained first and then frozen.
2. **Latents**: the pool is encoded once (posterior mean and std cached); the
   VAE's ``scaling_factor`` is set to ``1 / std`` of the latents, as SD's
   0.18215 was.
3. **UNet** (``UNet2DConditionModel``) + **text encoder** (``CLIPTextModel``):
   noise-prediction MSE under SD's training schedule (``DDPMScheduler``,
   ``scaled_linear`` betas, 1000 steps), or whatever schedule and prediction
   type the recipe's scheduler declares (e.g. SD 2's ``v_prediction`` with a
   zero terminal SNR, Lin et al. 2023), with 10% of captions dropped to the
   empty prompt so classifier-free guidance works. SD's text encoder was
   pretrained CLIP; ours learns from the captions jointly with the UNet.

Every stage checkpoints (weights, optimizer, step, RNG state; loaded with
``weights_only=True``) and resumes exactly: a resumed run produces the same
loss sequence as an uninterrupted one. All randomness of a stage flows from
one ``torch.Generator`` whose state is saved with the checkpoint.

Only torch, diffusers and transformers are used here (no OpenMMLab).
"""
import json
import logging
import math
import os
import os.path as osp
import time
from dataclasses import asdict, dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .components import DiffusionComponents, build_components

logger = logging.getLogger(__name__)

# 64x64 images -> 32x32x4 latents (2 encoder levels: down-factor 2), so that
# objects a few pixels wide still span several latent cells.
DEMO_VAE_CONFIG = dict(
    in_channels=3, out_channels=3, latent_channels=4, layers_per_block=1, norm_num_groups=8,
    block_out_channels=(32, 64), down_block_types=('DownEncoderBlock2D',) * 2,
    up_block_types=('UpDecoderBlock2D',) * 2, sample_size=64)
# SD-1.x's block structure at a tiny width, one layer per block, three levels
# (32x32, 16x16, 8x8 latents): a plain block at full latent resolution (self-
# attention over 1024 tokens would cost 4x the step time on a CPU), then
# cross-attention blocks, a cross-attention mid block, and the mirror image
# going up. 4.1 M parameters; ~0.6 s per step at batch 16 on 2 idle cores.
DEMO_UNET_CONFIG = dict(
    sample_size=32, in_channels=4, out_channels=4, layers_per_block=1,
    block_out_channels=(32, 64, 128), norm_num_groups=8, cross_attention_dim=64,
    attention_head_dim=8,
    down_block_types=('DownBlock2D', 'CrossAttnDownBlock2D', 'CrossAttnDownBlock2D'),
    up_block_types=('CrossAttnUpBlock2D', 'CrossAttnUpBlock2D', 'UpBlock2D'))
DEMO_TEXT_ENCODER_CONFIG = dict(
    hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
    max_position_embeddings=77)
# SD's noise schedule; the shipped sampler is DPM-Solver++ (few steps).
SD_SCHEDULE = dict(beta_start=0.00085, beta_end=0.012, beta_schedule='scaled_linear',
                   num_train_timesteps=1000)
DEMO_SCHEDULER_CONFIG = dict(type='DPMSolverMultistepScheduler', algorithm_type='dpmsolver++',
                             solver_order=2, steps_offset=1, timestep_spacing='leading',
                             **SD_SCHEDULE)


@dataclass
class StageConfig:
    """Optimisation settings of one training stage.

    Args:
        steps (int): optimiser steps.
        batch_size (int): images per step.
        lr (float): peak learning rate (AdamW).
        warmup (int): linear warm-up steps.
        min_lr_ratio (float): the cosine decay ends at ``lr * min_lr_ratio``.
        weight_decay (float): AdamW weight decay.
        grad_clip (float): max gradient norm (0 disables clipping).
        ckpt_every (int): checkpoint every this many steps (and at the end).
        log_every (int): log a line every this many steps.
        seed (int): seed of the stage's generator.
    """

    steps: int = 1000
    batch_size: int = 32
    lr: float = 1e-3
    warmup: int = 100
    min_lr_ratio: float = 0.1
    weight_decay: float = 0.0
    grad_clip: float = 1.0
    ckpt_every: int = 100
    log_every: int = 20
    seed: int = 0

    def lr_at(self, step: int) -> float:
        """Learning rate of step ``step`` (0-based): warm-up, then cosine."""
        if step < self.warmup:
            return self.lr * (step + 1) / self.warmup
        span = max(1, self.steps - self.warmup)
        progress = min(1.0, (step - self.warmup) / span)
        cosine = 0.5 * (1 + math.cos(math.pi * progress))
        return self.lr * (self.min_lr_ratio + (1 - self.min_lr_ratio) * cosine)


@dataclass
class VAELossConfig:
    """Weights of the VAE loss terms (images in [-1, 1])."""

    l1: float = 1.0
    l2: float = 1.0
    edge: float = 0.5
    kl: float = 1e-6


@dataclass
class UNetLossConfig:
    """Settings of the UNet stage.

    Args:
        caption_dropout (float): probability of training on the empty prompt.
        min_snr_gamma (float): Min-SNR loss weighting (Hang et al., 2023),
            ``min(SNR, gamma) / SNR``; 0 gives plain (unweighted) MSE.
        ema_decay (float): decay of the exponential moving average of the
            UNet and text-encoder weights that is shipped (0 disables EMA);
            step ``k`` uses ``min(ema_decay, (1 + k) / (10 + k))``.
        train_text_encoder (bool): learn the text encoder jointly (SD's was
            pretrained CLIP; ours has only the captions to learn from).
        timestep_bias_strategy (str): which training timesteps are drawn more
            often, as in diffusers' SDXL training scripts: ``'none'``
            (uniform), ``'later'`` (the noisiest, where the layout and hence
            the prompt's objects are decided) or ``'earlier'`` (fine detail).
        timestep_bias_multiplier (float): how much more often.
        timestep_bias_portion (float): the fraction of timesteps biased.
    """

    caption_dropout: float = 0.1
    min_snr_gamma: float = 5.0
    ema_decay: float = 0.999
    train_text_encoder: bool = True
    timestep_bias_strategy: str = 'none'
    timestep_bias_multiplier: float = 1.0
    timestep_bias_portion: float = 0.25

    def __post_init__(self):
        check_timestep_bias(self.timestep_bias_strategy, self.timestep_bias_multiplier,
                            self.timestep_bias_portion)


def check_timestep_bias(strategy: str, multiplier: float, portion: float) -> None:
    """Raise ``ValueError`` unless the timestep bias is one :func:`timestep_weights` can draw."""
    if strategy not in ('none', 'later', 'earlier'):
        raise ValueError(f"timestep_bias_strategy must be 'none', 'later' or 'earlier', "
                         f'got {strategy!r}')
    if not 0 < portion <= 1 or multiplier <= 0:
        raise ValueError(f'timestep bias needs 0 < portion <= 1 and multiplier > 0, got '
                         f'portion={portion}, multiplier={multiplier}')


# ----------------------------------------------------------------------------
# data


def load_image_folder_split(world: str, split: str = 'pool', limit: Optional[int] = None,
                            alt_captions: bool = False) -> Tuple[torch.Tensor, list]:
    """Read a split's images and captions (the demo world's layout).

    Args:
        world (str): root with ``images/<split>/`` and ``captions/<split>.jsonl``
            (lines of ``{"image_id", "file_name", "caption"}``, optionally
            with ``"alt_captions"``: more captions of the same image).
        split (str): split name.
        limit (int, optional): read only the first ``limit`` captions.
        alt_captions (bool): return every caption of an image (a list, the
            main ``caption`` first) instead of the main caption alone.

    Returns:
        tuple: ``images`` (uint8 Tensor, shape (N, 3, H, W)) and their captions
        (``str`` each, or ``list[str]`` each with ``alt_captions``).
    """
    from PIL import Image
    captions_file = osp.join(world, 'captions', f'{split}.jsonl')
    if not osp.isfile(captions_file):
        raise FileNotFoundError(f'{captions_file} not found; make the world first, e.g. '
                                f'tools/make_demo_world.py --out {world} --splits {split}')
    with open(captions_file) as f:
        records = [json.loads(line) for line in f if line.strip()]
    records = records[:limit] if limit else records
    if not records:
        raise ValueError(f'{captions_file} has no captions')
    images, captions = [], []
    for record in records:
        name = record['file_name']
        path = name if osp.isabs(name) else osp.join(world, 'images', split, osp.basename(name))
        with Image.open(path) as image:
            images.append(np.asarray(image.convert('RGB')))
        if alt_captions:
            alternatives = record.get('alt_captions', [])
            if not isinstance(alternatives, list):
                raise ValueError(f'{captions_file}: "alt_captions" of {name} must be a list of '
                                 f'strings, got {type(alternatives).__name__}')
            captions.append([record['caption']] + list(alternatives))
        else:
            captions.append(record['caption'])
    shapes = {image.shape for image in images}
    if len(shapes) != 1:
        raise ValueError(f'images of {world}/{split} differ in size: {sorted(shapes)}')
    return torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).contiguous(), captions


def to_model_range(images: torch.Tensor) -> torch.Tensor:
    """uint8 (B, 3, H, W) in [0, 255] -> float in [-1, 1]."""
    return images.float().div(127.5).sub(1.0)


def tokenize(tokenizer, captions: Sequence[str]) -> torch.Tensor:
    """Token ids padded to the tokenizer's length, as the SD pipeline does.

    Returns:
        Tensor: int64, shape (N, tokenizer.model_max_length).
    """
    return tokenizer(list(captions), padding='max_length', max_length=tokenizer.model_max_length,
                     truncation=True, return_tensors='pt').input_ids


def caption_groups(captions: Sequence[Union[str, Sequence[str]]]) -> List[List[str]]:
    """Every image's captions as a list: a caption, or a list of captions, per image."""
    return [[c] if isinstance(c, str) else list(c) for c in captions]


@dataclass
class CaptionBank:
    """Token ids of every image's captions, for drawing one per image and step.

    An image may have several true captions (COCO has five per image); training
    on a random one each time it is drawn teaches the model each of them.

    Args:
        input_ids (Tensor): int64, shape (M, L), all captions of all images.
        first (Tensor): int64, shape (N,), row of image ``i``'s first caption.
        count (Tensor): int64, shape (N,), how many captions image ``i`` has.
    """

    input_ids: torch.Tensor
    first: torch.Tensor
    count: torch.Tensor

    @classmethod
    def from_captions(cls, tokenizer, captions: Sequence[Union[str, Sequence[str]]]
                      ) -> 'CaptionBank':
        """Tokenize ``captions``: one caption, or a list of captions, per image."""
        groups = caption_groups(captions)
        for i, group in enumerate(groups):
            if not group:
                raise ValueError(f'image {i} has an empty caption list')
        count = torch.tensor([len(g) for g in groups], dtype=torch.long)
        first = torch.cumsum(count, 0) - count
        return cls(tokenize(tokenizer, [c for g in groups for c in g]), first, count)

    def __len__(self) -> int:
        return len(self.first)

    def draw(self, index: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Token ids of one caption per image in ``index``, shape (B, L).

        Draws no random number when every image has a single caption, so a
        bank of single captions gives exactly the old training sequence.
        """
        if int(self.count.max()) == 1:
            return self.input_ids[self.first[index]].clone()
        pick = (torch.rand(len(index), generator=generator) * self.count[index]).long()
        return self.input_ids[self.first[index] + pick.clamp(max=self.count[index] - 1)].clone()


# ----------------------------------------------------------------------------
# checkpointed loop


@dataclass
class StageResult:
    """What a stage returns.

    Args:
        losses (list[float]): the loss of every step run in this call.
        step (int): the stage's step count after this call.
        seconds (float): wall time of the steps run in this call.
    """

    losses: List[float] = field(default_factory=list)
    step: int = 0
    seconds: float = 0.0


def save_checkpoint(path: str, state: Dict) -> None:
    """Write ``state`` atomically (temp file + rename) with ``torch.save``."""
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    tmp = f'{path}.tmp'
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: str) -> Dict:
    """Read a checkpoint written by :func:`save_checkpoint` (no unpickling)."""
    return torch.load(path, map_location='cpu', weights_only=True)


def _run_stage(name: str, modules: Dict[str, nn.Module], optimizer: torch.optim.Optimizer,
               cfg: StageConfig, step_fn: Callable[[torch.Generator], torch.Tensor],
               ckpt_path: Optional[str], resume: bool, max_steps: Optional[int] = None,
               ema: Optional[Dict[str, nn.Module]] = None, ema_decay: float = 0.0,
               extra_state: Optional[Dict] = None) -> StageResult:
    """Run optimiser steps with checkpoints and exact resume.

    Args:
        name (str): stage name for logs.
        modules (dict): the trained modules (their ``state_dict`` is saved).
        optimizer: over the modules' parameters.
        cfg (StageConfig): steps, lr schedule, checkpoint and log intervals.
        step_fn: ``step_fn(generator) -> loss`` computes one batch's loss;
            all of its randomness must come from ``generator``.
        ckpt_path (str, optional): checkpoint file (None: no checkpoints).
        resume (bool): continue from ``ckpt_path`` when it exists.
        max_steps (int, optional): stop after this many steps in this call
            (the stage continues on the next resume).
        ema (dict, optional): EMA copies of (some of) ``modules``, same keys.
        ema_decay (float): EMA decay.
        extra_state (dict, optional): tensors saved with the checkpoint.

    Returns:
        StageResult
    """
    generator = torch.Generator().manual_seed(cfg.seed)
    step = 0
    if resume and ckpt_path and osp.isfile(ckpt_path):
        state = load_checkpoint(ckpt_path)
        for key, module in modules.items():
            module.load_state_dict(state['modules'][key])
        for key, module in (ema or {}).items():
            module.load_state_dict(state['ema'][key])
        optimizer.load_state_dict(state['optimizer'])
        generator.set_state(state['generator'])
        torch.random.set_rng_state(state['torch_rng'])
        step = int(state['step'])
        logger.info('%s: resumed from %s at step %d/%d', name, ckpt_path, step, cfg.steps)

    def checkpoint():
        if ckpt_path is None:
            return
        state = dict(modules={k: m.state_dict() for k, m in modules.items()},
                     ema={k: m.state_dict() for k, m in (ema or {}).items()},
                     optimizer=optimizer.state_dict(), generator=generator.get_state(),
                     torch_rng=torch.random.get_rng_state(), step=step, total_steps=cfg.steps,
                     **(extra_state or {}))
        save_checkpoint(ckpt_path, state)

    result = StageResult(step=step)
    params = [p for group in optimizer.param_groups for p in group['params']]
    for module in modules.values():
        module.train()
    end = cfg.steps if max_steps is None else min(cfg.steps, step + max_steps)
    start_time = time.perf_counter()
    window_start, window_losses = start_time, []
    while step < end:
        lr = cfg.lr_at(step)
        for group in optimizer.param_groups:
            group['lr'] = lr
        loss = step_fn(generator)
        if not torch.isfinite(loss):
            raise FloatingPointError(f'{name}: loss is {loss.item()} at step {step}')
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)
        optimizer.step()
        if ema:
            # warm-up as diffusers' EMAModel: early weights do not linger
            decay = min(ema_decay, (1 + step) / (10 + step))
            with torch.no_grad():
                for key, shadow in ema.items():
                    for s, p in zip(shadow.parameters(), modules[key].parameters()):
                        s.lerp_(p.detach(), 1 - decay)
        step += 1
        result.losses.append(loss.item())
        window_losses.append(loss.item())
        if step % cfg.log_every == 0 or step == end:
            now = time.perf_counter()
            rate = len(window_losses) / max(now - window_start, 1e-9)
            eta = (cfg.steps - step) / max(rate, 1e-9)
            logger.info('%s: step %d/%d loss %.5f lr %.2e %.2f it/s eta %.0f min', name, step,
                        cfg.steps, sum(window_losses) / len(window_losses), lr, rate, eta / 60)
            window_start, window_losses = now, []
        if step % cfg.ckpt_every == 0 or step == end:
            checkpoint()
    result.step = step
    result.seconds = time.perf_counter() - start_time
    for module in modules.values():
        module.eval()
    return result


# ----------------------------------------------------------------------------
# stage 1: VAE


def vae_loss(vae, images: torch.Tensor, generator: torch.Generator,
             weights: VAELossConfig) -> torch.Tensor:
    """Reconstruction + edge + KL loss of a batch.

    Args:
        vae: ``AutoencoderKL``.
        images (Tensor): float in [-1, 1], shape (B, 3, H, W).
        generator: source of the posterior sample's noise.
        weights (VAELossConfig): loss weights.
    """
    posterior = vae.encode(images).latent_dist
    latents = posterior.sample(generator=generator)
    recon = vae.decode(latents).sample
    loss = weights.l1 * F.l1_loss(recon, images) + weights.l2 * F.mse_loss(recon, images)
    if weights.edge:
        for dim in (2, 3):
            loss = loss + weights.edge * F.l1_loss(recon.diff(dim=dim), images.diff(dim=dim))
    if weights.kl:
        loss = loss + weights.kl * posterior.kl().mean()
    return loss


def train_vae(vae, images: torch.Tensor, cfg: StageConfig,
              weights: Optional[VAELossConfig] = None, ckpt_path: Optional[str] = None,
              resume: bool = False, max_steps: Optional[int] = None,
              decoder_only: bool = False) -> StageResult:
    """Train ``vae`` on uint8 images with random mini-batches.

    The VAE trains on the device it is on; ``images`` stay on the CPU and
    each batch is moved there.

    Args:
        vae: ``AutoencoderKL`` (trained in place).
        images (Tensor): uint8, shape (N, 3, H, W).
        cfg (StageConfig): optimisation settings.
        weights (VAELossConfig, optional): loss weights.
        ckpt_path (str, optional): checkpoint file.
        resume (bool): continue from ``ckpt_path``.
        max_steps (int, optional): stop early in this call.
        decoder_only (bool): fine-tune only the decoder (and
            ``post_quant_conv``), as SD's ft-MSE decoder was: the encoder and
            so the latents the UNet learns on stay unchanged, and the decoder
            can keep improving while the UNet trains.
    """
    weights = weights or VAELossConfig()
    vae.requires_grad_(not decoder_only)
    if decoder_only:
        weights = VAELossConfig(**{**asdict(weights), 'kl': 0.0})
        for module in (vae.decoder, vae.post_quant_conv):
            if module is not None:
                module.requires_grad_(True)
    params = [p for p in vae.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)

    def step_fn(generator):
        index = torch.randint(len(images), (cfg.batch_size,), generator=generator)
        batch = to_model_range(images[index])
        flip = torch.rand(cfg.batch_size, generator=generator) < 0.5
        batch = torch.where(flip[:, None, None, None], batch.flip(3), batch)
        return vae_loss(vae, batch.to(vae.device), generator, weights)

    result = _run_stage('vae-decoder' if decoder_only else 'vae', dict(vae=vae), optimizer, cfg,
                        step_fn, ckpt_path, resume, max_steps)
    vae.requires_grad_(False)
    return result


@torch.no_grad()
def encode_latents(vae, images: torch.Tensor,
                   batch_size: int = 64) -> Tuple[torch.Tensor, torch.Tensor]:
    """Posterior mean and std of every image (unscaled latents).

    The VAE encodes on its device.

    Returns:
        tuple: ``mean`` and ``std``, float CPU Tensors of shape (N, C, h, w).
    """
    vae.eval()
    means, stds = [], []
    for start in range(0, len(images), batch_size):
        batch = to_model_range(images[start:start + batch_size]).to(vae.device)
        dist = vae.encode(batch).latent_dist
        means.append(dist.mean.cpu())
        stds.append(dist.std.cpu())
    return torch.cat(means), torch.cat(stds)


def latent_scaling_factor(mean: torch.Tensor, std: Optional[torch.Tensor] = None) -> float:
    """``1 / std`` of the latents (SD measured 0.18215 this way)."""
    if std is None:
        spread = mean.float().std()
    else:  # std of samples of the posterior: total variance of mean + noise
        spread = (mean.float().var() + std.float().pow(2).mean()).sqrt()
    return float(1.0 / spread)


# ----------------------------------------------------------------------------
# stage 2: UNet + text encoder


def training_noise_scheduler(scheduler):
    """The ``DDPMScheduler`` that noises training latents like ``scheduler`` samples.

    It shares the sampler's noise schedule (betas, zero terminal SNR) and
    prediction type, so a model trained with it matches the scheduler that is
    shipped beside it.

    Args:
        scheduler: a diffusers scheduler (any type).

    Returns:
        DDPMScheduler: with ``clip_sample=False``.
    """
    import inspect

    from diffusers import DDPMScheduler
    accepted = inspect.signature(DDPMScheduler.__init__).parameters
    config = {k: v for k, v in scheduler.config.items() if k in accepted}
    return DDPMScheduler(**{**config, 'clip_sample': False})


def timestep_weights(num_timesteps: int, strategy: str = 'none', multiplier: float = 1.0,
                     portion: float = 0.25) -> torch.Tensor:
    """Sampling weights of the training timesteps (see :class:`UNetLossConfig`).

    Returns:
        Tensor: shape (num_timesteps,), summing to 1.
    """
    check_timestep_bias(strategy, multiplier, portion)
    weights = torch.ones(num_timesteps)
    biased = max(1, round(portion * num_timesteps))
    if strategy == 'later':
        weights[-biased:] *= multiplier
    elif strategy == 'earlier':
        weights[:biased] *= multiplier
    return weights / weights.sum()


def diffusion_loss(unet, text_encoder, noise_scheduler, latents: torch.Tensor,
                   input_ids: torch.Tensor, generator: torch.Generator,
                   min_snr_gamma: float = 0.0,
                   weights: Optional[torch.Tensor] = None) -> torch.Tensor:
    """SD's noise-prediction loss of a batch of scaled latents.

    Args:
        unet: ``UNet2DConditionModel``.
        text_encoder: ``CLIPTextModel``.
        noise_scheduler: a ``DDPMScheduler`` (training schedule).
        latents (Tensor): scaled latents, shape (B, C, h, w).
        input_ids (Tensor): token ids, shape (B, L).
        generator: source of the noise and timesteps, a CPU generator: the
            draws are made on the CPU and moved to the latents' device, so a
            run draws the same noise on any device and resumes on another.
        min_snr_gamma (float): Min-SNR weighting (0 = plain MSE).
        weights (Tensor, optional): sampling weights of the timesteps
            (:func:`timestep_weights`); default uniform.
    """
    noise = torch.randn(latents.shape, generator=generator)
    if weights is None:
        timesteps = torch.randint(noise_scheduler.config.num_train_timesteps,
                                  (latents.shape[0],), generator=generator)
    else:
        timesteps = torch.multinomial(weights, latents.shape[0], replacement=True,
                                      generator=generator)
    device = latents.device
    noise, timesteps, input_ids = noise.to(device), timesteps.to(device), input_ids.to(device)
    noisy = noise_scheduler.add_noise(latents, noise, timesteps)
    hidden = text_encoder(input_ids)[0]
    pred = unet(noisy, timesteps, encoder_hidden_states=hidden).sample
    if noise_scheduler.config.prediction_type == 'v_prediction':
        target = noise_scheduler.get_velocity(latents, noise, timesteps)
    else:
        target = noise
    per_sample = F.mse_loss(pred, target, reduction='none').mean(dim=(1, 2, 3))
    if min_snr_gamma > 0:
        alphas = noise_scheduler.alphas_cumprod.to(device)[timesteps]
        snr = alphas / (1 - alphas)
        # a zero-terminal-SNR schedule has snr = 0 at its last step, where
        # noise prediction is exact (the noisy latent is the noise): weight 1
        weight = torch.where(snr > 0, snr.clamp(max=min_snr_gamma) / snr.clamp(min=1e-12),
                             torch.ones_like(snr))
        if noise_scheduler.config.prediction_type == 'v_prediction':
            weight = snr.clamp(max=min_snr_gamma) / (snr + 1)
        per_sample = per_sample * weight
    return per_sample.mean()


def grow_unet(unet: nn.Module, trained: Dict[str, torch.Tensor]) -> List[str]:
    """Load a trained UNet's weights into a UNet with more attention blocks.

    The grown UNet (e.g. ``CrossAttnDownBlock2D`` where the trained one has a
    ``DownBlock2D``) must hold every trained parameter under the same name and
    shape. The parameters it adds keep their initialisation, except the output
    projection (``proj_out``) of every new ``Transformer2DModel``, which is
    zeroed: the new blocks start as the identity (their residual), so the grown
    UNet first predicts exactly what the trained one did, and training the new
    blocks can only start from there.

    Args:
        unet: the grown ``UNet2DConditionModel`` (loaded in place).
        trained (dict): the trained UNet's ``state_dict``.

    Returns:
        list[str]: names of the new parameters and buffers.
    """
    own = unet.state_dict()
    missing = sorted(set(trained) - set(own))
    if missing:
        raise ValueError(f'the grown UNet lacks {len(missing)} trained parameters (e.g. '
                         f'{missing[0]}): it may add blocks, not remove or rename them')
    for key, value in trained.items():
        if own[key].shape != value.shape:
            raise ValueError(f'UNet parameter {key} has shape {tuple(own[key].shape)}, the '
                             f'trained one {tuple(value.shape)}: widths must not change')
    new = sorted(set(own) - set(trained))
    unet.load_state_dict(trained, strict=False)
    with torch.no_grad():
        for key in new:
            if '.proj_out.' in key:
                own[key].zero_()
    return new


def _ema_copy(module: nn.Module) -> nn.Module:
    import copy
    shadow = copy.deepcopy(module)
    shadow.requires_grad_(False)
    shadow.eval()
    return shadow


def train_unet(components: DiffusionComponents, latent_mean: torch.Tensor,
               latent_std: torch.Tensor, input_ids: Union[torch.Tensor, CaptionBank],
               cfg: StageConfig,
               loss_cfg: Optional[UNetLossConfig] = None, ckpt_path: Optional[str] = None,
               resume: bool = False, max_steps: Optional[int] = None,
               use_ema_unfinished: bool = False) -> StageResult:
    """Train the UNet (and text encoder) on cached latents and captions.

    The VAE's ``scaling_factor`` must already be set. The UNet and text
    encoder train on the UNet's device; the latents and captions stay on the
    CPU and each batch is moved there. On return the components hold the EMA
    weights when ``loss_cfg.ema_decay > 0``.

    Args:
        components (DiffusionComponents): trained in place.
        latent_mean, latent_std (Tensor): unscaled posterior moments,
            shape (N, C, h, w); each step draws a fresh posterior sample.
        input_ids (Tensor | CaptionBank): token ids of one caption per
            image, shape (N, L), or a bank of several captions per image.
        cfg (StageConfig): optimisation settings.
        loss_cfg (UNetLossConfig, optional): caption dropout, Min-SNR, EMA.
        ckpt_path (str, optional): checkpoint file.
        resume (bool): continue from ``ckpt_path``.
        max_steps (int, optional): stop early in this call.
        use_ema_unfinished (bool): load the EMA weights into the components
            even when the schedule has steps left (to export a run that
            stopped early).
    """
    loss_cfg = loss_cfg or UNetLossConfig()
    if isinstance(input_ids, torch.Tensor):
        ones = torch.ones(len(input_ids), dtype=torch.long)
        input_ids = CaptionBank(input_ids, torch.arange(len(input_ids)), ones)
    if len(latent_mean) != len(input_ids):
        raise ValueError(f'{len(latent_mean)} latents but {len(input_ids)} captions')
    unet, text_encoder = components.unet, components.text_encoder
    scaling = components.vae.config.scaling_factor
    noise_scheduler = training_noise_scheduler(components.scheduler)
    weights = None
    if loss_cfg.timestep_bias_strategy != 'none':
        weights = timestep_weights(noise_scheduler.config.num_train_timesteps,
                                   loss_cfg.timestep_bias_strategy,
                                   loss_cfg.timestep_bias_multiplier,
                                   loss_cfg.timestep_bias_portion)
    empty_ids = tokenize(components.tokenizer, [''])[0]
    modules = dict(unet=unet)
    if loss_cfg.train_text_encoder:
        modules['text_encoder'] = text_encoder
    text_encoder.requires_grad_(loss_cfg.train_text_encoder)
    unet.requires_grad_(True)
    params = [p for m in modules.values() for p in m.parameters()]
    optimizer = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    ema = {k: _ema_copy(m) for k, m in modules.items()} if loss_cfg.ema_decay > 0 else None

    def step_fn(generator):
        index = torch.randint(len(latent_mean), (cfg.batch_size,), generator=generator)
        eps = torch.randn(latent_mean[index].shape, generator=generator)
        latents = ((latent_mean[index] + latent_std[index] * eps) * scaling).to(unet.device)
        ids = input_ids.draw(index, generator)
        drop = torch.rand(cfg.batch_size, generator=generator) < loss_cfg.caption_dropout
        ids[drop] = empty_ids
        if not loss_cfg.train_text_encoder:
            text_encoder.eval()
        return diffusion_loss(unet, text_encoder, noise_scheduler, latents, ids, generator,
                              loss_cfg.min_snr_gamma, weights)

    result = _run_stage('unet', modules, optimizer, cfg, step_fn, ckpt_path, resume, max_steps,
                        ema=ema, ema_decay=loss_cfg.ema_decay)
    if ema is not None and (result.step >= cfg.steps or use_ema_unfinished):
        for key, shadow in ema.items():
            modules[key].load_state_dict(shadow.state_dict())
    components.freeze()
    return result


# ----------------------------------------------------------------------------
# the whole recipe


@dataclass
class TinySDRecipe:
    """Everything that defines a tiny SD training run.

    Args:
        vae, unet, text_encoder, scheduler (dict): model configs (see the
            ``DEMO_*`` constants).
        num_merges (int): BPE merges of the tokenizer learned from captions.
        vae_stage, unet_stage (StageConfig): optimisation of each stage.
        decoder_stage (StageConfig): the optional decoder fine-tune
            (:func:`finetune_decoder`), run beside the UNet stage.
        vae_loss (VAELossConfig), unet_loss (UNetLossConfig): loss settings.
        seed (int): seed of the initial weights.
        init_from (str, optional): a trained diffusers folder to continue
            from instead of starting from random weights. Its VAE (the VAE
            stage is skipped; its ``scaling_factor`` is kept), tokenizer and
            text encoder are used as they are, its scheduler's config is
            updated by ``scheduler`` (which may change the prediction type or
            the noise schedule: the UNet then learns the new one), and its
            UNet's weights are loaded into a UNet built from ``unet``, which
            may add attention blocks (see :func:`grow_unet`). ``vae``,
            ``text_encoder``, ``num_merges`` and ``vae_stage`` are then
            unused.
    """

    vae: dict = field(default_factory=lambda: dict(DEMO_VAE_CONFIG))
    unet: dict = field(default_factory=lambda: dict(DEMO_UNET_CONFIG))
    text_encoder: dict = field(default_factory=lambda: dict(DEMO_TEXT_ENCODER_CONFIG))
    scheduler: dict = field(default_factory=lambda: dict(DEMO_SCHEDULER_CONFIG))
    num_merges: int = 400
    vae_stage: StageConfig = field(
        default_factory=lambda: StageConfig(steps=500, batch_size=16, lr=1e-3, warmup=50))
    unet_stage: StageConfig = field(
        default_factory=lambda: StageConfig(steps=3000, batch_size=16, lr=1e-3, warmup=200,
                                            weight_decay=0.01))
    decoder_stage: StageConfig = field(
        default_factory=lambda: StageConfig(steps=1000, batch_size=16, lr=5e-4, warmup=20))
    vae_loss: VAELossConfig = field(default_factory=VAELossConfig)
    unet_loss: UNetLossConfig = field(default_factory=UNetLossConfig)
    seed: int = 0
    init_from: Optional[str] = None


# what a checkpoint's weights depend on: a resumed run must not change these
RECIPE_ARCHITECTURE = ('vae', 'unet', 'text_encoder', 'scheduler', 'num_merges', 'seed',
                       'init_from')


def check_resumable(work_dir: str, recipe: TinySDRecipe) -> None:
    """Refuse to resume checkpoints that another architecture wrote.

    Step counts, batch sizes and learning rates may change between runs of
    one work dir; the fields in :data:`RECIPE_ARCHITECTURE` may not.

    Raises:
        ValueError: naming the work dir's ``recipe.json`` and the field.
    """
    path = osp.join(work_dir, 'recipe.json')
    if not osp.isfile(path):
        return
    with open(path) as f:
        saved = json.load(f)
    wanted = json.loads(json.dumps(asdict(recipe), default=list))
    for key in RECIPE_ARCHITECTURE:
        if saved.get(key) != wanted.get(key):
            raise ValueError(f'{path}: the checkpoints in {work_dir} were trained with {key}='
                             f'{saved.get(key)!r}, this run asks for {wanted.get(key)!r}; '
                             'resume with the same recipe or use a new work dir')


def warm_start_components(recipe: TinySDRecipe) -> DiffusionComponents:
    """The components of ``recipe.init_from`` with a UNet built from ``recipe.unet``.

    The folder's UNet weights are loaded into the new UNet with
    :func:`grow_unet`; every network is left trainable for the UNet stage.
    """
    from diffusers import UNet2DConditionModel

    from .components import load_components
    components = load_components(recipe.init_from, scheduler=recipe.scheduler)
    torch.manual_seed(recipe.seed)
    unet = UNet2DConditionModel(**recipe.unet)
    new = grow_unet(unet, components.unet.state_dict())
    blocks = sorted({'.'.join(k.split('.')[:4]) for k in new})
    logger.info('UNet from %s; %d new tensors (%s), their output projections zeroed',
                recipe.init_from, len(new), ', '.join(blocks) or 'none')
    components.unet = unet
    return components


def train_tiny_sd(images: torch.Tensor, captions: Sequence[Union[str, Sequence[str]]], out: str,
                  work_dir: str,
                  recipe: Optional[TinySDRecipe] = None, resume: bool = False,
                  max_steps: Optional[int] = None,
                  device: Union[str, torch.device] = 'cpu',
                  export_unfinished: bool = False) -> Dict:
    """Train the VAE, cache latents, train UNet + text encoder, save a folder.

    Each stage's checkpoint lives in ``work_dir`` (``vae.pth``,
    ``latents.pth``, ``unet.pth``, the learned tokenizer in ``tokenizer/``);
    with ``resume`` a finished stage is skipped and an unfinished one
    continues. When both stages are done the model is written to ``out`` with
    ``StableDiffusionPipeline.save_pretrained`` (safetensors). With
    ``recipe.init_from`` the VAE stage is skipped and the UNet stage continues
    a trained folder's UNet and text encoder (see :class:`TinySDRecipe`). A
    resume must keep the recipe's architecture (:func:`check_resumable`).

    Args:
        images (Tensor): uint8, shape (N, 3, H, W).
        captions (Sequence[str | Sequence[str]]): one caption per image, or
            a list of true captions per image (one is drawn each time the
            image is, see :class:`CaptionBank`).
        out (str): the diffusers folder to write.
        work_dir (str): checkpoints and logs.
        recipe (TinySDRecipe, optional): configs (default: the demo's).
        resume (bool): continue from ``work_dir``'s checkpoints.
        max_steps (int, optional): run at most this many steps per stage in
            this call (for time-sliced training); ``out`` is written only
            when everything is finished.
        device (str | torch.device): where the networks train (e.g.
            ``'cuda'``). The random draws are made on the CPU, so a run
            draws the same batches, noise and timesteps on any device, and a
            checkpoint written on one device resumes on another.
        export_unfinished (bool): with ``resume``, run no further steps and
            write ``out`` from the UNet stage's last checkpoint (its EMA
            weights) although its schedule has steps left, e.g. for a run
            stopped at a time limit. A later ``resume`` still continues it.

    Returns:
        dict: a summary (steps, seconds, last losses, scaling factor, whether
        the model was written).
    """
    recipe = recipe or TinySDRecipe()
    if len(images) != len(captions):
        raise ValueError(f'{len(images)} images but {len(captions)} captions')
    unet_ckpt = osp.join(work_dir, 'unet.pth')
    if export_unfinished:
        if not (resume and osp.isfile(unet_ckpt)):
            raise ValueError(f'export_unfinished exports {unet_ckpt}: it needs resume=True and '
                             'that checkpoint')
        max_steps = 0
    os.makedirs(work_dir, exist_ok=True)
    if resume:
        check_resumable(work_dir, recipe)
    with open(osp.join(work_dir, 'recipe.json'), 'w') as f:
        json.dump(asdict(recipe), f, indent=2, default=list)
    summary = dict(num_images=len(images))
    if recipe.init_from:
        components = warm_start_components(recipe).to(device)
        summary['init_from'] = recipe.init_from
    else:
        tokenizer_dir = osp.join(work_dir, 'tokenizer')
        # a resumed run keeps its tokenizer: relearning it from other captions
        # could change the token ids the text encoder was trained on
        reuse_tokenizer = resume and osp.isfile(osp.join(tokenizer_dir, 'vocab.json'))
        components = build_components(
            unet=recipe.unet, vae=recipe.vae, text_encoder=recipe.text_encoder,
            scheduler=recipe.scheduler,
            vocabulary=[c for group in caption_groups(captions) for c in group],
            num_merges=recipe.num_merges, tokenizer_dir=tokenizer_dir, seed=recipe.seed,
            learn_tokenizer=not reuse_tokenizer)
        components.to(device)

        vae_ckpt = osp.join(work_dir, 'vae.pth')
        vae_result = train_vae(components.vae, images, recipe.vae_stage, recipe.vae_loss,
                               vae_ckpt, resume=resume, max_steps=max_steps)
        summary['vae'] = dict(step=vae_result.step, seconds=round(vae_result.seconds, 1),
                              last_loss=_tail_mean(vae_result.losses))
        if vae_result.step < recipe.vae_stage.steps:
            if export_unfinished:
                raise RuntimeError(f'{vae_ckpt} is unfinished (step {vae_result.step}/'
                                   f'{recipe.vae_stage.steps}): nothing to export')
            summary['finished'] = False
            return summary

    latents_file = osp.join(work_dir, 'latents.pth')
    if resume and osp.isfile(latents_file):
        cached = load_checkpoint(latents_file)
    else:
        mean, std = encode_latents(components.vae, images)
        # a warm start keeps the scaling its UNet was trained with
        scaling = (components.vae.config.scaling_factor if recipe.init_from else
                   latent_scaling_factor(mean, std))
        cached = dict(mean=mean, std=std, scaling_factor=torch.tensor(scaling))
        save_checkpoint(latents_file, cached)
    scaling = float(cached['scaling_factor'])
    components.vae.register_to_config(scaling_factor=scaling)
    summary['scaling_factor'] = scaling
    logger.info('latents %s, scaling_factor %.5f', tuple(cached['mean'].shape), scaling)

    input_ids = CaptionBank.from_captions(components.tokenizer, captions)
    unet_result = train_unet(components, cached['mean'], cached['std'], input_ids,
                             recipe.unet_stage, recipe.unet_loss, unet_ckpt,
                             resume=resume, max_steps=max_steps,
                             use_ema_unfinished=export_unfinished)
    summary['unet'] = dict(step=unet_result.step, seconds=round(unet_result.seconds, 1),
                           last_loss=_tail_mean(unet_result.losses))
    if export_unfinished:
        summary['exported_unfinished'] = unet_result.step < recipe.unet_stage.steps
    elif unet_result.step < recipe.unet_stage.steps:
        summary['finished'] = False
        return summary
    decoder_ckpt = osp.join(work_dir, 'vae_decoder.pth')
    if osp.isfile(decoder_ckpt):
        state = load_checkpoint(decoder_ckpt)
        if int(state['step']) < int(state['total_steps']):
            logger.warning('%s is unfinished (step %d/%d); shipping its decoder anyway',
                           decoder_ckpt, int(state['step']), int(state['total_steps']))
        _load_decoder(components.vae, state['modules']['vae'])
        summary['decoder_finetune_steps'] = int(state['step'])
    components.to('cpu').save_pretrained(out)
    summary['finished'] = True
    summary['out'] = out
    return summary


def _load_decoder(vae, state_dict: Dict[str, torch.Tensor]) -> None:
    """Copy the decoder half of a VAE state dict into ``vae`` (encoder kept)."""
    decoder = {k: v for k, v in state_dict.items()
               if k.startswith(('decoder.', 'post_quant_conv.'))}
    encoder_keys = {k for k in vae.state_dict() if k.startswith(('encoder.', 'quant_conv.'))}
    missing, unexpected = vae.load_state_dict(decoder, strict=False)
    if unexpected or set(missing) != encoder_keys:
        raise RuntimeError(f'decoder checkpoint does not match the VAE: missing '
                           f'{sorted(set(missing) - encoder_keys)}, unexpected {unexpected}')


def finetune_decoder(images: torch.Tensor, work_dir: str, recipe: Optional[TinySDRecipe] = None,
                     resume: bool = False, max_steps: Optional[int] = None,
                     device: Union[str, torch.device] = 'cpu') -> StageResult:
    """Fine-tune the trained VAE's decoder (``work_dir/vae_decoder.pth``).

    Starts from the finished ``work_dir/vae.pth``; the encoder is frozen, so
    the cached latents and the UNet stage are unaffected and this can run in
    a second process while the UNet trains. :func:`train_tiny_sd` ships the
    fine-tuned decoder when the checkpoint exists.
    """
    from diffusers import AutoencoderKL
    recipe = recipe or TinySDRecipe()
    vae_ckpt = osp.join(work_dir, 'vae.pth')
    if not osp.isfile(vae_ckpt):
        raise FileNotFoundError(f'{vae_ckpt} not found: train the VAE stage first')
    state = load_checkpoint(vae_ckpt)
    if int(state['step']) < int(state['total_steps']):
        raise RuntimeError(f'{vae_ckpt} is unfinished (step {int(state["step"])}/'
                           f'{int(state["total_steps"])})')
    vae = AutoencoderKL(**recipe.vae)
    vae.load_state_dict(state['modules']['vae'])
    vae.to(device)
    return train_vae(vae, images, recipe.decoder_stage, recipe.vae_loss,
                     osp.join(work_dir, 'vae_decoder.pth'), resume=resume, max_steps=max_steps,
                     decoder_only=True)


def _tail_mean(losses: List[float], n: int = 50) -> Optional[float]:
    return round(sum(losses[-n:]) / len(losses[-n:]), 6) if losses else None
