"""A gallery of generated samples with their annotations, from a generated dataset folder.

Reads what ``tools/generate.py`` writes (``dataset.json``, ``manifest.jsonl``,
``images/``, ``semantic/``, ``depth/``, ``instances.json``,
``keypoints.json``) and draws each accepted sample as one tile: the image,
then one panel per annotation it has — the semantic mask in colour, the depth
colour map, the instances (mmdet's visualizer), the keypoints (mmpose's
visualizer) — tiled into one PNG grid. On request each tile is captioned with
its sample's index and prompt, and a legend under the grid names the colours of
the classes (and keypoints) drawn.
"""
import contextlib
import io
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np

from mmdatasetdm.fileio import (IGNORE_INDEX, INSTANCES_JSON, KEYPOINTS_JSON, image_id_of,
                                read_dataset_meta, read_depth, read_manifest, read_rgb,
                                read_semantic)
from .grid import caption_tile, legend_strip, save_png, stack_vertically, tile_images
from .overlay import build_visualizer, default_palette, draw_sample

IGNORE_COLOR = (255, 255, 255)


def semantic_panel(labels: np.ndarray, palette: Sequence[Sequence[int]]) -> np.ndarray:
    """Class ids as colours; ids without a colour (255 = ignore) are white.

    Args:
        labels (np.ndarray): (H, W) class ids.
        palette (Sequence): RGB colour of each class id.

    Returns:
        np.ndarray: uint8 (H, W, 3).
    """
    lut = np.zeros((256, 3), np.uint8)
    lut[:] = IGNORE_COLOR
    colors = np.asarray(palette, dtype=np.uint8).reshape(-1, 3)[:255]
    lut[:len(colors)] = colors
    return lut[np.asarray(labels, dtype=np.uint8)]


def depth_panel(depth: np.ndarray) -> np.ndarray:
    """A depth map as a colour map (mmengine's ``draw_featmap``, as mmseg draws depth).

    Args:
        depth (np.ndarray): (H, W) depth.

    Returns:
        np.ndarray: uint8 (H, W, 3).
    """
    import torch
    from mmengine.visualization import Visualizer
    return Visualizer.draw_featmap(torch.as_tensor(np.asarray(depth, np.float32))[None],
                                   channel_reduction='squeeze_mean')


def _pose_metainfo(keypoint_meta: dict) -> dict:
    """mmpose's parsed metainfo for a generated set's keypoint names and skeleton."""
    from mmpose.datasets.datasets.utils import parse_pose_metainfo
    names, skeleton = list(keypoint_meta['names']), [tuple(s) for s in keypoint_meta['skeleton']]
    colors = default_palette(len(names) + 1)[1:]
    return parse_pose_metainfo(dict(
        dataset_name='generated',
        keypoint_info={i: dict(name=n, id=i, color=list(colors[i]), type='', swap='')
                       for i, n in enumerate(names)},
        skeleton_info={i: dict(link=(names[a], names[b]), id=i, color=[255, 128, 0])
                       for i, (a, b) in enumerate(skeleton)},
        joint_weights=[1.0] * len(names), sigmas=[0.05] * len(names)))


def _annotations_by_image(data_root: str, name: str) -> Dict[int, List[dict]]:
    """Image id -> annotations of a generated set's COCO file (pycocotools' index)."""
    path = osp.join(data_root, name)
    if not osp.isfile(path):
        return {}
    from pycocotools.coco import COCO
    with contextlib.redirect_stdout(io.StringIO()):  # COCO() prints its progress
        coco = COCO(path)
    return coco.imgToAnns


