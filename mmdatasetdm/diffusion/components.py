"""Load or build the frozen Stable Diffusion components.

Two ways in, one object out (:class:`DiffusionComponents`):

* :func:`load_components` reads a diffusers folder (``model_index.json``,
  ``unet/``, ``vae/``, ``text_encoder/``, ``tokenizer/``, ``scheduler/``), as
  written by ``StableDiffusionPipeline.save_pretrained`` for SD 1.x and 2.x, or
  a Hub id where the machine is online.
* :func:`build_components` builds the same classes from config dicts (tiny
  models for tests), with a tokenizer learned from a word list.
"""
import hashlib
import json
import os.path as osp
import tempfile
from dataclasses import dataclass
from typing import Iterable, Mapping, Optional, Union

import torch
from torch import Tensor, nn

DTYPES = {'fp32': torch.float32, 'float32': torch.float32, 'fp16': torch.float16,
          'float16': torch.float16, 'bf16': torch.bfloat16, 'bfloat16': torch.bfloat16}

# A UNet2DConditionModel with SD-1.x's block structure (four levels, cross
# attention in the first three down and last three up blocks) at a tiny width.
TINY_UNET_CONFIG = dict(
    sample_size=8, in_channels=4, out_channels=4, layers_per_block=1,
    block_out_channels=(32, 32, 64, 64), norm_num_groups=8, cross_attention_dim=32,
    attention_head_dim=8,
    down_block_types=('CrossAttnDownBlock2D', 'CrossAttnDownBlock2D', 'CrossAttnDownBlock2D',
                      'DownBlock2D'),
    up_block_types=('UpBlock2D', 'CrossAttnUpBlock2D', 'CrossAttnUpBlock2D',
                    'CrossAttnUpBlock2D'))
# An AutoencoderKL with SD's 8x down-sampling and 4 latent channels.
TINY_VAE_CONFIG = dict(
    in_channels=3, out_channels=3, latent_channels=4, layers_per_block=1, norm_num_groups=8,
    block_out_channels=(8, 16, 16, 16), down_block_types=('DownEncoderBlock2D',) * 4,
    up_block_types=('UpDecoderBlock2D',) * 4, sample_size=64)
TINY_TEXT_ENCODER_CONFIG = dict(
    hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
    max_position_embeddings=77)
TINY_SCHEDULER_CONFIG = dict(
    type='DDIMScheduler', beta_start=0.00085, beta_end=0.012, beta_schedule='scaled_linear',
    num_train_timesteps=1000, clip_sample=False, set_alpha_to_one=False, steps_offset=1)


def tensors_sha256(tensors: Mapping[str, Tensor]) -> str:
    """Hex SHA-256 of named tensors: names (sorted), dtypes, shapes and raw bytes.

    Args:
        tensors (Mapping[str, Tensor]): e.g. a ``state_dict()``, on any device.

    Returns:
        str: 64 hex digits; equal exactly when every tensor is equal bit for bit.
    """
    digest = hashlib.sha256()
    for name in sorted(tensors):
        t = tensors[name].detach().to('cpu').contiguous()
        digest.update(f'{name}\t{t.dtype}\t{list(t.shape)}\n'.encode())
        digest.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def _tokenizer_identity(tokenizer) -> str:
    """The vocabulary and BPE merges of a CLIP tokenizer (slow or fast), as text."""
    if hasattr(tokenizer, 'bpe_ranks'):  # slow CLIPTokenizer
        ranked = sorted(tokenizer.bpe_ranks.items(), key=lambda item: item[1])
        merges = [' '.join(pair) for pair, _ in ranked]
        return json.dumps(dict(vocab=tokenizer.get_vocab(), merges=merges), sort_keys=True)
    # a fast tokenizer: its serialised model, without the padding and truncation settings
    # that each call may change
    state = json.loads(tokenizer.backend_tokenizer.to_str())
    state.pop('padding', None)
    state.pop('truncation', None)
    return json.dumps(state, sort_keys=True)


