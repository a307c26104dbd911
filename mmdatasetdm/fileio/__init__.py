"""File I/O (:mod:`.files`) and the synthetic-dataset format (:mod:`.synthetic_format`).

Neither knows OpenMMLab or diffusers: they need only numpy and PIL.
"""
from .files import (DEFAULT_DEPTH_SCALE, IGNORE_INDEX, atomic_copy, atomic_path, atomic_write_bytes,
                    atomic_write_json, atomic_write_text, dumps_json, encode_depth, encode_image,
                    encode_png, file_sha256, is_temp_name, json_sha256, normalise_image_ext,
                    read_confidence, read_depth, read_jsonl, read_rgb, read_semantic,
                    remove_stale_temps, tree_sha256, voc_palette, write_confidence, write_depth,
                    write_image, write_semantic)
from .synthetic_format import (DATASET_META, FORMAT_VERSION, INSTANCES_JSON, KEYPOINTS_JSON,
                               MANIFEST, PREDICTIONS_IDENTITY, PREDICTIONS_META,
                               PREDICTIONS_VERSION, SHARD_META, TASKS, completed_indices,
                               image_id_of, list_shard_dirs, read_dataset_meta, read_json,
                               read_manifest, read_predictions_meta, sample_file, shard_dir,
                               verify_image, write_manifest)

__all__ = [
    'DEFAULT_DEPTH_SCALE', 'IGNORE_INDEX', 'atomic_copy', 'atomic_path', 'atomic_write_bytes',
    'atomic_write_json', 'atomic_write_text', 'dumps_json', 'encode_depth', 'encode_image',
    'encode_png', 'file_sha256', 'is_temp_name', 'json_sha256', 'normalise_image_ext',
    'read_depth', 'read_jsonl', 'read_rgb', 'read_semantic', 'remove_stale_temps', 'tree_sha256',
    'voc_palette', 'write_depth', 'write_image', 'write_semantic', 'read_confidence',
    'write_confidence', 'DATASET_META',
    'FORMAT_VERSION', 'INSTANCES_JSON', 'KEYPOINTS_JSON', 'MANIFEST', 'PREDICTIONS_IDENTITY',
    'PREDICTIONS_META', 'PREDICTIONS_VERSION', 'SHARD_META', 'TASKS', 'read_predictions_meta',
    'completed_indices', 'image_id_of', 'list_shard_dirs', 'read_dataset_meta', 'read_json',
    'read_manifest', 'sample_file', 'shard_dir', 'verify_image', 'write_manifest'
]
