"""One person of a bottom-up pose sample, in its own box or in the whole image."""
from typing import Optional

import numpy as np
from mmcv.transforms import BaseTransform

from mmdatasetdm.registry import TRANSFORMS

# the per-person entries of mmpose's bottom-up data info (one item per person)
PERSON_KEYS = ('bbox', 'bbox_score', 'num_keypoints', 'keypoints', 'keypoints_visible', 'area',
               'iscrowd', 'segmentation', 'id', 'category_id', 'raw_ann_info')


@TRANSFORMS.register_module()
class PickPerson(BaseTransform):
    """Turn a bottom-up pose sample (every person of an image) into a top-down sample
    of one person: a random person in its own box, or, with probability
    ``whole_image_prob`` and for an image of exactly one person, that person with the
    whole image as its box.

    A pose P-Decoder is top-down: it decodes a person inside a box. At generation time
    the box comes from the person word's cross-attention, or is the whole image when the
    generator's attention does not localise people (``pose_boxes='image'`` of
    :class:`~mmdatasetdm.generation.decoder.PerceptionDecoder`). A decoder trained on
    tight person boxes only then decodes crops it never saw; trained with whole
    one-person images as well, it learns to find the person in the frame, and still
    decodes tight boxes (the test pipelines, with ground-truth boxes).

    Put it right after ``LoadImage`` in a dataset with ``data_mode='bottomup'``,
    before ``GetBBoxCenterScale``. An image without people returns None (mmengine's
    ``BaseDataset`` then draws another in training).

    Args:
        whole_image_prob (float): probability that a one-person image is given
            as a whole-image box.
    """

    def __init__(self, whole_image_prob: float = 0.0):
        if not 0 <= whole_image_prob <= 1:
            raise ValueError(f'PickPerson: whole_image_prob must lie in [0, 1], got '
                             f'{whole_image_prob}')
        self.whole_image_prob = float(whole_image_prob)

    def transform(self, results: dict) -> Optional[dict]:
        if 'img_shape' not in results:
            raise KeyError('PickPerson needs img_shape: put it right after LoadImage')
        bbox = np.asarray(results.get('bbox', np.zeros((0, 4))), np.float32).reshape(-1, 4)
        num = len(bbox)
        if num == 0:
            return None
        keys = [k for k in PERSON_KEYS if k in results]
        wrong = [k for k in keys if len(results[k]) != num]
        if wrong:
            raise ValueError(f'PickPerson: {results.get("img_path")}: {wrong} do not hold one '
                             f'item per person ({num} boxes): is the dataset bottom-up?')
        whole = num == 1 and np.random.rand() < self.whole_image_prob
        pick = 0 if num == 1 else int(np.random.randint(num))
        for key in keys:
            value = results[key]
            results[key] = value[pick:pick + 1] if isinstance(value, np.ndarray) else \
                [value[pick]]
        if whole:
            height, width = results['img_shape'][:2]
            results['bbox'] = np.array([[0, 0, width, height]], np.float32)
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(whole_image_prob={self.whole_image_prob})'
