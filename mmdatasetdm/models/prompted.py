"""How prompts reach the diffusion backbone, shared by every toolbox's model.

The OpenMMLab models call ``self.extract_feat(inputs)`` from inside
``loss``/``predict``/``_forward`` without the data samples, but the diffusion
backbone needs one prompt per image. :class:`PromptedBackboneMixin` keeps the
samples' metainfo of the batch being processed for the duration of one
``forward`` call and reads the prompts from it, so the toolboxes' own
``loss``/``predict`` code runs unchanged.

Per-sample prompts come from the metainfo keys ``prompt`` (str) and
``prompt_words`` (list of the class names it mentions), set by the
:class:`~mmdatasetdm.datasets.transforms.AddPrompt` transform and packed by
the toolbox's ``Pack*Inputs`` (list them in its ``meta_keys``). Samples
without them get the backbone's default prompt.
"""
from contextlib import contextmanager
from typing import List, Optional, Sequence, Tuple

from torch import Tensor

from mmdatasetdm.diffusion import FeaturePyramid
from .input_shape import complete_from_backbone

PROMPT_KEY = 'prompt'
PROMPT_WORDS_KEY = 'prompt_words'


def prompts_from_metas(metas: Optional[Sequence[dict]], batch_size: int
                       ) -> Tuple[Optional[List[str]], Optional[List[List[str]]]]:
    """The prompts (and their words) of a batch, or (None, None) if it has none.

    Raises:
        ValueError: if only some samples carry a prompt, or the number of
            samples differs from the batch size.
    """
    if not metas:
        return None, None
    has = [PROMPT_KEY in meta for meta in metas]
    if not any(has):
        return None, None
    if not all(has):
        raise ValueError(f'only {sum(has)} of {len(metas)} samples carry a {PROMPT_KEY!r}; add the '
                         'AddPrompt transform to every pipeline of the dataloader')
    if len(metas) != batch_size:
        raise ValueError(f'{len(metas)} prompts for a batch of {batch_size} images')
    prompts = [meta[PROMPT_KEY] for meta in metas]
    words = [list(meta.get(PROMPT_WORDS_KEY, ())) for meta in metas]
    return prompts, words


class PromptedBackboneMixin:
    """Mixin for an OpenMMLab model whose backbone is a ``DiffusionBackbone``.

    Put it first in the bases: ``class X(PromptedBackboneMixin, EncoderDecoder)``.
    The head and neck configs take the backbone's feature channels, strides,
    attention strides and token count where they leave them out
    (:func:`~mmdatasetdm.models.input_shape.complete_from_backbone`).
    """

    def __init__(self, **kwargs):
        super().__init__(**complete_from_backbone(kwargs))

    _batch_metas: Optional[List[dict]] = None
    _given_features: Optional[FeaturePyramid] = None
    #: what the model annotates: 'semantic', 'instance', 'depth' or 'pose'
    task: str = ''

    def forward(self, inputs, data_samples=None, mode: str = 'tensor'):
        self._batch_metas = [s.metainfo for s in data_samples] if data_samples else None
        try:
            return super().forward(inputs, data_samples, mode)
        finally:
            self._batch_metas = None

    @contextmanager
    def use_features(self, pyramid: FeaturePyramid):
        """Inside this block the backbone is not run: ``extract_feat`` uses
        ``pyramid`` (e.g. features captured while sampling), so the toolbox's
        ``predict`` decodes them with all its usual post-processing."""
        self._given_features = pyramid
        try:
            yield self
        finally:
            self._given_features = None

    def extract_feat(self, inputs: Tensor, *args, **kwargs):
        """Backbone (with this batch's prompts) and neck."""
        if self._given_features is not None:
            x = self._given_features
            if x.batch_size != inputs.shape[0]:
                raise ValueError(f'given features hold {x.batch_size} images but the batch has '
                                 f'{inputs.shape[0]}')
        else:
            prompts, words = prompts_from_metas(self._batch_metas, inputs.shape[0])
            x = self.backbone(inputs, prompts=prompts, words=words)
        if self.with_neck:
            x = self.neck(x)
        return x
