"""Heads that read their input shape from the diffusion backbone.

A P-Decoder config names its backbone (a diffusers folder or config dicts)
and leaves out what follows from it: the channels and strides of every UNet
feature level, the strides of the cross-attention maps and the number of text
tokens. :func:`complete_from_backbone` reads the backbone's announced
:class:`~mmdatasetdm.diffusion.PyramidShape` (configs only, no weights) and
fills those keys in the head and neck configs before the model builds them,
so SD-1.x, SD-2.x and the tiny demo model share one P-Decoder config per task
and differ only in ``backbone.pretrained``.

Filled when absent or None (a written value must agree with the backbone, or
the build stops and names the key):

=========================== ============================================
component type              keys
=========================== ============================================
``HypercolumnNeck``         ``in_channels``, ``in_strides``
``HypercolumnPixelDecoder`` ``strides``
``Mask2FormerHead``         ``in_channels`` (when its pixel decoder is a
                            ``HypercolumnPixelDecoder``)
``WordAttentionHead``       its ``attention`` dict (and its neck's keys)
their ``attention`` dicts   ``strides`` (the backbone's attention
                            strides; a written subset is allowed) and,
                            for ``tokens='all'``, ``num_tokens``
data preprocessors          ``size_divisor`` / ``pad_size_divisor`` (a
                            written value, or a fixed ``size``, must be
                            a multiple)
=========================== ============================================
"""
import copy
from typing import Any, Mapping, Optional

from mmdatasetdm.diffusion import PyramidShape

BACKBONE_TYPE = 'DiffusionBackbone'
#: model arguments that never hold a head or neck config
_NOT_PARTS = ('backbone', 'train_cfg', 'test_cfg', 'init_cfg', 'pretrained', 'data_preprocessor')
_DIVISOR_KEYS = {'SegDataPreProcessor': 'size_divisor', 'DetDataPreprocessor': 'pad_size_divisor'}


def _type_name(cfg: Mapping) -> str:
    kind = cfg.get('type', '')
    kind = kind if isinstance(kind, str) else getattr(kind, '__name__', '')
    return kind.rsplit('.', 1)[-1]


def backbone_shape(backbone: Mapping) -> Optional[PyramidShape]:
    """The announced shape of a ``DiffusionBackbone`` config; None for other backbones."""
    if not isinstance(backbone, Mapping) or _type_name(backbone) != BACKBONE_TYPE:
        return None
    from .backbones.diffusion_backbone import DiffusionBackbone
    return DiffusionBackbone.shape_of(**{k: v for k, v in backbone.items() if k != 'type'})


class _Filler:
    """Fills one model config from one shape, naming keys by their config path."""

    def __init__(self, shape: PyramidShape):
        self.shape = shape

    def _set(self, cfg: dict, key: str, value: Any, path: str, exact: bool = True):
        given = cfg.get(key)
        if given is None:
            cfg[key] = value
            return
        given_list = list(given) if isinstance(given, (list, tuple)) else given
        value_list = list(value) if isinstance(value, (list, tuple)) else value
        if exact and given_list != value_list:
            raise ValueError(
                f'{path}.{key} = {given_list} but the diffusion backbone ({self.shape.source}) '
                f'gives {value_list}; delete the key from the config to take the backbone\'s')
        if not exact and not set(given_list) <= set(value_list):
            raise ValueError(
                f'{path}.{key} = {given_list} asks for attention maps the backbone '
                f'({self.shape.source}) does not record (it has strides {value_list}); delete '
                'the key to take them all, or widen backbone.capture.attention_strides')

    def _attention(self, cfg: dict, path: str):
        attention = cfg.get('attention')
        if not attention:
            return
        self._set(attention, 'strides', self.shape.attention_strides, f'{path}.attention',
                  exact=False)
        if attention.get('tokens', 'all') == 'all':
            self._set(attention, 'num_tokens', self.shape.num_tokens, f'{path}.attention')

    def visit(self, cfg: Any, path: str):
        if isinstance(cfg, (list, tuple)):
            for i, item in enumerate(cfg):
                self.visit(item, f'{path}[{i}]')
            return
        if not isinstance(cfg, dict):
            return
        kind = _type_name(cfg)
        if kind == 'HypercolumnNeck':
            self._set(cfg, 'in_channels', self.shape.channels, path)
            self._set(cfg, 'in_strides', self.shape.strides, path)
            self._attention(cfg, path)
        elif kind == 'HypercolumnPixelDecoder':
            self._set(cfg, 'strides', self.shape.strides, path)
            self._attention(cfg, path)
        elif kind == 'WordAttentionHead':
            self._attention(cfg, path)
        elif kind == 'Mask2FormerHead' and isinstance(cfg.get('pixel_decoder'), dict) \
                and _type_name(cfg['pixel_decoder']) == 'HypercolumnPixelDecoder':
            self._set(cfg, 'in_channels', self.shape.channels, path)
        for key, value in cfg.items():
            if isinstance(value, (dict, list, tuple)):
                self.visit(value, f'{path}.{key}')

    def preprocessor(self, cfg: dict, path: str):
        key = _DIVISOR_KEYS.get(_type_name(cfg))
        if key is None:
            return
        divisor = self.shape.size_divisor
        size = cfg.get('size')
        if size is not None:  # a fixed pad size excludes a divisor (mmseg's stack_batch)
            if any(int(side) % divisor for side in size):
                raise ValueError(f'{path}.size = {list(size)} is not a multiple of the '
                                 f'diffusion backbone\'s size divisor {divisor} '
                                 f'({self.shape.source})')
            return
        if cfg.get(key) is None:
            cfg[key] = divisor
        elif cfg[key] % divisor:
            raise ValueError(f'{path}.{key} = {cfg[key]} is not a multiple of the diffusion '
                             f'backbone\'s size divisor {divisor} ({self.shape.source})')


def complete_from_backbone(kwargs: Mapping) -> dict:
    """A model's constructor arguments with the backbone-dependent keys filled.

    Args:
        kwargs (Mapping): the model's arguments (``backbone``, ``decode_head``,
            ``neck``, ``panoptic_head``, ``head``, ``data_preprocessor``...).

    Returns:
        dict: a completed deep copy (``kwargs`` is not changed); unchanged
        when the backbone is not a ``DiffusionBackbone``.

    Raises:
        ValueError: a written key disagrees with the backbone.
    """
    kwargs = copy.deepcopy(dict(kwargs))
    shape = backbone_shape(kwargs.get('backbone'))
    if shape is None:
        return kwargs
    filler = _Filler(shape)
    for key, value in kwargs.items():
        if key not in _NOT_PARTS and isinstance(value, (dict, list, tuple)):
            filler.visit(value, f'model.{key}')
    if isinstance(kwargs.get('data_preprocessor'), dict):
        filler.preprocessor(kwargs['data_preprocessor'], 'model.data_preprocessor')
    return kwargs
