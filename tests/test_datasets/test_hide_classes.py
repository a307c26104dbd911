"""HideClasses: the training side of the zero-shot protocol."""
import numpy as np
import pytest

from mmdatasetdm.datasets.transforms import AddPrompt, HideClasses

CLASSES = ('background', 'person', 'car', 'cone', 'tree', 'ball')


def test_hidden_pixels_become_ignore_and_leave_the_prompt():
    seg = np.array([[0, 1, 3], [5, 3, 255]], dtype=np.uint8)
    out = HideClasses(CLASSES, ('cone', 'ball'))(dict(gt_seg_map=seg.copy()))
    assert out['gt_seg_map'].tolist() == [[0, 1, 255], [255, 255, 255]]
    assert out['gt_seg_map'].dtype == np.uint8
    prompt = AddPrompt(CLASSES, source='present', exclude=('background', ))(out)
    assert prompt['prompt_words'] == ['person']


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"hidden classes \['dog'\] are not among"):
        HideClasses(CLASSES, ('dog', ))
    with pytest.raises(ValueError, match='at least one class'):
        HideClasses(CLASSES, ())
    with pytest.raises(KeyError, match='after LoadAnnotations'):
        HideClasses(CLASSES, ('cone', ))(dict())
