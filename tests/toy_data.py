"""Small procedurally drawn datasets for model tests (independent of the demo world)."""
import os
import os.path as osp

import numpy as np
from PIL import Image


def make_toy_seg_dataset(root: str, num: int = 4, size: int = 128, seed: int = 0) -> str:
    """Images with a square ('cone', id 1) and a disc ('ball', id 2) of random,
    overlapping colours on a noisy background (id 0), in mmseg's
    img_dir/ann_dir layout."""
    rng = np.random.default_rng(seed)
    os.makedirs(osp.join(root, 'img_dir'), exist_ok=True)
    os.makedirs(osp.join(root, 'ann_dir'), exist_ok=True)
    yy, xx = np.mgrid[:size, :size]
    for i in range(num):
        img = rng.integers(60, 120, (size, size, 3)).astype(np.float32)
        label = np.zeros((size, size), np.uint8)
        side = int(rng.integers(size // 3, size // 2))
        x0, y0 = rng.integers(0, size // 2 - side // 4, 2)
        square = (xx >= x0) & (xx < x0 + side) & (yy >= y0) & (yy < y0 + side)
        r = int(rng.integers(size // 6, size // 4))
        cx, cy = rng.integers(size // 2, size - r, 2)
        disc = (xx - cx) ** 2 + (yy - cy) ** 2 <= r * r
        for mask, cls in ((square, 1), (disc, 2)):
            img[mask] = rng.integers(120, 255, 3)
            label[mask] = cls
        name = f'{i:04d}.png'
        Image.fromarray(img.astype(np.uint8)).save(osp.join(root, 'img_dir', name))
        Image.fromarray(label).save(osp.join(root, 'ann_dir', name))
    return root


def _square_and_disc_masks(rng, size: int, cells):
    """Binary masks of objects placed one per grid cell (so they never
    overlap): a square or a disc, with its class id (1 = cone/square,
    2 = ball/disc)."""
    yy, xx = np.mgrid[:size, :size]
    cell = size // 2
    objects = []
    for row, col, cls in cells:
        half = int(rng.integers(cell // 4, cell // 2 - 2))
        cx = col * cell + cell // 2 + int(rng.integers(-2, 3))
        cy = row * cell + cell // 2 + int(rng.integers(-2, 3))
        if cls == 1:
            mask = (np.abs(xx - cx) <= half) & (np.abs(yy - cy) <= half)
        else:
            mask = (xx - cx) ** 2 + (yy - cy) ** 2 <= half * half
        objects.append((mask, cls))
    return objects


def make_toy_coco_instance_dataset(root: str, num: int = 4, size: int = 128, seed: int = 0) -> str:
    """A COCO instance-segmentation set: each image holds 2-3 non-overlapping
    objects, squares ('cone', category 1) and discs ('ball', category 2),
    with two instances of one class in some images, on a noisy background.

    Layout: ``root/images/{i:04d}.png`` and ``root/annotations/instances.json``
    (RLE masks, xywh boxes, areas).

    Returns:
        str: ``root``.
    """
    import json

    from mmdatasetdm.generation.writers.coco import encode_mask

    rng = np.random.default_rng(seed)
    os.makedirs(osp.join(root, 'images'), exist_ok=True)
    os.makedirs(osp.join(root, 'annotations'), exist_ok=True)
    images, annotations = [], []
    quadrants = [(0, 0), (0, 1), (1, 0), (1, 1)]
    for i in range(num):
        picked = rng.permutation(4)[:2 + i % 2]
        classes = [1, 2] + [int(rng.integers(1, 3))]
        cells = [(*quadrants[q], classes[k]) for k, q in enumerate(picked)]
        img = rng.integers(60, 120, (size, size, 3)).astype(np.float32)
        for mask, cls in _square_and_disc_masks(rng, size, cells):
            img[mask] = rng.integers(120, 255, 3)
            ys, xs = np.nonzero(mask)
            x0, y0 = int(xs.min()), int(ys.min())
            annotations.append(dict(
                id=len(annotations) + 1, image_id=i + 1, category_id=cls, iscrowd=0,
                segmentation=encode_mask(mask), area=float(mask.sum()),
                bbox=[x0, y0, int(xs.max()) + 1 - x0, int(ys.max()) + 1 - y0]))
        name = f'{i:04d}.png'
        Image.fromarray(img.astype(np.uint8)).save(osp.join(root, 'images', name))
        images.append(dict(id=i + 1, file_name=name, width=size, height=size))
    categories = [dict(id=1, name='cone'), dict(id=2, name='ball')]
    with open(osp.join(root, 'annotations', 'instances.json'), 'w') as f:
        json.dump(dict(images=images, annotations=annotations, categories=categories), f)
    return root


def make_toy_depth_dataset(root: str, num: int = 4, size: int = 64, seed: int = 0,
                           scale: float = 1000.0) -> str:
    """A depth set in mmseg's NYU layout (``images/train/*.jpg`` is replaced
    by lossless ``.png``; ``annotations/train/*.png`` are 16-bit depth times
    ``scale``): a floor whose depth grows towards the top of the image and is
    shaded by depth, with one or two boxes standing at a constant depth.

    Returns:
        str: ``root``.
    """
    from mmdatasetdm.fileio import write_depth

    rng = np.random.default_rng(seed)
    for part in ('images/train', 'annotations/train'):
        os.makedirs(osp.join(root, part), exist_ok=True)
    yy, xx = np.mgrid[:size, :size].astype(np.float32)
    for i in range(num):
        near, far = float(rng.uniform(1.0, 1.5)), float(rng.uniform(4.0, 6.0))
        depth = far + (near - far) * yy / (size - 1)
        shade = 230 - 150 * (depth - 1.0) / 5.0
        img = np.stack([shade * 0.9, shade, shade * 0.8], -1) + rng.normal(0, 4, (size, size, 3))
        for _ in range(1 + i % 2):
            w, h = rng.integers(size // 6, size // 3, 2)
            x0 = int(rng.integers(0, size - w))
            bottom = int(rng.integers(size // 2, size))
            y0 = max(0, bottom - h)
            box = (xx >= x0) & (xx < x0 + w) & (yy >= y0) & (yy < bottom)
            depth[box] = depth[bottom - 1, x0]  # standing on the floor
            img[box] = rng.integers(40, 255, 3)
        name = f'scene_{i:04d}.png'
        Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(
            osp.join(root, 'images/train', name))
        write_depth(osp.join(root, 'annotations/train', name), depth, scale=scale)
    return root


# A 5-keypoint "stick figure" skeleton in mmpose's metainfo format.
TOY_POSE_METAINFO = dict(
    dataset_name='toy_pose',
    keypoint_info={
        0: dict(name='head', id=0, color=[255, 0, 0], type='upper', swap=''),
        1: dict(name='left_hand', id=1, color=[0, 255, 0], type='upper', swap='right_hand'),
        2: dict(name='right_hand', id=2, color=[0, 0, 255], type='upper', swap='left_hand'),
        3: dict(name='left_foot', id=3, color=[255, 255, 0], type='lower', swap='right_foot'),
        4: dict(name='right_foot', id=4, color=[0, 255, 255], type='lower', swap='left_foot'),
    },
    skeleton_info={
        0: dict(link=('head', 'left_hand'), id=0, color=[255, 128, 0]),
        1: dict(link=('head', 'right_hand'), id=1, color=[255, 128, 0]),
        2: dict(link=('head', 'left_foot'), id=2, color=[255, 128, 0]),
        3: dict(link=('head', 'right_foot'), id=3, color=[255, 128, 0]),
    },
    joint_weights=[1.0] * 5,
    sigmas=[0.025] * 5)
# Marker colour (RGB) of each keypoint in the toy images.
_TOY_KEYPOINT_COLOURS = [(255, 60, 60), (60, 255, 60), (60, 60, 255), (255, 255, 60),
                         (60, 255, 255)]


def make_toy_pose_dataset(root: str, num: int = 4, size: int = 128, seed: int = 0) -> str:
    """A COCO-keypoints set of one stick figure per image (category
    'person'): a head and four limb ends marked by distinct coloured dots,
    joined by grey lines to a body centre, at random positions and poses.
    Keypoints follow :data:`TOY_POSE_METAINFO`.

    Layout: ``root/images/{i:04d}.png`` and ``root/annotations/keypoints.json``.

    Returns:
        str: ``root``.
    """
    import json

    import cv2

    rng = np.random.default_rng(seed)
    os.makedirs(osp.join(root, 'images'), exist_ok=True)
    os.makedirs(osp.join(root, 'annotations'), exist_ok=True)
    images, annotations = [], []
    for i in range(num):
        img = rng.integers(60, 120, (size, size, 3)).astype(np.uint8)
        cx, cy = (float(v) for v in rng.uniform(0.4 * size, 0.6 * size, 2))
        reach = float(rng.uniform(0.22, 0.32) * size)
        angles = np.deg2rad([-90, -150, -30, 120, 60] + rng.uniform(-20, 20, 5))
        points = np.stack([cx + reach * np.cos(angles), cy + reach * np.sin(angles)], 1)
        for x, y in points:
            cv2.line(img, (round(cx), round(cy)), (round(x), round(y)), (200, 200, 200), 2)
        for (x, y), colour in zip(points, _TOY_KEYPOINT_COLOURS):
            cv2.circle(img, (round(x), round(y)), 3, colour, -1)
        x0, y0 = points.min(0) - 6
        x1, y1 = points.max(0) + 6
        keypoints = np.concatenate([points, np.full((5, 1), 2.0)], 1)
        annotations.append(dict(
            id=i + 1, image_id=i + 1, category_id=1, iscrowd=0, num_keypoints=5,
            keypoints=[round(float(v), 2) for v in keypoints.ravel()],
            bbox=[float(x0), float(y0), float(x1 - x0), float(y1 - y0)],
            area=float((x1 - x0) * (y1 - y0))))
        name = f'{i:04d}.png'
        Image.fromarray(img).save(osp.join(root, 'images', name))
        images.append(dict(id=i + 1, file_name=name, width=size, height=size))
    categories = [dict(id=1, name='person', supercategory='person',
                       keypoints=[TOY_POSE_METAINFO['keypoint_info'][k]['name'] for k in range(5)],
                       skeleton=[[1, 2], [1, 3], [1, 4], [1, 5]])]
    with open(osp.join(root, 'annotations', 'keypoints.json'), 'w') as f:
        json.dump(dict(images=images, annotations=annotations, categories=categories), f)
    return root


def make_tiny_causal_lm(folder, n_positions: int = 64) -> str:
    """A random one-layer GPT-2 with a byte-level tokenizer (one token per byte, no merges),
    saved with ``save_pretrained`` under ``folder/lm``; returns that folder."""
    import json

    import torch
    from transformers import GPT2Config, GPT2LMHeadModel, GPT2Tokenizer

    from mmdatasetdm.diffusion.tokenizer import _bytes_to_unicode
    folder = str(folder)
    vocab = {c: i for i, c in enumerate(_bytes_to_unicode().values())}
    vocab['<|endoftext|>'] = len(vocab)
    with open(osp.join(folder, 'vocab.json'), 'w') as f:
        json.dump(vocab, f)
    with open(osp.join(folder, 'merges.txt'), 'w') as f:
        f.write('#version: 0.2\n')
    tokenizer = GPT2Tokenizer(osp.join(folder, 'vocab.json'), osp.join(folder, 'merges.txt'))
    torch.manual_seed(0)
    config = GPT2Config(vocab_size=len(vocab), n_positions=n_positions, n_embd=16, n_layer=1,
                        n_head=2, bos_token_id=len(vocab) - 1, eos_token_id=len(vocab) - 1)
    model_dir = osp.join(folder, 'lm')
    GPT2LMHeadModel(config).save_pretrained(model_dir)
    tokenizer.save_pretrained(model_dir)
    return model_dir
