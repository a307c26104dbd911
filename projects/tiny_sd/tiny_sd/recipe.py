"""The tiny SD recipe: SD's architecture and training, shrunk to a laptop.

1. **VAE** (:mod:`.vae`), trained first and then frozen.
2. **Latents**: the pool is encoded once (posterior mean and std cached).
3. **UNet** + **text encoder** (:mod:`.unet`).

Each stage checkpoints and resumes exactly (:mod:`.loop`); the finished model
is written with diffusers' ``save_pretrained``, so it loads with
``StableDiffusionPipeline.from_pretrained`` and
:func:`mmdatasetdm.diffusion.load_components`. Only torch, diffusers and
transformers are used (no OpenMMLab).
"""
import json
import logging
import os
import os.path as osp
from dataclasses import asdict, dataclass, field
from typing import Dict, List, Optional, Sequence, Union

import torch

from mmdatasetdm.diffusion import DiffusionComponents, build_components, load_components
from .data import CaptionBank, caption_groups
from .loop import StageConfig, load_checkpoint, save_checkpoint
from .unet import UNetLossConfig, grow_unet, train_unet
from .vae import VAELossConfig, encode_latents, latent_scaling_factor, load_decoder, train_vae

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
        load_decoder(components.vae, state['modules']['vae'])
        summary['decoder_finetune_steps'] = int(state['step'])
    components.to('cpu').save_pretrained(out)
    summary['finished'] = True
    summary['out'] = out
    return summary


def _tail_mean(losses: List[float], n: int = 50) -> Optional[float]:
    return round(sum(losses[-n:]) / len(losses[-n:]), 6) if losses else None
