"""Writers of a generated dataset: COCO annotations and the sharded, resumable writer.

The files themselves are written by :mod:`mmdatasetdm.fileio`; the folder
layout is :mod:`mmdatasetdm.fileio.synthetic_format`'s.
"""
from .coco import (COCO_KEYPOINT_NAMES, KeypointMeta, annotation_id_of, decode_mask, encode_mask,
                   image_id_of, instance_annotations, keypoint_annotations)
from .shard import ShardWriter, describe_differences, merge_shards

__all__ = [
    'COCO_KEYPOINT_NAMES', 'KeypointMeta', 'annotation_id_of', 'decode_mask', 'encode_mask',
    'image_id_of', 'instance_annotations', 'keypoint_annotations', 'ShardWriter',
    'describe_differences', 'merge_shards'
]
