"""Mosaics of instance-labelled tiles: mmdet's ``Mosaic`` with the instance masks."""
from typing import Tuple

import mmcv
import numpy as np
from mmdet.datasets.transforms import Mosaic
from mmdet.structures.bbox import autocast_box_type
from mmdet.structures.mask import BitmapMasks, PolygonMasks
from numpy import random

from mmdatasetdm.registry import TRANSFORMS

LOCATIONS = ('top_left', 'top_right', 'bottom_left', 'bottom_right')


@TRANSFORMS.register_module()
class InstanceMosaic(Mosaic):
    """mmdet's ``Mosaic`` that also composes ``gt_masks``.

    MMDetection's ``Mosaic`` moves the boxes, labels and ignore flags of the
    four tiles onto the canvas but leaves ``gt_masks`` as the first tile's,
    so an instance segmentation sample comes out with more boxes than masks
    (and masks in the wrong place). This transform places every tile exactly
    as ``Mosaic`` does (same canvas, centre draw, keep-ratio resize of each
    tile and crop at the canvas border; ``get_indexes`` is inherited, so it
    is used with ``MultiImageMixDataset`` in the same way) and pastes each
    tile's masks (resized with nearest neighbour) where its image goes.

    An instance is kept when its clipped box still overlaps the canvas and,
    with masks, when some of its mask survives the crop. With
    ``recompute_bbox`` each kept box becomes the bounding box of its pasted
    mask (the generator writes boxes as mask bounding boxes; a box clipped at
    the canvas border is otherwise larger than what is left of its object).

    Required Keys:

    - img
    - gt_bboxes (BaseBoxes[torch.float32])
    - gt_bboxes_labels (np.int64)
    - gt_ignore_flags (bool)
    - gt_masks (BitmapMasks | PolygonMasks) (optional, in every tile or none)
    - mix_results (List[dict])

    Modified Keys:

    - img
    - img_shape
    - gt_bboxes
    - gt_bboxes_labels
    - gt_ignore_flags
    - gt_masks (optional; BitmapMasks)

    Added Keys:

    - mosaic_center (Tuple[int, int]): the canvas point (x, y) where the four
      tiles meet.

    Args:
        img_scale (Tuple[int, int]): the size (width, height) each tile is
            resized to fit (keeping its ratio); the canvas is twice that.
            Defaults to (640, 640).
        center_ratio_range (Tuple[float, float]): range of the tiles' meeting
            point, as a fraction of ``img_scale``. Defaults to (0.5, 1.5).
        bbox_clip_border (bool): clip boxes to the canvas. Defaults to True.
        pad_val (float): image value where no tile reaches. Defaults to 114.
        prob (float): probability of making a mosaic. Defaults to 1.0.
        recompute_bbox (bool): set each box to its mask's bounding box (only
            when the tiles carry masks). Defaults to True.
    """

    def __init__(self,
                 img_scale: Tuple[int, int] = (640, 640),
                 center_ratio_range: Tuple[float, float] = (0.5, 1.5),
                 bbox_clip_border: bool = True,
                 pad_val: float = 114.0,
                 prob: float = 1.0,
                 recompute_bbox: bool = True) -> None:
        super().__init__(img_scale=tuple(img_scale), center_ratio_range=center_ratio_range,
                         bbox_clip_border=bbox_clip_border, pad_val=pad_val, prob=prob)
        self.recompute_bbox = recompute_bbox

    @autocast_box_type()
    def transform(self, results: dict) -> dict:
        """Compose the sample and its three ``mix_results`` into one image.

        Args:
            results (dict): the first tile, with ``mix_results`` (three more).

        Returns:
            dict: the mosaic (or ``results`` unchanged, with probability
            ``1 - prob``).
        """
        if random.uniform(0, 1) > self.prob:
            return results
        tiles = [results] + list(results.get('mix_results', []))
        if len(tiles) != 4:
            raise ValueError(f'{type(self).__name__} needs 3 mix_results (use it inside '
                             f'MultiImageMixDataset), got {len(tiles) - 1}')
        with_masks = [t.get('gt_masks') is not None for t in tiles]
        if any(with_masks) and not all(with_masks):
            raise ValueError(f'{type(self).__name__}: some tiles have gt_masks and some not')
        with_masks = all(with_masks)

        canvas_w, canvas_h = 2 * int(self.img_scale[0]), 2 * int(self.img_scale[1])
        img = results['img']
        mosaic_img = np.full((canvas_h, canvas_w) + img.shape[2:], self.pad_val, dtype=img.dtype)
        center = (int(random.uniform(*self.center_ratio_range) * self.img_scale[0]),
                  int(random.uniform(*self.center_ratio_range) * self.img_scale[1]))

        boxes, labels, flags, masks = [], [], [], []
        for loc, tile in zip(LOCATIONS, tiles):
            h, w = tile['img'].shape[:2]
            ratio = min(self.img_scale[1] / h, self.img_scale[0] / w)
            size_wh = (int(w * ratio), int(h * ratio))
            paste, crop = self._mosaic_combine(loc, center, size_wh)
            x1_p, y1_p, x2_p, y2_p = paste
            x1_c, y1_c, x2_c, y2_c = crop
            tile_img = mmcv.imresize(tile['img'], size_wh)
            mosaic_img[y1_p:y2_p, x1_p:x2_p] = tile_img[y1_c:y2_c, x1_c:x2_c]

            tile_boxes = tile['gt_bboxes'].clone()
            tile_boxes.rescale_([ratio, ratio])
            tile_boxes.translate_([x1_p - x1_c, y1_p - y1_c])
            boxes.append(tile_boxes)
            labels.append(tile['gt_bboxes_labels'])
            flags.append(tile['gt_ignore_flags'])
            if with_masks:
                tile_masks = tile['gt_masks']
                if isinstance(tile_masks, PolygonMasks):
                    tile_masks = tile_masks.to_bitmap()
                tile_masks = tile_masks.resize(size_wh[::-1]).masks
                pasted = np.zeros((len(tile_masks), canvas_h, canvas_w), np.uint8)
                pasted[:, y1_p:y2_p, x1_p:x2_p] = tile_masks[:, y1_c:y2_c, x1_c:x2_c]
                masks.append(pasted)

        boxes = boxes[0].cat(boxes, 0)
        labels = np.concatenate(labels, 0)
        flags = np.concatenate(flags, 0)
        if self.bbox_clip_border:
            boxes.clip_([canvas_h, canvas_w])
        keep = boxes.is_inside([canvas_h, canvas_w]).numpy()
        if with_masks:
            masks = np.concatenate(masks, 0)
            keep &= masks.any(axis=(1, 2))
            masks = BitmapMasks(masks[keep], canvas_h, canvas_w)
            results['gt_masks'] = masks
        boxes = boxes[keep]
        if with_masks and self.recompute_bbox:
            boxes = masks.get_bboxes(type(boxes))

        results['img'] = mosaic_img
        results['img_shape'] = mosaic_img.shape[:2]
        results['gt_bboxes'] = boxes
        results['gt_bboxes_labels'] = labels[keep]
        results['gt_ignore_flags'] = flags[keep]
        results['mosaic_center'] = center
        return results

    def __repr__(self) -> str:
        return (f'{super().__repr__()[:-1]}, recompute_bbox={self.recompute_bbox}, '
                f'bbox_clip_border={self.bbox_clip_border})')
