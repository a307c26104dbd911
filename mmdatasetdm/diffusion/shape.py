"""What a diffusion model's feature pyramid will look like, read from its configs.

Like detectron2's ``Backbone.output_shape()``, the frozen generator announces
the stride and channels of every feature level, the strides of its
cross-attention maps and the number of text tokens, so that the heads built
on it never hard-code the pyramid of one model. :func:`pyramid_shape` reads
only the ``config.json`` files of a diffusers folder (or the config dicts of a
model built from scratch): no weights are loaded, so a model config can be
completed before the backbone is built.
"""
import inspect
import json
import os.path as osp
from dataclasses import dataclass, field
from typing import List, Mapping, Optional, Union

from .capture import CaptureConfig, unet_attention_strides, unet_feature_info

# CLIP's context length, the tokenizers' default
DEFAULT_NUM_TOKENS = 77


@dataclass
class PyramidShape:
    """The announced output of a frozen diffusion model.

    Args:
        levels (list[dict]): ``dict(name, stride, channels)`` per feature
            level, finest first.
        attention_strides (list[int]): strides with cross-attention maps.
        num_tokens (int): text tokens per prompt (the maps' channel count).
        size_divisor (int): image sides must be multiples of this.
        source (str): where the shape was read (for error messages).
    """

    levels: List[dict]
    attention_strides: List[int]
    num_tokens: int
    size_divisor: int
    source: str = field(default='')

    @property
    def strides(self) -> List[int]:
        return [level['stride'] for level in self.levels]

    @property
    def channels(self) -> List[int]:
        return [level['channels'] for level in self.levels]


def with_defaults(model_cls, config: Mapping) -> dict:
    """``config`` completed with the constructor defaults of ``model_cls``.

    A diffusers ``config.json`` holds only the keys its writer knew (SD-1.5's
    UNet config predates ``mid_block_type``); the model fills the rest from
    its ``__init__`` defaults, and so does this.
    """
    params = inspect.signature(model_cls.__init__).parameters
    defaults = {name: p.default for name, p in params.items()
                if p.default is not inspect.Parameter.empty}
    return {**defaults, **{k: v for k, v in dict(config).items() if not k.startswith('_')}}


def _read_folder_configs(pretrained: str, hub_kwargs: dict):
    from diffusers import AutoencoderKL, UNet2DConditionModel
    try:
        unet = UNet2DConditionModel.load_config(pretrained, subfolder='unet', **hub_kwargs)
        vae = AutoencoderKL.load_config(pretrained, subfolder='vae', **hub_kwargs)
    except (OSError, EnvironmentError) as err:
        raise FileNotFoundError(f'cannot read the UNet/VAE configs of the diffusion model '
                                f'{pretrained!r}: {err}') from err
    num_tokens = DEFAULT_NUM_TOKENS
    tokenizer_config = osp.join(pretrained, 'tokenizer', 'tokenizer_config.json')
    if osp.isfile(tokenizer_config):
        with open(tokenizer_config, encoding='utf-8') as f:
            num_tokens = int(json.load(f).get('model_max_length', DEFAULT_NUM_TOKENS))
    return unet, vae, num_tokens


def pyramid_shape(pretrained: Optional[str] = None, components: Optional[Mapping] = None,
                  capture: Union[CaptureConfig, Mapping, None] = None,
                  **hub_kwargs) -> PyramidShape:
    """The feature pyramid a model will produce, from its configs only.

    Args:
        pretrained (str, optional): a diffusers folder (or a downloaded Hub id).
        components (Mapping, optional): the config dicts of
            :func:`~mmdatasetdm.diffusion.build_components` (``unet``, ``vae``,
            ``text_encoder``; missing ones are the tiny defaults). Exactly one
            of ``pretrained`` and ``components``.
        capture (CaptureConfig | Mapping, optional): what is captured.

    Returns:
        PyramidShape: levels, attention strides, tokens and size divisor, equal
        to what the loaded model's capture reports.
    """
    from diffusers import AutoencoderKL, UNet2DConditionModel

    from .components import TINY_UNET_CONFIG, TINY_VAE_CONFIG
    if (pretrained is None) == (components is None):
        raise ValueError('pyramid_shape needs exactly one of `pretrained` or `components`')
    if pretrained is not None:
        unet, vae, num_tokens = _read_folder_configs(str(pretrained), hub_kwargs)
        source = str(pretrained)
    else:
        components = dict(components)
        unet = {**TINY_UNET_CONFIG, **(components.get('unet') or {})}
        vae = {**TINY_VAE_CONFIG, **(components.get('vae') or {})}
        num_tokens = DEFAULT_NUM_TOKENS
        source = 'components'
    unet = with_defaults(UNet2DConditionModel, unet)
    vae = with_defaults(AutoencoderKL, vae)
    capture = CaptureConfig(**capture) if isinstance(capture, Mapping) else (
        capture or CaptureConfig())
    vae_scale_factor = 2**(len(vae['block_out_channels']) - 1)
    capture = CaptureConfig(**{**capture.__dict__, 'vae_scale_factor': vae_scale_factor})
    return PyramidShape(
        levels=unet_feature_info(unet, capture),
        attention_strides=unet_attention_strides(unet, capture),
        num_tokens=num_tokens,
        size_divisor=vae_scale_factor * 2**(len(unet['down_block_types']) - 1),
        source=source)
