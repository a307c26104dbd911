"""Stage 2 of the tiny SD recipe: the UNet and the text encoder.

Noise-prediction MSE under SD's training schedule (``DDPMScheduler``,
``scaled_linear`` betas, 1000 steps), or whatever schedule and prediction type
the recipe's scheduler declares (e.g. SD 2's ``v_prediction`` with a zero
terminal SNR, Lin et al. 2023), with 10% of captions dropped to the empty
prompt so classifier-free guidance works. SD's text encoder was pretrained
CLIP; ours learns from the captions jointly with the UNet.
"""
from dataclasses import dataclass
from typing import Dict, List, Optional, Union

import torch
import torch.nn.functional as F
from torch import nn

from mmdatasetdm.diffusion import DiffusionComponents, tokenize
from .data import CaptionBank
from .loop import StageConfig, StageResult, ema_copy, run_stage


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
    ema = {k: ema_copy(m) for k, m in modules.items()} if loss_cfg.ema_decay > 0 else None

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

    result = run_stage(
        'unet',
        modules,
        optimizer,
        cfg,
        step_fn,
        ckpt_path,
        resume,
        max_steps,
        ema=ema,
        ema_decay=loss_cfg.ema_decay)
    if ema is not None and (result.step >= cfg.steps or use_ema_unfinished):
        for key, shadow in ema.items():
            modules[key].load_state_dict(shadow.state_dict())
    components.freeze()
    return result
