"""Stage 1 of the tiny SD recipe: the VAE, and the latents the UNet learns on.

Reconstruction (L1 + L2, plus an L1 on image gradients that keeps edges sharp
without a perceptual network) and a small KL term; trained first and then
frozen. The VAE's ``scaling_factor`` is ``1 / std`` of the latents, as SD's
0.18215 was. The decoder can be fine-tuned afterwards with the encoder frozen
(:func:`finetune_decoder`), as SD's ft-MSE decoder was.
"""
import os.path as osp
from dataclasses import asdict, dataclass
from typing import Dict, Optional, Tuple, Union

import torch
import torch.nn.functional as F

from .data import to_model_range
from .loop import StageConfig, StageResult, load_checkpoint, run_stage


@dataclass
class VAELossConfig:
    """Weights of the VAE loss terms (images in [-1, 1])."""

    l1: float = 1.0
    l2: float = 1.0
    edge: float = 0.5
    kl: float = 1e-6


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

    result = run_stage('vae-decoder' if decoder_only else 'vae', dict(vae=vae), optimizer, cfg,
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


def load_decoder(vae, state_dict: Dict[str, torch.Tensor]) -> None:
    """Copy the decoder half of a VAE state dict into ``vae`` (encoder kept)."""
    decoder = {k: v for k, v in state_dict.items()
               if k.startswith(('decoder.', 'post_quant_conv.'))}
    encoder_keys = {k for k in vae.state_dict() if k.startswith(('encoder.', 'quant_conv.'))}
    missing, unexpected = vae.load_state_dict(decoder, strict=False)
    if unexpected or set(missing) != encoder_keys:
        raise RuntimeError(f'decoder checkpoint does not match the VAE: missing '
                           f'{sorted(set(missing) - encoder_keys)}, unexpected {unexpected}')


def finetune_decoder(images: torch.Tensor, work_dir: str, recipe=None,
                     resume: bool = False, max_steps: Optional[int] = None,
                     device: Union[str, torch.device] = 'cpu') -> StageResult:
    """Fine-tune the trained VAE's decoder (``work_dir/vae_decoder.pth``).

    Starts from the finished ``work_dir/vae.pth``; the encoder is frozen, so
    the cached latents and the UNet stage are unaffected and this can run in
    a second process while the UNet trains. :func:`train_tiny_sd` ships the
    fine-tuned decoder when the checkpoint exists.
    """
    from diffusers import AutoencoderKL

    from .recipe import TinySDRecipe
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
