"""A semantic P-Decoder head that scores every class through its word's cross-attention."""
from typing import Optional

import torch
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmseg.models.decode_heads.decode_head import BaseDecodeHead
from torch import Tensor, nn

from mmdatasetdm.diffusion import FeaturePyramid
from mmdatasetdm.registry import MODELS
from ..necks.hypercolumn import word_attention


@MODELS.register_module()
class WordAttentionHead(BaseDecodeHead):
    """Semantic segmentation whose object classes share one scoring network.

    The diffusion features are fused at one stride by a ``HypercolumnNeck``
    (without attention). Every object class ``c`` (``attention['words'][c - 1]``)
    gets its logit map from the same small network, applied to the fused
    features together with the cross-attention maps of the class's word in the
    prompt (one map per attention stride, resized to the fused stride); the
    background (class 0) gets its own 1x1 convolution of the features. No
    weight belongs to one class, so a class whose pixels never had a label
    (hidden in training) is scored the same way as those that had, from its
    own word's attention: open-vocabulary labelling of whatever a prompt names,
    as DatasetDM's zero-shot setting needs. A class the prompt does not name has
    a zero attention map and scores like an absent one.

    Args:
        neck (dict): a ``HypercolumnNeck`` config; its channels and strides
            are filled from the backbone (:mod:`mmdatasetdm.models.input_shape`),
            its first output stride is the head's.
        attention (dict): ``dict(tokens='words', words=[...], strides=None,
            normalize=True)``: the object class names (all classes but the
            background, in class-id order) and the attention strides read
            (None: all of the backbone's).
        channels (int): channels of the scoring network.
        num_convs (int): its 3x3 conv-norm-act layers (>= 1).
        word_feature_channels (int, optional): project the features to this many
            channels (1x1 conv) before the scoring network sees them beside a
            word's maps. Few channels carry shape and edges but little of what
            tells the trained classes apart, so the score has to come from the
            word's attention, which is what an unseen class has; None: all.
        kwargs: the rest of ``BaseDecodeHead``'s arguments (``num_classes``,
            which must be ``1 + len(words)``, ``loss_decode``,
            ``norm_cfg``, ``align_corners``, ``ignore_index``...).
    """

    def __init__(self, neck: dict, attention: dict, channels: int = 64, num_convs: int = 2,
                 word_feature_channels: Optional[int] = None, **kwargs):
        attention = dict(attention)
        if attention.get('tokens', 'words') != 'words' or not attention.get('words'):
            raise ValueError("WordAttentionHead needs attention=dict(tokens='words', "
                             'words=[the object class names])')
        if num_convs < 1:
            raise ValueError(f'num_convs must be >= 1, got {num_convs}')
        words = list(attention['words'])
        num_classes = kwargs.pop('num_classes', len(words) + 1)
        if num_classes != len(words) + 1:
            raise ValueError(f'WordAttentionHead: num_classes={num_classes}, but the background '
                             f'and {len(words)} words make {len(words) + 1}')
        neck = dict(neck, attention=None)
        kwargs.setdefault('init_cfg', None)
        kwargs.setdefault('norm_cfg', dict(type='GN', num_groups=min(16, channels)))
        super().__init__(neck['out_channels'], channels, num_classes=len(words) + 1,
                         input_transform=None, **kwargs)
        self.conv_seg = None  # classes have no weights of their own: see _score
        self.neck = MODELS.build(neck)
        self.words = words
        self.attention_strides = sorted(int(s) for s in attention.get('strides') or ())
        if not self.attention_strides:
            raise ValueError('WordAttentionHead: no attention strides (the backbone fills '
                             "attention['strides'] when the config leaves it out)")
        self.normalize = bool(attention.get('normalize', True))
        self.word_features = None if word_feature_channels is None else nn.Conv2d(
            self.in_channels, int(word_feature_channels), 1)
        inputs = (self.in_channels if word_feature_channels is None else
                  int(word_feature_channels)) + len(self.attention_strides)
        self.score_convs = nn.Sequential(*[
            ConvModule(inputs if i == 0 else channels, channels, 3, padding=1,
                       norm_cfg=self.norm_cfg, act_cfg=self.act_cfg) for i in range(num_convs)])
        self.score = nn.Conv2d(channels, 1, 1)
        self.background = nn.Conv2d(self.in_channels, 1, 1)

    def forward(self, inputs: FeaturePyramid) -> Tensor:
        """Class logits at the fused stride.

        Args:
            inputs (FeaturePyramid): the backbone's features, attention maps and
                token positions of the prompts.

        Returns:
            Tensor: (B, 1 + len(words), h, w), background first.
        """
        features = self.neck(inputs)[0]
        if self.dropout is not None:
            features = self.dropout(features)
        batch, _, height, width = features.shape
        maps = torch.stack([
            F.interpolate(word_attention(inputs, s, self.words, self.normalize).to(features),
                          size=(height, width), mode='bilinear', align_corners=False)
            for s in self.attention_strides], dim=2)  # (B, K, S, h, w)
        words = len(self.words)
        shared = features if self.word_features is None else self.word_features(features)
        per_word = torch.cat([shared[:, None].expand(-1, words, -1, -1, -1), maps], dim=2)
        scores = self.score(self.score_convs(per_word.flatten(0, 1)))
        scores = scores.view(batch, words, height, width)
        return torch.cat([self.background(features), scores], dim=1)