@dataclass
class DiffusionComponents:
    """The parts of a Stable Diffusion model that DatasetDM uses."""

    unet: nn.Module
    vae: nn.Module
    text_encoder: nn.Module
    tokenizer: object
    scheduler: object

    @property
    def vae_scale_factor(self) -> int:
        return 2 ** (len(self.vae.config.block_out_channels) - 1)

    @property
    def dtype(self) -> torch.dtype:
        return self.unet.dtype

    @property
    def device(self) -> torch.device:
        return self.unet.device

    def modules(self):
        return (self.unet, self.vae, self.text_encoder)

    def fingerprint(self) -> str:
        """The content identity of the model: what it computes, not where it came from.

        A hex SHA-256 of every network's weights (names, dtypes, shapes and
        values), the tokenizer's vocabulary and merges and the scheduler's
        configuration; paths, file times and diffusers' bookkeeping fields
        (``_name_or_path``, ``_diffusers_version``) do not enter it. Equal
        weights loaded from two copies of a folder give one fingerprint; one
        changed weight gives another. Reads every weight once (a few seconds
        for SD-1.5).

        Returns:
            str: 64 hex digits.
        """
        digest = hashlib.sha256()
        for name, module in zip(('unet', 'vae', 'text_encoder'), self.modules()):
            digest.update(f'{name}\t{tensors_sha256(module.state_dict())}\n'.encode())
        digest.update(_tokenizer_identity(self.tokenizer).encode())
        scheduler = {k: v for k, v in dict(self.scheduler.config).items() if not k.startswith('_')}
        digest.update(f'{type(self.scheduler).__name__}\t'.encode())
        digest.update(json.dumps(scheduler, sort_keys=True, default=str).encode())
        return digest.hexdigest()

    def to(self, *args, **kwargs) -> 'DiffusionComponents':
        for module in self.modules():
            module.to(*args, **kwargs)
        return self

    def freeze(self) -> 'DiffusionComponents':
        """Eval mode and no gradients for every network."""
        for module in self.modules():
            module.eval()
            module.requires_grad_(False)
        return self

    def as_pipeline(self):
        """A diffusers ``StableDiffusionPipeline`` sharing these modules."""
        from diffusers import StableDiffusionPipeline
        return StableDiffusionPipeline(
            vae=self.vae, text_encoder=self.text_encoder, tokenizer=self.tokenizer, unet=self.unet,
            scheduler=self.scheduler, safety_checker=None, feature_extractor=None,
            requires_safety_checker=False)

    def save_pretrained(self, folder: str, safe_serialization: bool = True):
        """Write the standard diffusers folder layout (via the pipeline)."""
        self.as_pipeline().save_pretrained(folder, safe_serialization=safe_serialization)


def resolve_dtype(dtype: Union[str, torch.dtype, None]) -> torch.dtype:
    """A torch dtype from a name; ``'auto'`` is fp16 where CUDA is visible and
    fp32 otherwise (half precision is the GPU default of Stable Diffusion; CPUs
    run it slowly or not at all)."""
    if dtype is None:
        return torch.float32
    if dtype == 'auto':
        return torch.float16 if torch.cuda.is_available() else torch.float32
    if isinstance(dtype, torch.dtype):
        return dtype
    if dtype not in DTYPES:
        raise ValueError(f'unknown dtype {dtype!r}; expected one of {sorted(DTYPES)}')
    return DTYPES[dtype]


def build_scheduler(cfg: dict, base_config: Optional[dict] = None):
    """Build a diffusers scheduler from ``dict(type='DDIMScheduler', **kwargs)``.

    With ``base_config`` (an existing scheduler's config) the new scheduler
    keeps its noise schedule and only the kwargs given here change.
    """
    import diffusers
    cfg = dict(cfg)
    name = cfg.pop('type')
    cls = getattr(diffusers, name, None)
    if cls is None or not hasattr(cls, 'from_config'):
        raise ValueError(f'scheduler type {name!r} is not a diffusers scheduler class')
    return cls.from_config({**(base_config or {}), **cfg})


def load_components(pretrained: str, dtype: Union[str, torch.dtype, None] = 'fp32',
                    device: Union[str, torch.device] = 'cpu',
                    scheduler: Optional[dict] = None, **hub_kwargs) -> DiffusionComponents:
    """Load SD components from a diffusers folder (or a Hub id when online).

    Args:
        pretrained (str): a local folder with ``model_index.json`` or a Hub id.
        dtype: ``'fp32'``, ``'fp16'``, ``'bf16'`` or a ``torch.dtype``.
        device: where to put the networks.
        scheduler (dict, optional): replace the folder's scheduler, e.g.
            ``dict(type='DPMSolverMultistepScheduler')``; the noise schedule of
            the folder's scheduler is kept.

    Returns:
        DiffusionComponents: frozen (eval mode, no grads).
    """
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextModel, CLIPTokenizer
    torch_dtype = resolve_dtype(dtype)
    if osp.isdir(pretrained):
        index = osp.join(pretrained, 'model_index.json')
        if not osp.isfile(index):
            raise FileNotFoundError(f'{pretrained} is not a diffusers folder: {index} is missing '
                                    '(write one with StableDiffusionPipeline.save_pretrained)')
        for sub in ('unet', 'vae', 'text_encoder', 'tokenizer', 'scheduler'):
            if not osp.isdir(osp.join(pretrained, sub)):
                raise FileNotFoundError(f'diffusers folder {pretrained} has no {sub}/ subfolder')
    elif osp.exists(pretrained) or pretrained.startswith(('.', '/')):
        raise FileNotFoundError(f'diffusion model folder {pretrained} does not exist')
    kw = dict(torch_dtype=torch_dtype, **hub_kwargs)
    unet = UNet2DConditionModel.from_pretrained(pretrained, subfolder='unet', **kw)
    vae = AutoencoderKL.from_pretrained(pretrained, subfolder='vae', **kw)
    text_encoder = CLIPTextModel.from_pretrained(pretrained, subfolder='text_encoder', **kw)
    tokenizer = CLIPTokenizer.from_pretrained(pretrained, subfolder='tokenizer', **hub_kwargs)
    folder_scheduler = _load_scheduler(pretrained, hub_kwargs)
    if scheduler is not None:
        folder_scheduler = build_scheduler(scheduler, folder_scheduler.config)
    components = DiffusionComponents(unet, vae, text_encoder, tokenizer, folder_scheduler)
    return components.to(device).freeze()


