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
