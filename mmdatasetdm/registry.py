"""Registries of mmdatasetdm (scope ``mmdatasetdm``).

They are children of mmengine's root registries, so ``type='mmdatasetdm.X'``
builds from a config whose ``default_scope`` is ``mmseg``, ``mmdet`` or
``mmpose``, without ``custom_imports``: the ``locations`` below are imported
on first use. Inside our classes, nested builds resolve in this scope and then
in mmengine's root, not in the host toolbox, so nested host classes are named
with their scope prefix, e.g. ``type='mmseg.CrossEntropyLoss'``.

Only the kinds of things mmdatasetdm defines have a registry here (the
toolboxes' metrics are used as they are): models, datasets, transforms, data
samplers (``mmdatasetdm.StreamSampler``) and hooks
(``mmdatasetdm.OnlineGenerationHook``). A project registers its classes in
these registries and is imported by a config's ``custom_imports``.
"""
from mmengine.registry import DATA_SAMPLERS as MMENGINE_DATA_SAMPLERS
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import Registry

MODELS = Registry('model', parent=MMENGINE_MODELS, scope='mmdatasetdm',
                  locations=['mmdatasetdm.models'])
DATASETS = Registry('dataset', parent=MMENGINE_DATASETS, scope='mmdatasetdm',
                    locations=['mmdatasetdm.datasets'])
TRANSFORMS = Registry('transform', parent=MMENGINE_TRANSFORMS, scope='mmdatasetdm',
                      locations=['mmdatasetdm.datasets.transforms'])
DATA_SAMPLERS = Registry('data sampler', parent=MMENGINE_DATA_SAMPLERS, scope='mmdatasetdm',
                         locations=['mmdatasetdm.datasets'])
HOOKS = Registry('hook', parent=MMENGINE_HOOKS, scope='mmdatasetdm',
                 locations=['mmdatasetdm.engine'])
# Prompt sources and samplers of the generation engine (no mmengine parent:
# only mmdatasetdm builds them).
PROMPTS = Registry('prompt source', scope='mmdatasetdm', locations=['mmdatasetdm.generation'])
