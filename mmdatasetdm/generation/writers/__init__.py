"""Writers of the generated dataset's on-disk formats (DESIGN.md §4)."""
from .atomic import (atomic_copy, atomic_path, atomic_write_bytes, atomic_write_json, atomic_write_text,
                     remove_stale_temps)
from .coco import (COCO_KEYPOINT_NAMES, KeypointMeta, annotation_id_of, decode_mask, encode_mask, image_id_of,
                   instance_annotations, keypoint_annotations)
from .images import (DEFAULT_DEPTH_SCALE, IGNORE_INDEX, read_depth, read_semantic, voc_palette, write_depth,
                     write_image, write_semantic)
from .shard import (INSTANCES_JSON, KEYPOINTS_JSON, MANIFEST, ShardWriter, completed_indices, list_shard_dirs,
                    merge_shards, read_manifest, shard_dir)

__all__ = [
    'atomic_copy', 'atomic_path', 'atomic_write_bytes', 'atomic_write_json', 'atomic_write_text',
    'remove_stale_temps', 'COCO_KEYPOINT_NAMES', 'KeypointMeta', 'annotation_id_of', 'decode_mask', 'encode_mask',
    'image_id_of', 'instance_annotations', 'keypoint_annotations', 'DEFAULT_DEPTH_SCALE', 'IGNORE_INDEX',
    'read_depth', 'read_semantic', 'voc_palette', 'write_depth', 'write_image', 'write_semantic',
    'INSTANCES_JSON', 'KEYPOINTS_JSON', 'MANIFEST', 'ShardWriter', 'completed_indices', 'list_shard_dirs',
    'merge_shards', 'read_manifest', 'shard_dir'
]
