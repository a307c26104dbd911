"""The frozen generator: Stable Diffusion components and feature capture.

This layer uses torch, diffusers and transformers only (no OpenMMLab), so it
can be used on its own.
"""
from .architectures import SD15_ARCHITECTURE, SD21_ARCHITECTURE, architecture
from .capture import CaptureConfig, CrossAttentionRecorder, FeatureCapture
from .components import (DiffusionComponents, build_components, build_scheduler, load_components,
                         resolve_dtype, tensors_sha256)
from .editing import (AttentionInjection, InjectionWindow, PromptToPromptProcessor,
                      prompt_to_prompt, sample_edit, token_alignment)
from .extractor import DiffusionFeatureExtractor, check_image_range
from .pyramid import FeatureLevel, FeaturePyramid
from .sampling import CaptureSampler, SampleBatch, SamplingConfig
from .shape import PyramidShape, pyramid_shape
from .text import PromptEncoder, tokenize, word_token_positions
from .tokenizer import learn_bpe, save_clip_tokenizer_files

__all__ = [
    'CaptureConfig', 'CrossAttentionRecorder', 'FeatureCapture', 'DiffusionComponents',
    'build_components', 'build_scheduler', 'load_components', 'resolve_dtype', 'tensors_sha256',
    'DiffusionFeatureExtractor', 'check_image_range', 'FeatureLevel', 'FeaturePyramid',
    'CaptureSampler', 'SampleBatch', 'SamplingConfig', 'PromptEncoder', 'tokenize',
    'word_token_positions', 'learn_bpe', 'save_clip_tokenizer_files', 'PyramidShape',
    'pyramid_shape', 'SD15_ARCHITECTURE', 'SD21_ARCHITECTURE', 'architecture',
    'AttentionInjection', 'InjectionWindow', 'PromptToPromptProcessor', 'prompt_to_prompt',
    'sample_edit', 'token_alignment'
]
