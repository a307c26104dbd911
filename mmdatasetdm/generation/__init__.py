"""Generation: prompts, writers of the standard formats (and the engine).

Importing this package registers the prompt sources in
:data:`mmdatasetdm.registry.PROMPTS`.
"""
from .prompts import (BasePromptSource, ClassMatcher, ClassSampler, LanguageModelPrompts,
                      PromptFile, PromptRecord, PromptSampler, TemplatePrompts, sample_seed)
from .writers import KeypointMeta, ShardWriter, merge_shards

__all__ = [
    'BasePromptSource', 'ClassMatcher', 'ClassSampler', 'LanguageModelPrompts', 'PromptFile',
    'PromptRecord', 'PromptSampler', 'TemplatePrompts', 'sample_seed', 'KeypointMeta',
    'ShardWriter', 'merge_shards'
]
