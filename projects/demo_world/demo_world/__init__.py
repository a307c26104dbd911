"""The demo world: a deterministic procedural generator of labelled scenes.

It stands in for "real" data where no real data set is available: an
unlabelled captioned pool to train a tiny diffusion model on, a few labelled
images for the P-Decoder, a large labelled set as the fully supervised
reference and two test splits (same domain / shifted domain), all with exact
semantic, instance, depth and keypoint ground truth.

Typical use::

    from projects.demo_world.demo_world import generate_world, make_sample
    generate_world('data/demo_world', seed=0, pool=5000)
    sample = make_sample(seed=0, split='test', index=3)   # regenerate one image

See :mod:`.layout` for the files written and :mod:`.metainfo` for the ids.
Importing this package also registers, in mmdatasetdm's registries, the
dataset types that read a world (``mmdatasetdm.DemoWorldSegDataset``,
``DemoWorldDepthDataset``, ``DemoWorldDetDataset``, ``DemoWorldPoseDataset``;
each when its toolbox is installed) and the ``DemoWorldPrompts`` prompt
source: configs reach them with
``custom_imports = dict(imports=['projects.demo_world.demo_world'])``.
"""
from importlib.util import find_spec

from .appearance import DOMAINS, NAMED_COLORS, Domain, get_domain
from .caption import caption_scene
from .layout import WorldLayout, read_caption_records, read_captions
from .metainfo import (ARTICULATED_CLASS, CLASS_IDS, DEMO_WORLD_METAINFO, DET_METAINFO, FLIP_PAIRS,
                       KEYPOINT_NAMES, KEYPOINT_SIGMAS, OBJECT_CLASSES, POSE_METAINFO, SEG_CLASSES,
                       SEG_METAINFO, SEG_PALETTE, SKELETON, coco_categories, pose_dataset_info)
from .prompts import DemoWorldPrompts
from .render import KPT_OCCLUDED, KPT_UNLABELLED, KPT_VISIBLE, RenderedScene, render_scene
from .sample import DemoSample, InstanceAnnotation, image_rng, make_sample
from .scene import Background, Camera, Lighting, ObjectSpec, Scene, sample_scene
from .writer import WORLD_VERSION, SplitSpec, default_splits, generate_world, write_split

__all__ = [
    'DOMAINS', 'NAMED_COLORS', 'Domain', 'get_domain', 'caption_scene', 'WorldLayout',
    'read_captions', 'read_caption_records', 'ARTICULATED_CLASS', 'CLASS_IDS',
    'DEMO_WORLD_METAINFO', 'DET_METAINFO', 'FLIP_PAIRS', 'KEYPOINT_NAMES', 'KEYPOINT_SIGMAS',
    'OBJECT_CLASSES', 'POSE_METAINFO', 'SEG_CLASSES', 'SEG_METAINFO', 'SEG_PALETTE', 'SKELETON',
    'coco_categories', 'pose_dataset_info', 'DemoWorldPrompts', 'KPT_OCCLUDED', 'KPT_UNLABELLED',
    'KPT_VISIBLE', 'RenderedScene', 'render_scene', 'DemoSample', 'InstanceAnnotation', 'image_rng',
    'make_sample', 'Background', 'Camera', 'Lighting', 'ObjectSpec', 'Scene', 'sample_scene',
    'WORLD_VERSION', 'SplitSpec', 'default_splits', 'generate_world', 'write_split'
]

if find_spec('mmseg') is not None:
    from .seg_dataset import DemoWorldDepthDataset, DemoWorldSegDataset  # noqa: F401
    __all__ += ['DemoWorldSegDataset', 'DemoWorldDepthDataset']
if find_spec('mmdet') is not None:
    from .det_dataset import DemoWorldDetDataset  # noqa: F401
    __all__ += ['DemoWorldDetDataset']
if find_spec('mmpose') is not None:
    from .pose_dataset import DemoWorldPoseDataset  # noqa: F401
    __all__ += ['DemoWorldPoseDataset']
