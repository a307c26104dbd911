"""PickPerson: one person of a bottom-up pose sample, in its own box or the whole image."""
import numpy as np
import pytest

from mmdatasetdm.datasets.transforms import PickPerson


def bottomup(num, shape=(64, 48)):
    """A bottom-up data info of ``num`` people (as mmpose's COCO datasets write it)."""
    return dict(
        img_path='x.png', img_shape=shape, flip_indices=[1, 0],
        bbox=np.array([[k, k, k + 10, k + 20] for k in range(num)], np.float32).reshape(-1, 4),
        bbox_score=np.ones(num, np.float32), keypoints=np.arange(num * 4, dtype=np.float32)
        .reshape(num, 2, 2), keypoints_visible=np.ones((num, 2), np.float32),
        num_keypoints=[2] * num, area=np.full(num, 200.0), iscrowd=[0] * num,
        segmentation=[[] for _ in range(num)], id=list(range(100, 100 + num)),
        category_id=np.ones(num, np.int64), raw_ann_info=[{'id': 100 + k} for k in range(num)])


def test_one_person_of_many_with_its_own_box():
    np.random.seed(0)
    picked = {PickPerson(whole_image_prob=1.0)(bottomup(3))['id'][0] for _ in range(40)}
    assert picked == {100, 101, 102}  # several people: never the whole image, each in turn
    out = PickPerson(whole_image_prob=1.0)(bottomup(3))
    k = out['id'][0] - 100
    np.testing.assert_array_equal(out['bbox'], [[k, k, k + 10, k + 20]])
    np.testing.assert_array_equal(out['keypoints'], np.arange(12).reshape(3, 2, 2)[k:k + 1])
    assert out['keypoints_visible'].shape == (1, 2) and out['num_keypoints'] == [2]
    assert out['raw_ann_info'] == [{'id': 100 + k}] and out['flip_indices'] == [1, 0]


def test_a_lone_person_gets_the_whole_image_at_the_given_rate():
    np.random.seed(0)
    boxes = [tuple(PickPerson(whole_image_prob=0.5)(bottomup(1))['bbox'][0]) for _ in range(400)]
    whole = sum(b == (0, 0, 48, 64) for b in boxes)  # (x1, y1, x2, y2) of a 64 x 48 image
    assert 160 <= whole <= 240 and whole + boxes.count((0, 0, 10, 20)) == 400
    assert PickPerson(whole_image_prob=0.0)(bottomup(1))['bbox'].tolist() == [[0, 0, 10, 20]]


def test_no_people_and_bad_input():
    assert PickPerson(0.5)(bottomup(0)) is None  # mmengine draws another image in training
    sample = bottomup(2)
    sample['keypoints'] = sample['keypoints'][:1]
    with pytest.raises(ValueError, match=r"x.png: \['keypoints'\].*bottom-up"):
        PickPerson(0.5)(sample)
    with pytest.raises(KeyError, match='LoadImage'):
        PickPerson(0.5)({k: v for k, v in bottomup(1).items() if k != 'img_shape'})
    with pytest.raises(ValueError, match='whole_image_prob'):
        PickPerson(1.5)
