"""The published Stable Diffusion architectures, as config dicts.

``build_components(**SD15_ARCHITECTURE)`` builds a model with SD-1.5's exact
UNet, VAE and text-encoder shapes (random weights, the tokenizer learned from
the given vocabulary); ``save_pretrained`` then writes a diffusers folder that
every loader of this package reads like the published one. That lets the
real-scale code paths run where the weights cannot be downloaded. The values
are those of the ``config.json`` files of the published SD-1.5
(``UNet2DConditionModel``, ``AutoencoderKL``, CLIP ViT-L/14 text encoder,
PNDM scheduler) and SD-2.1 (768-v: v-prediction, OpenCLIP ViT-H/14 text
encoder of width 1024 and 23 layers, per-level head dims, linear projections,
upcast attention).

The text encoder's vocabulary is the learned tokenizer's, not CLIP's 49408
BPE entries (only the embedding table's height differs).
"""
from types import MappingProxyType

_SD_VAE = dict(
    in_channels=3, out_channels=3, latent_channels=4, layers_per_block=2, norm_num_groups=32,
    act_fn='silu', block_out_channels=(128, 256, 512, 512),
    down_block_types=('DownEncoderBlock2D', ) * 4, up_block_types=('UpDecoderBlock2D', ) * 4,
    scaling_factor=0.18215)
_SD_UNET = dict(
    in_channels=4, out_channels=4, layers_per_block=2, block_out_channels=(320, 640, 1280, 1280),
    norm_num_groups=32, norm_eps=1e-5, act_fn='silu', center_input_sample=False,
    downsample_padding=1, flip_sin_to_cos=True, freq_shift=0, mid_block_scale_factor=1,
    down_block_types=('CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'CrossAttnDownBlock2D',
                      'DownBlock2D'),
    up_block_types=('UpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D',
                    'CrossAttnUpBlock2D'))
_SD_BETAS = dict(beta_start=0.00085, beta_end=0.012, beta_schedule='scaled_linear',
                 num_train_timesteps=1000, clip_sample=False, set_alpha_to_one=False,
                 steps_offset=1)

#: Stable Diffusion 1.5: 860 M-parameter UNet, CLIP ViT-L/14 text encoder (width 768).
SD15_ARCHITECTURE = MappingProxyType(dict(
    unet=dict(_SD_UNET, sample_size=64, cross_attention_dim=768, attention_head_dim=8),
    vae=dict(_SD_VAE, sample_size=512),
    text_encoder=dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
                      num_attention_heads=12, max_position_embeddings=77,
                      hidden_act='quick_gelu', projection_dim=768),
    scheduler=dict(type='PNDMScheduler', skip_prk_steps=True, **_SD_BETAS)))

#: Stable Diffusion 2.1 (768-v): OpenCLIP ViT-H/14 text encoder (width 1024), v-prediction.
SD21_ARCHITECTURE = MappingProxyType(dict(
    unet=dict(_SD_UNET, sample_size=96, cross_attention_dim=1024,
              attention_head_dim=(5, 10, 20, 20), use_linear_projection=True,
              upcast_attention=True),
    vae=dict(_SD_VAE, sample_size=768),
    text_encoder=dict(hidden_size=1024, intermediate_size=4096, num_hidden_layers=23,
                      num_attention_heads=16, max_position_embeddings=77, hidden_act='gelu',
                      projection_dim=512),
    scheduler=dict(type='DDIMScheduler', prediction_type='v_prediction', **_SD_BETAS)))

ARCHITECTURES = MappingProxyType({'sd15': SD15_ARCHITECTURE, 'sd21': SD21_ARCHITECTURE})


def architecture(name: str) -> dict:
    """The config dicts of a published architecture (``'sd15'`` or ``'sd21'``),
    as keyword arguments of :func:`~mmdatasetdm.diffusion.build_components`."""
    if name not in ARCHITECTURES:
        raise ValueError(f'unknown architecture {name!r}; known: {sorted(ARCHITECTURES)}')
    return {key: dict(value) for key, value in ARCHITECTURES[name].items()}
