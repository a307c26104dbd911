"""Build each sample's text prompt for the diffusion backbone."""
from typing import Optional, Sequence

import numpy as np
from mmcv.transforms import BaseTransform

from mmdatasetdm.registry import TRANSFORMS


@TRANSFORMS.register_module()
class AddPrompt(BaseTransform):
    """Set ``results['prompt']`` and ``results['prompt_words']``.

    The prompt names classes: those present in the sample's labels
    (``source='present'``: ``gt_seg_map`` of mmseg or ``gt_bboxes_labels`` of
    mmdet), every class (``'all'``), or the sample's caption (``'caption'``,
    whose words are the class names it contains). Class names are joined with
    ``' and '`` in class-id order (deterministic), and
    ``prompt_words`` lists them so the backbone can find their tokens.

    Remember to add ``'prompt'`` and ``'prompt_words'`` to the ``meta_keys`` of
    the toolbox's ``Pack*Inputs``.

    Args:
        classes (Sequence[str]): class names indexed by label id.
        source (str): ``'present'``, ``'all'`` or ``'caption'``.
        template (str): formatted with the joined class names.
        empty_prompt (str): the prompt when no class is present.
        exclude (Sequence[str]): names never put in a prompt (e.g. background).
        ignore_index (int): label id that is not a class (semantic maps).
        caption_key (str): results key holding the caption for ``'caption'``.
        word_dropout (float): for ``'present'`` and ``'all'``, the probability
            that a class is left out of the prompt (each class independently,
            drawn from numpy's global RNG, which mmengine seeds). A generated
            image often shows objects its prompt does not name; a decoder
            trained only on complete prompts learns to call every unnamed
            object background, while one trained with dropped words learns to
            find classes from the image features alone.
    """

    SOURCES = ('present', 'all', 'caption')

    def __init__(self, classes: Sequence[str], source: str = 'present',
                 template: str = 'a photo of a {}', empty_prompt: str = 'a photo',
                 exclude: Sequence[str] = ('background', ), ignore_index: int = 255,
                 caption_key: str = 'caption', word_dropout: float = 0.0):
        if source not in self.SOURCES:
            raise ValueError(f'AddPrompt source must be one of {self.SOURCES}, got {source!r}')
        if not 0.0 <= word_dropout < 1.0:
            raise ValueError(f'AddPrompt word_dropout must be in [0, 1), got {word_dropout}')
        if word_dropout and source == 'caption':
            raise ValueError("AddPrompt word_dropout works with source='present' or 'all', "
                             "not 'caption'")
        if not classes:
            raise ValueError('AddPrompt needs the class names (`classes`)')
        self.classes = list(classes)
        self.source = source
        self.template = template
        self.empty_prompt = empty_prompt
        self.exclude = set(exclude)
        self.ignore_index = ignore_index
        self.caption_key = caption_key
        self.word_dropout = float(word_dropout)

    def _present_ids(self, results: dict) -> Optional[np.ndarray]:
        if 'gt_seg_map' in results:
            ids = np.unique(results['gt_seg_map'])
            return ids[ids != self.ignore_index]
        if 'gt_bboxes_labels' in results:
            return np.unique(np.asarray(results['gt_bboxes_labels']))
        raise KeyError("AddPrompt(source='present') needs 'gt_seg_map' or 'gt_bboxes_labels' in "
                       'the results: put it after the annotation loading transform')

    def transform(self, results: dict) -> dict:
        if self.source == 'caption':
            caption = results.get(self.caption_key)
            if not caption:
                raise KeyError(f"AddPrompt(source='caption') found no {self.caption_key!r} for "
                               f"{results.get('img_path', 'a sample')}")
            lowered = f' {caption.lower()} '
            words = [c for c in self.classes
                     if c not in self.exclude and f' {c.lower()} ' in lowered]
            results['prompt'], results['prompt_words'] = caption, words
            return results
        if self.source == 'all':
            ids = range(len(self.classes))
        else:
            ids = [int(i) for i in self._present_ids(results)]
            bad = [i for i in ids if not 0 <= i < len(self.classes)]
            if bad:
                raise ValueError(f'label ids {bad} of {results.get("img_path", "a sample")} are '
                                 f'outside the {len(self.classes)} classes')
        words = [self.classes[i] for i in sorted(ids) if self.classes[i] not in self.exclude]
        if self.word_dropout:
            keep = np.random.rand(len(words)) >= self.word_dropout
            words = [w for w, k in zip(words, keep) if k]
        results['prompt'] = self.template.format(
            ' and '.join(words)) if words else self.empty_prompt
        results['prompt_words'] = words
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(source={self.source!r}, template={self.template!r}, '
                f'num_classes={len(self.classes)}, word_dropout={self.word_dropout})')