def _instance_sample(anns: List[dict], categories: List[dict], shape):
    import torch
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData

    from mmdatasetdm.generation.writers import decode_mask
    index = {int(c['id']): i for i, c in enumerate(categories)}
    boxes = [[x, y, x + w, y + h] for x, y, w, h in (a['bbox'] for a in anns)]
    masks = [
        decode_mask(a['segmentation']).astype(bool) if 'segmentation' in a else np.zeros(
            shape, bool) for a in anns
    ]
    sample = DetDataSample()
    sample.gt_instances = InstanceData(
        bboxes=torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),
        labels=torch.tensor([index[int(a['category_id'])] for a in anns], dtype=torch.int64),
        masks=torch.from_numpy(np.stack(masks)) if masks else torch.zeros(
            (0, *shape), dtype=torch.bool))
    return sample


def _pose_sample(anns: List[dict], num_keypoints: int):
    from mmengine.structures import InstanceData
    from mmpose.structures import PoseDataSample
    kpts = np.asarray([a['keypoints'] for a in anns], np.float32).reshape(-1, num_keypoints, 3)
    sample = PoseDataSample()
    sample.gt_instances = InstanceData(keypoints=kpts[..., :2],
                                       keypoints_visible=(kpts[..., 2] > 0).astype(np.float32))
    return sample


def resize_tile(tile: np.ndarray, height: int) -> np.ndarray:
    """A tile scaled to ``height`` pixels, keeping its aspect ratio (PIL; nearest
    neighbour when enlarging, so masks stay crisp; box filter when shrinking).

    Args:
        tile (np.ndarray): uint8 (H, W, 3).
        height (int): the new height.

    Returns:
        np.ndarray: uint8 (height, round(W * height / H), 3).
    """
    from PIL import Image
    if int(height) < 1:
        raise ValueError(f'tile height must be >= 1, got {height}')
    h, w = tile.shape[:2]
    if h == int(height):
        return tile
    size = (max(1, round(w * int(height) / h)), int(height))
    method = Image.Resampling.NEAREST if height > h else Image.Resampling.BOX
    return np.asarray(Image.fromarray(np.ascontiguousarray(tile)).resize(size, method))


def _legend(kinds: Dict[str, Dict[int, tuple]], width: int) -> Optional[np.ndarray]:
    """Legend strips of what was drawn, one per kind (``title -> {key: (name, colour)}``)."""
    strip = None
    for title, entries in kinds.items():
        if not entries:
            continue
        part = legend_strip([entries[k] for k in sorted(entries)], max(width, 40), title)
        strip = part if strip is None else stack_vertically(strip, part)
    return strip


