"""Generation: prompts, writers of the standard formats (and the engine).

Importing this package registers the prompt sources in
:data:`mmdatasetdm.registry.PROMPTS`.
"""
from .prompts import (BasePromptSource, ClassMatcher, ClassSampler, LanguageModelPrompts, PromptFile,
                      PromptRecord, PromptSampler, TemplatePrompts, sample_seed)
from .writers import (KeypointMeta, ShardWriter, completed_indices, merge_shards, read_depth, read_manifest,
                      read_semantic)

__all__ = [
    'BasePromptSource', 'ClassMatcher', 'ClassSampler', 'LanguageModelPrompts', 'PromptFile', 'PromptRecord',
    'PromptSampler', 'TemplatePrompts', 'sample_seed', 'KeypointMeta', 'ShardWriter', 'completed_indices',
    'merge_shards', 'read_depth', 'read_manifest', 'read_semantic'
]
