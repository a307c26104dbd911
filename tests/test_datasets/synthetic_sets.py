"""Generated datasets for tests, written by the generator's own writer.

Each helper takes the images and true labels of a demo-world split and writes
them exactly as ``tools/generate.py`` would (``ShardWriter`` + ``merge_shards``:
``dataset.json``, ``manifest.jsonl``, ``instances.json`` / ``keypoints.json`` /
16-bit depth PNGs), so the synthetic datasets are tested on the real format
with labels whose correct reading is known. One extra rejected sample is
written each time (datasets must skip it).
"""
import json
import os
import os.path as osp

import numpy as np
from PIL import Image
from pycocotools.coco import COCO

from mmdatasetdm.fileio import read_depth
from mmdatasetdm.generation import PromptRecord, ShardWriter, merge_shards
from projects.demo_world.demo_world import KEYPOINT_NAMES, OBJECT_CLASSES, SKELETON, WorldLayout

# The generator's class order differs from the real set's on purpose, so a
# dataset that used generator ids as labels would fail the tests.
GENERATOR_CLASSES = tuple(reversed(OBJECT_CLASSES))


def _record(index, classes):
    text = 'a photo of ' + ' and '.join(f'a {c}' for c in classes) if classes else 'a photo'
    return PromptRecord(index=index, text=text, classes=tuple(classes), seed=1000 + index)


def _image(world, split, file_name):
    return np.array(Image.open(osp.join(world, WorldLayout.rel_image_dir(split), file_name)))


def _finish(shard, out, rejected_index):
    shard.write_sample(rejected_index, 'a photo of nothing', seed=0, accepted=False,
                       reason='no instance above the score/area thresholds')
    merge_shards([shard.dir], out)
    return out


def instances_from_world(world, split, out, num=None, classes=GENERATOR_CLASSES, score=0.9,
                         low_score_every=3):
    """A generated instance set holding a demo-world split's images and instances.

    Args:
        world (str): the demo world.
        split (str): its split to copy.
        out (str): the generated dataset folder.
        num (int, optional): copy only the first ``num`` images.
        classes (Sequence[str]): the generator's categories (id = position + 1).
        score (float): the score of most annotations.
        low_score_every (int): every ``low_score_every``-th annotation gets
            score ``score / 3`` instead (0: none).

    Returns:
        str: ``out``.
    """
    coco = COCO(WorldLayout(world).instances(split))
    names = {c['id']: c['name'] for c in coco.dataset['categories']}
    categories = [dict(id=i + 1, name=c) for i, c in enumerate(classes)]
    shard = ShardWriter(osp.join(out, 'shards', 'rank00000'), categories=categories,
                        classes=list(classes))
    image_ids = sorted(coco.getImgIds())[:num]
    k = 0
    for index, image_id in enumerate(image_ids):
        info = coco.loadImgs(image_id)[0]
        anns = coco.loadAnns(coco.getAnnIds(imgIds=image_id))
        anns = [a for a in anns if names[a['category_id']] in classes]
        masks = np.stack([coco.annToMask(a) for a in anns]) if anns else \
            np.zeros((0, info['height'], info['width']), np.uint8)
        scores = []
        for _ in anns:
            k += 1
            scores.append(score / 3 if low_score_every and k % low_score_every == 0 else score)
        present = sorted({names[a['category_id']] for a in anns}, key=list(classes).index)
        labels = [list(classes).index(names[a['category_id']]) for a in anns]
        shard.write_sample(index, _record(index, present),
                           image=_image(world, split, info['file_name']),
                           instances=dict(masks=masks, labels=np.array(labels, np.int64),
                                          scores=np.array(scores)),
                           scores=dict(num_instances=len(anns)))
    return _finish(shard, out, len(image_ids))