def synthetic_gallery(data_root: str, out_png: str, num: int = 16, cols: int = 4,
                      palette: Optional[Sequence[Sequence[int]]] = None, scale: int = 2,
                      pad: int = 2, tile_height: Optional[int] = None, captions: bool = False,
                      legend: bool = False, lines: Optional[Sequence[dict]] = None,
                      meta: Optional[dict] = None,
                      annotations: Optional[Dict[str, List[dict]]] = None) -> Optional[str]:
    """Write a PNG grid of the first accepted generated samples with their annotations.

    A merged set is read from ``data_root``; a set that is not merged (a
    stream folder, whose files live in its shard) is given by ``lines``,
    ``meta`` and ``annotations`` instead.

    Args:
        data_root (str): a generated (merged) dataset folder.
        out_png (str): the PNG to write.
        num (int): number of samples.
        cols (int): samples per row.
        palette (Sequence, optional): RGB colour of each semantic class id;
            default: the dataset's own palette (``dataset.json``), else the
            VOC palette.
        scale (int): integer up-scaling of the written grid.
        pad (int): pixels between tiles.
        tile_height (int, optional): scale every tile to this height (up or
            down) before captions and legend are written, so that their text
            is sharp; default: the images' own size.
        captions (bool): write each tile's sample index and prompt under it.
        legend (bool): add a legend under the grid: the colour and name of
            every semantic class and instance category drawn, and of the
            keypoints.
        lines (Sequence[dict], optional): the manifest lines to draw (their
            files relative to ``data_root``); default: the first ``num``
            accepted lines of ``data_root``'s manifest.
        meta (dict, optional): the set's ``dataset.json`` content; default:
            read from ``data_root``.
        annotations (dict, optional): ``instances`` and ``keypoints``: the
            COCO annotations of the drawn samples; default: read from the
            COCO files of ``data_root``.

    Returns:
        str | None: ``out_png``, or None when the dataset has no accepted sample.
    """
    if lines is None:
        lines = read_manifest(data_root, accepted_only=True, check_files=True)
    lines = list(lines)[:int(num)]
    if not lines:
        return None
    meta = read_dataset_meta(data_root) if meta is None else meta
    if palette is None:
        palette = meta.get('palette') if isinstance(meta.get('palette'), list) else None
    if palette is None:
        palette = default_palette(255)
    if annotations is None:
        instances = _annotations_by_image(data_root, INSTANCES_JSON)
        keypoints = _annotations_by_image(data_root, KEYPOINTS_JSON)
    else:
        instances, keypoints = ({} for _ in range(2))
        for found, key in ((instances, 'instances'), (keypoints, 'keypoints')):
            for ann in annotations.get(key) or []:
                found.setdefault(ann['image_id'], []).append(ann)
    det_vis = pose_vis = None
    tiles = []
    # what the legend names: title -> {key: (name, colour)}
    drawn = {'classes:': {}, 'instances:': {}, 'keypoints:': {}}
    classes = list(meta.get('classes') or [])
    for line in lines:
        files = line['files']
        image = read_rgb(osp.join(data_root, files['image']))
        panels = [image]
        if 'semantic' in files:
            labels = read_semantic(osp.join(data_root, files['semantic']))
            panels.append(semantic_panel(labels, palette))
            for c in np.unique(labels).tolist():
                name = 'ignore' if c == IGNORE_INDEX else (
                    classes[c] if c < len(classes) else f'class {c}')
                color = IGNORE_COLOR if c == IGNORE_INDEX or c >= len(palette) else palette[c]
                drawn['classes:'][c] = (name, tuple(int(v) for v in color))
        if 'depth' in files:
            panels.append(depth_panel(read_depth(osp.join(data_root, files['depth']),
                                                 line.get('depth_scale', meta.get('depth_scale')))))
        image_id = image_id_of(line['index'])
        if meta.get('categories') and image_id in instances:
            if det_vis is None:
                det_vis = build_visualizer('instance',
                                           dict(classes=[c['name'] for c in meta['categories']]))
            sample = _instance_sample(instances[image_id], meta['categories'], image.shape[:2])
            panels.append(draw_sample(det_vis, 'instance', image, sample))
            det_palette = det_vis.dataset_meta['palette']
            for label in sample.gt_instances.labels.tolist():
                drawn['instances:'][label] = (meta['categories'][label]['name'],
                                              tuple(det_palette[label]))
        if meta.get('keypoint_meta') and image_id in keypoints:
            if pose_vis is None:
                pose_vis = build_visualizer('pose', _pose_metainfo(meta['keypoint_meta']))
            names = meta['keypoint_meta']['names']
            sample = _pose_sample(keypoints[image_id], len(names))
            panels.append(draw_sample(pose_vis, 'pose', image, sample))
            colors = default_palette(len(names) + 1)[1:]  # as _pose_metainfo colours them
            drawn['keypoints:'].update({k: (n, colors[k]) for k, n in enumerate(names)})
        height = max(p.shape[0] for p in panels)
        panels = [np.pad(p, ((0, height - p.shape[0]), (0, 0), (0, 0))) for p in panels]
        tile = np.concatenate(panels, axis=1)
        if tile_height is not None:
            tile = resize_tile(tile, tile_height)
        if captions:
            tile = caption_tile(tile, f'{line["index"]}: {line["prompt"]}')
        tiles.append(tile)
    grid = tile_images(tiles, cols, pad)
    strip = _legend(drawn, grid.shape[1]) if legend else None
    if strip is not None:
        grid = stack_vertically(grid, strip)
    return save_png(grid, out_png, scale)