def _load_scheduler(pretrained: str, hub_kwargs: dict):
    import diffusers
    if osp.isdir(pretrained):
        with open(osp.join(pretrained, 'scheduler', 'scheduler_config.json')) as f:
            name = json.load(f)['_class_name']
    else:
        config = diffusers.DDIMScheduler.load_config(
            pretrained, subfolder='scheduler', **hub_kwargs)
        name = config['_class_name']
    return getattr(diffusers, name).from_pretrained(pretrained, subfolder='scheduler', **hub_kwargs)


def build_components(unet: Optional[dict] = None, vae: Optional[dict] = None,
                     text_encoder: Optional[dict] = None, scheduler: Optional[dict] = None,
                     vocabulary: Iterable[str] = (), num_merges: int = 400,
                     tokenizer_dir: Optional[str] = None, seed: int = 0,
                     dtype: Union[str, torch.dtype, None] = 'fp32',
                     device: Union[str, torch.device] = 'cpu',
                     learn_tokenizer: bool = True) -> DiffusionComponents:
    """Build SD components with random weights from config dicts.

    Missing dicts default to the tiny SD-1.x-shaped configs of this module.
    The tokenizer is learned from ``vocabulary`` (words or sentences).

    Args:
        unet, vae, text_encoder (dict, optional): constructor kwargs of
            ``UNet2DConditionModel``, ``AutoencoderKL`` and ``CLIPTextConfig``.
        scheduler (dict, optional): ``dict(type=<diffusers scheduler>, ...)``.
        vocabulary (Iterable[str]): text the tokenizer's BPE is learned on.
        num_merges (int): BPE merges to learn.
        tokenizer_dir (str, optional): where to write the tokenizer files
            (a temporary folder if None).
        seed (int): seed of the random weights.
        learn_tokenizer (bool): learn the tokenizer from ``vocabulary``; when
            False, load the one already in ``tokenizer_dir`` (a resumed run
            must keep the token ids its text encoder was trained on).
    """
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

    from .tokenizer import save_clip_tokenizer_files
    if learn_tokenizer:
        tokenizer_dir = tokenizer_dir or tempfile.mkdtemp(prefix='mmdatasetdm_tokenizer_')
        save_clip_tokenizer_files(list(vocabulary) or ['a photo of a thing'], tokenizer_dir,
                                  num_merges=num_merges)
    elif tokenizer_dir is None or not osp.isdir(tokenizer_dir):
        raise FileNotFoundError(f'learn_tokenizer=False needs an existing tokenizer folder, got '
                                f'tokenizer_dir={tokenizer_dir!r}')
    tokenizer = CLIPTokenizer.from_pretrained(tokenizer_dir)
    generator_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    try:
        unet_model = UNet2DConditionModel(**{**TINY_UNET_CONFIG, **(unet or {})})
        vae_model = AutoencoderKL(**{**TINY_VAE_CONFIG, **(vae or {})})
        text_cfg = {**TINY_TEXT_ENCODER_CONFIG, **(text_encoder or {})}
        text_cfg.update(vocab_size=len(tokenizer), bos_token_id=tokenizer.bos_token_id,
                        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
        if unet_model.config.cross_attention_dim != text_cfg['hidden_size']:
            raise ValueError(f'unet.cross_attention_dim ({unet_model.config.cross_attention_dim}) '
                             f'must equal text_encoder.hidden_size ({text_cfg["hidden_size"]})')
        text_model = CLIPTextModel(CLIPTextConfig(**text_cfg))
    finally:
        torch.random.set_rng_state(generator_state)
    sched = build_scheduler(scheduler or TINY_SCHEDULER_CONFIG)
    components = DiffusionComponents(unet_model, vae_model, text_model, tokenizer, sched).to(device)
    torch_dtype = resolve_dtype(dtype)
    if torch_dtype != torch.float32:
        components.to(dtype=torch_dtype)
    return components.freeze()