def poses_from_world(world, split, out, num=None, order=None, skeleton=SKELETON, score=0.8,
                     low_score_every=0):
    """A generated pose set holding a demo-world split's images and keypoints.

    Args:
        world (str): the demo world.
        split (str): its split to copy.
        out (str): the generated dataset folder.
        num (int, optional): copy only the first ``num`` images.
        order (Sequence[int], optional): the generator's keypoint order as
            indices into the world's keypoints (default: the same order).
        skeleton (Sequence[tuple[int, int]]): the generator's skeleton, as
            pairs of the world's keypoint indices.
        score (float): the score of most poses.
        low_score_every (int): every ``low_score_every``-th pose gets score
            ``score / 2`` instead (0: none).

    Returns:
        str: ``out``.
    """
    order = list(range(len(KEYPOINT_NAMES))) if order is None else list(order)
    meta = dict(names=[KEYPOINT_NAMES[i] for i in order],
                skeleton=[(KEYPOINT_NAMES[a], KEYPOINT_NAMES[b]) for a, b in skeleton],
                category=dict(id=1, name='person', supercategory='person'))
    coco = COCO(WorldLayout(world).keypoints(split))
    shard = ShardWriter(osp.join(out, 'shards', 'rank00000'), keypoint_meta=meta,
                        classes=['person'])
    image_ids = sorted(coco.getImgIds())[:num]
    k = 0
    for index, image_id in enumerate(image_ids):
        info = coco.loadImgs(image_id)[0]
        anns = [a for a in coco.loadAnns(coco.getAnnIds(imgIds=image_id)) if a['num_keypoints']]
        kpts = np.array([a['keypoints'] for a in anns], np.float64).reshape(
            len(anns), len(KEYPOINT_NAMES), 3)[:, order]
        boxes = np.array([[x, y, x + w, y + h] for x, y, w, h in (a['bbox'] for a in anns)],
                         np.float64).reshape(-1, 4)
        scores = []
        for _ in anns:
            k += 1
            scores.append(score / 2 if low_score_every and k % low_score_every == 0 else score)
        shard.write_sample(index, _record(index, ['person'] if anns else []),
                           image=_image(world, split, info['file_name']),
                           keypoints=dict(keypoints=kpts, bboxes=boxes, scores=np.array(scores)),
                           scores=dict(num_poses=len(anns)))
    return _finish(shard, out, len(image_ids))


def depth_from_world(world, split, out, num=None, depth_scale=1000.0):
    """A generated depth set holding a demo-world split's images and depth maps.

    Args:
        world (str): the demo world.
        split (str): its split to copy.
        out (str): the generated dataset folder.
        num (int, optional): copy only the first ``num`` images.
        depth_scale (float): the generator's stored value per metre.

    Returns:
        str: ``out``.
    """
    layout = WorldLayout(world)
    with open(layout.meta) as f:
        world_scale = float(json.load(f).get('depth_scale', 1000.0))
    stems = sorted(osp.splitext(n)[0]
                   for n in os.listdir(osp.join(world, layout.rel_depth_dir(split))))[:num]
    shard = ShardWriter(osp.join(out, 'shards', 'rank00000'), depth_scale=depth_scale,
                        classes=list(OBJECT_CLASSES))
    for index, stem in enumerate(stems):
        depth = read_depth(osp.join(world, layout.rel_depth_dir(split), stem + '.png'),
                           world_scale)
        shard.write_sample(index, _record(index, ['tree'] if index % 2 else ['car']),
                           image=_image(world, split, stem + '.png'), depth=depth,
                           # the P-Decoder's maps have no zeros: record the nearest real depth
                           scores=dict(min_depth=float(depth[depth > 0].min()),
                                       max_depth=float(depth.max())))
    return _finish(shard, out, len(stems))


def coco17_poses(out, num=1, seed=0, size=64, index_offset=0):
    """A generated pose set in COCO's 17-keypoint layout (the writer's default skeleton).

    Each image holds one person: a box and 17 labelled keypoints drawn inside it.

    Args:
        out (str): the generated dataset folder.
        num (int): number of images.
        seed (int): random seed.
        size (int): image side.
        index_offset (int): the first sample index.

    Returns:
        str: ``out``.
    """
    from mmdatasetdm.generation.writers import COCO_KEYPOINT_NAMES
    rng = np.random.default_rng(seed)
    shard = ShardWriter(osp.join(out, 'shards', 'rank00000'),
                        keypoint_meta=dict(names=COCO_KEYPOINT_NAMES), classes=['person'])
    for index in range(index_offset, index_offset + num):
        x1, y1 = rng.uniform(2, size / 3, 2)
        x2, y2 = rng.uniform(2 * size / 3, size - 2, 2)
        xy = np.stack([rng.uniform(x1, x2, 17), rng.uniform(y1, y2, 17)], axis=1)
        kpts = np.concatenate([xy, np.full((17, 1), 2.0)], axis=1)[None]
        shard.write_sample(index, _record(index, ['person']),
                           image=rng.integers(0, 255, (size, size, 3), dtype=np.uint8),
                           keypoints=dict(keypoints=kpts, bboxes=[[x1, y1, x2, y2]], scores=[0.9]),
                           scores=dict(num_poses=1))
    shard.write_sample(index_offset + num, 'a photo of nothing', seed=0, accepted=False,
                       reason='no pose above the score threshold')
    merge_shards([shard.dir], out)
    return out
