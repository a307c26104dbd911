"""The frozen diffusion model as an OpenMMLab backbone."""
import os.path as osp
from dataclasses import asdict
from typing import List, Optional, Sequence

import torch
from mmengine.model import BaseModule
from torch import Tensor

from mmdatasetdm.diffusion import (DiffusionFeatureExtractor, FeaturePyramid, PyramidShape,
                                   build_components, check_image_range, load_components,
                                   pyramid_shape, resolve_dtype)
from mmdatasetdm.fileio import json_sha256
from mmdatasetdm.registry import MODELS
from .feature_cache import FeatureCache, model_fingerprint


@MODELS.register_module()
class DiffusionBackbone(BaseModule):
    """A frozen Stable Diffusion UNet read as a feature pyramid.

    The image is VAE-encoded, noised to ``timestep`` and passed once through
    the UNet with a text prompt (DatasetDM's "diffusion inversion"); the
    up-block features and the per-token cross-attention maps are returned as a
    :class:`~mmdatasetdm.diffusion.FeaturePyramid`.

    The diffusion networks are *not* submodules: they have no trainable
    parameters, never reach the optimizer or DDP, and are absent from
    ``state_dict()`` (so runner checkpoints stay small). ``model.to(device)``
    still moves them.

    Input convention: float images in [-1, 1], i.e. a data preprocessor with
    ``mean=[127.5] * 3, std=[127.5] * 3`` (checked at run time).

    Args:
        pretrained (str, optional): a diffusers folder (or Hub id when online).
        components (dict, optional): kwargs of
            :func:`~mmdatasetdm.diffusion.build_components` (random tiny
            models, for tests). Exactly one of ``pretrained``/``components``.
        dtype (str): ``'fp32'``, ``'fp16'``, ``'bf16'`` or ``'auto'`` (fp16 where
            CUDA is visible, else fp32) for the UNet/VAE/text encoder.
        timestep (int): the diffusion timestep features are read at.
        capture (dict, optional): :class:`~mmdatasetdm.diffusion.CaptureConfig` kwargs.
        class_names (Sequence[str], optional): used for the default prompt
            when ``forward`` gets no prompts.
        prompt_template (str): default prompt, formatted with the class names
            joined by ``' and '``.
        noise_seed (int, optional): seed of the ``add_noise`` noise of every
            image (features become a deterministic function of the image and
            prompt, whatever the batch). None: draw from the global generator.
        feature_cache (dict, optional): turn on the on-disk feature cache
            (off by default): ``dict(dir='work_dirs/feature_cache')`` plus
            optional ``dtype='fp16'|'fp32'`` (storage precision),
            ``verify=True`` (checksum on read) and
            ``model_identity='stat'|'content'`` (how the model folder is
            fingerprinted); see
            :mod:`mmdatasetdm.models.backbones.feature_cache`. Needs a
            ``noise_seed``. With it on, the output is the stored (fp16-rounded)
            pyramid on hits and misses alike.
        init_cfg (dict, optional): mmengine init config (unused by the frozen part).

    Attributes:
        num_forwards (int): UNet passes run (one per batch of computed images).
        num_images_computed (int): images passed through the UNet.
        feature_cache (FeatureCache | None): the cache, with its ``hits``,
            ``misses`` and ``corrupt`` counters (see :attr:`cache_stats`).
    """

    def __init__(self, pretrained: Optional[str] = None, components: Optional[dict] = None,
                 dtype: str = 'fp32', timestep: int = 1, capture: Optional[dict] = None,
                 class_names: Optional[Sequence[str]] = None,
                 prompt_template: str = 'a photo of a {}', noise_seed: Optional[int] = 0,
                 feature_cache: Optional[dict] = None, init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if (pretrained is None) == (components is None):
            raise ValueError('DiffusionBackbone needs exactly one of `pretrained` (a diffusers '
                             'folder) or `components` (config dicts of a tiny model)')
        if pretrained is not None:
            frozen = load_components(pretrained, dtype=dtype)
        else:
            frozen = build_components(**components, dtype=dtype)
        if dtype == 'auto':  # the cache key names the dtype the model really runs in
            dtype = 'fp16' if resolve_dtype(dtype) == torch.float16 else 'fp32'
        self.dtype_name = dtype
        self._source = str(pretrained) if pretrained is not None else 'components'
        # Stored outside the module tree on purpose (see the class docstring).
        self.__dict__['extractor'] = DiffusionFeatureExtractor(
            frozen, capture=capture, timestep=timestep, feature_dtype=torch.float32)
        self.class_names = list(class_names) if class_names else []
        self.prompt_template = prompt_template
        self.noise_seed = noise_seed
        self.num_forwards = 0
        self.num_images_computed = 0
        self.feature_cache: Optional[FeatureCache] = None
        if feature_cache is not None:
            self._enable_cache(dict(feature_cache), pretrained, components)

    # ----------------------------------------------------------------- info
    @property
    def components(self):
        return self.extractor.components

    @property
    def feature_info(self) -> List[dict]:
        """``dict(name, stride, channels)`` per level, finest first."""
        return self.extractor.capture.feature_info()

    @property
    def out_channels(self) -> List[int]:
        return [info['channels'] for info in self.feature_info]

    @property
    def out_strides(self) -> List[int]:
        return [info['stride'] for info in self.feature_info]

    @property
    def attention_strides(self) -> List[int]:
        return self.extractor.capture.attention_strides()

    @property
    def num_tokens(self) -> int:
        return self.components.tokenizer.model_max_length

    @property
    def size_divisor(self) -> int:
        return self.extractor.size_divisor

    def output_shape(self) -> PyramidShape:
        """Strides and channels of every level, attention strides, tokens and
        size divisor of this (loaded) backbone; equal to :meth:`shape_of` its
        config."""
        return PyramidShape(levels=self.feature_info, attention_strides=self.attention_strides,
                            num_tokens=self.num_tokens, size_divisor=self.size_divisor,
                            source=self._source)

    @staticmethod
    def shape_of(pretrained: Optional[str] = None, components: Optional[dict] = None,
                 capture: Optional[dict] = None, **unused) -> PyramidShape:
        """The :meth:`output_shape` of a backbone with these arguments, read
        from the model's configs without loading weights (what
        :func:`~mmdatasetdm.models.input_shape.complete_from_backbone` fills
        head configs with)."""
        return pyramid_shape(pretrained=pretrained, components=components, capture=capture)

    # ---------------------------------------------------------------- cache
    def _enable_cache(self, cfg: dict, pretrained: Optional[str], components: Optional[dict]):
        if self.noise_seed is None:
            raise ValueError('feature_cache needs a fixed noise_seed: with noise_seed=None the '
                             'features are random and a cached copy would freeze one draw')
        mode = cfg.pop('model_identity', 'stat')
        if pretrained is not None:
            folder = pretrained
            if not osp.isdir(folder):
                folder = _hub_snapshot(pretrained)
            self._model_identity = dict(kind='folder', mode=mode,
                                        files=model_fingerprint(folder, mode))
        else:
            self._model_identity = dict(kind='components', config=components)
        self.feature_cache = FeatureCache(**cfg)

    def cache_config(self) -> dict:
        """Everything besides the input, prompt and words that the features
        depend on (hashed into every cache key; read at call time, so
        changing e.g. ``extractor.timestep`` invalidates)."""
        import diffusers
        return dict(model=self._model_identity, dtype=self.dtype_name,
                    timestep=self.extractor.timestep,
                    capture=asdict(self.extractor.capture.config),
                    noise_seed=self.noise_seed, feature_dtype=str(self.extractor.feature_dtype),
                    versions=dict(torch=torch.__version__, diffusers=diffusers.__version__))

    @property
    def cache_stats(self) -> dict:
        """``hits``, ``misses``, ``corrupt``, ``writes`` of the cache (zeros
        when it is off), ``forwards`` and ``images_computed``."""
        stats = self.feature_cache.stats() if self.feature_cache is not None else dict(
            hits=0, misses=0, corrupt=0, writes=0)
        return dict(stats, forwards=self.num_forwards, images_computed=self.num_images_computed)

    # --------------------------------------------------------------- frozen
    def _apply(self, fn, *args, **kwargs):
        """Move/cast the hidden diffusion networks along with the module."""
        super()._apply(fn, *args, **kwargs)
        for module in self.components.modules():
            module._apply(fn)
        return self

    def train(self, mode: bool = True):
        super().train(mode)
        for module in self.components.modules():
            module.eval()
        return self

    def default_prompt(self) -> str:
        return self.prompt_template.format(' and '.join(self.class_names)).strip()

    # -------------------------------------------------------------- forward
    @torch.no_grad()
    def forward(self, inputs: Tensor, prompts: Optional[Sequence[str]] = None,
                words: Optional[Sequence[Sequence[str]]] = None) -> FeaturePyramid:
        """Read the feature pyramid of a batch of images.

        Args:
            inputs (Tensor): shape (B, 3, H, W), float in [-1, 1].
            prompts (Sequence[str], optional): one prompt per image; default
                :meth:`default_prompt` for all.
            words (Sequence[Sequence[str]], optional): per image, the words whose
                token positions to record; default the class names.

        Returns:
            FeaturePyramid: levels of shape (B, C_i, H/s_i, W/s_i) and attention
            maps of shape (B, T, h, w), float32, on the input's device.
        """
        batch = inputs.shape[0]
        if prompts is None:
            prompts = [self.default_prompt()] * batch
        if words is None:
            words = [self.class_names] * batch
        if self.feature_cache is None:
            return self._compute(inputs, prompts, words)
        check_image_range(inputs)  # hits never reach the extractor's own check
        pyramid = self.feature_cache.fetch(inputs, prompts, words, json_sha256(self.cache_config()),
                                           self._compute)
        return pyramid.to(device=inputs.device)

    def _compute(self, inputs: Tensor, prompts: Sequence[str],
                 words: Sequence[Sequence[str]]) -> FeaturePyramid:
        """One UNet pass over ``inputs`` (counted)."""
        self.num_forwards += 1
        self.num_images_computed += inputs.shape[0]
        batch = inputs.shape[0]
        generator = None
        if self.noise_seed is not None:
            # one generator per image: an image's noise (and features) do not
            # depend on its position in the batch
            generator = [torch.Generator(device=inputs.device).manual_seed(self.noise_seed)
                         for _ in range(batch)]
        pyramid = self.extractor.invert(inputs, prompts, words=words, generator=generator)
        return pyramid.to(device=inputs.device)


def _hub_snapshot(repo_id: str) -> str:
    """The local folder of an already downloaded Hub model (to fingerprint it)."""
    try:
        from huggingface_hub import snapshot_download
        return snapshot_download(repo_id, local_files_only=True)
    except Exception as err:
        raise ValueError(f'feature_cache cannot identify the model {repo_id!r}: it is not a local '
                         'folder nor a downloaded Hub snapshot; point `pretrained` at a local '
                         f'diffusers folder ({type(err).__name__}: {err})') from err
