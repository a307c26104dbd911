"""The tiny Stable-Diffusion-architecture model of the demo world: its recipe and trainer,
and the prompt-adherence judge that measures it.

The shipped model (``checkpoints/demo-world-sd``) was trained with
``projects/tiny_sd/tools/train_tiny_sd.py`` on the demo world's unlabelled pool;
the library only loads it (:func:`mmdatasetdm.diffusion.load_components`).
"""
from .data import CaptionBank, caption_groups, load_image_folder_split, to_model_range
from .loop import StageConfig, StageResult, load_checkpoint, run_stage, save_checkpoint
from .recipe import (DEMO_SCHEDULER_CONFIG, DEMO_TEXT_ENCODER_CONFIG, DEMO_UNET_CONFIG,
                     DEMO_VAE_CONFIG, RECIPE_ARCHITECTURE, SD_SCHEDULE, TinySDRecipe,
                     check_resumable, train_tiny_sd, warm_start_components)
from .unet import (UNetLossConfig, check_timestep_bias, diffusion_loss, grow_unet, timestep_weights,
                   train_unet, training_noise_scheduler)
from .vae import VAELossConfig, encode_latents, finetune_decoder, latent_scaling_factor, train_vae

__all__ = [
    'CaptionBank', 'caption_groups', 'load_image_folder_split', 'to_model_range', 'StageConfig',
    'StageResult', 'load_checkpoint', 'run_stage', 'save_checkpoint', 'DEMO_SCHEDULER_CONFIG',
    'DEMO_TEXT_ENCODER_CONFIG', 'DEMO_UNET_CONFIG', 'DEMO_VAE_CONFIG', 'RECIPE_ARCHITECTURE',
    'SD_SCHEDULE', 'TinySDRecipe', 'check_resumable', 'train_tiny_sd', 'warm_start_components',
    'UNetLossConfig', 'check_timestep_bias', 'diffusion_loss', 'grow_unet', 'timestep_weights',
    'train_unet', 'training_noise_scheduler', 'VAELossConfig', 'encode_latents',
    'finetune_decoder', 'latent_scaling_factor', 'train_vae'
]
