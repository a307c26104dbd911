"""The demo world: a deterministic procedural generator of labelled scenes.

It stands in for "real" data where no real data set is available: an
unlabelled captioned pool to train a tiny diffusion model on, a few labelled
images for the P-Decoder, a large labelled set as the fully supervised
reference and two test splits (same domain / shifted domain), all with exact
semantic, instance, depth and keypoint ground truth. Pure numpy/PIL/pycocotools.

Typical use::

    from mmdatasetdm.datasets.demo_world import generate_world, make_sample
    generate_world('data/demo_world', seed=0, pool=5000)
    sample = make_sample(seed=0, split='test', index=3)   # regenerate one image

See :mod:`.layout` for the files written and :mod:`.metainfo` for the ids.
"""
from .appearance import DOMAINS, NAMED_COLORS, Domain, get_domain
from .caption import caption_scene
from .layout import WorldLayout, read_captions
from .metainfo import (ARTICULATED_CLASS, CLASS_IDS, DEMO_WORLD_METAINFO, DET_METAINFO,
                       FLIP_PAIRS, IGNORE_INDEX, KEYPOINT_NAMES, KEYPOINT_SIGMAS, OBJECT_CLASSES,
                       POSE_METAINFO, SEG_CLASSES, SEG_METAINFO, SEG_PALETTE, SKELETON,
                       coco_categories, pose_dataset_info)
from .render import (KPT_OCCLUDED, KPT_UNLABELLED, KPT_VISIBLE, RenderedScene, render_scene)
from .sample import DemoSample, InstanceAnnotation, image_rng, make_sample
from .scene import Background, Camera, Lighting, ObjectSpec, Scene, sample_scene
from .writer import (DEFAULT_DEPTH_SCALE, SplitSpec, default_splits, depth_to_png_array,
                     generate_world, read_depth, write_split)

__all__ = [
    'DOMAINS', 'NAMED_COLORS', 'Domain', 'get_domain', 'caption_scene', 'WorldLayout', 'read_captions',
    'ARTICULATED_CLASS', 'CLASS_IDS', 'DEMO_WORLD_METAINFO', 'DET_METAINFO', 'FLIP_PAIRS',
    'IGNORE_INDEX', 'KEYPOINT_NAMES', 'KEYPOINT_SIGMAS', 'OBJECT_CLASSES', 'POSE_METAINFO',
    'SEG_CLASSES', 'SEG_METAINFO', 'SEG_PALETTE', 'SKELETON', 'coco_categories',
    'pose_dataset_info', 'KPT_OCCLUDED', 'KPT_UNLABELLED', 'KPT_VISIBLE', 'RenderedScene',
    'render_scene', 'DemoSample', 'InstanceAnnotation', 'image_rng', 'make_sample', 'Background',
    'Camera', 'Lighting', 'ObjectSpec', 'Scene', 'sample_scene', 'DEFAULT_DEPTH_SCALE',
    'SplitSpec', 'default_splits', 'depth_to_png_array', 'generate_world', 'read_depth',
    'write_split'
]
