"""Filters of generated samples: fixed rejection categories, measured values in the scores."""
import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData, PixelData

from mmdatasetdm.fileio import read_manifest
from mmdatasetdm.generation.annotations import (LOW_SCORE, NO_PREDICTION, PROMPTED_CLASS_MISSING,
                                                PROMPTED_CLASS_TOO_SMALL, REJECT_REASONS, TOO_SMALL,
                                                TOO_UNCERTAIN, FilterConfig, instance_annotation,
                                                pose_annotation, semantic_annotation)
from mmdatasetdm.generation.writers import ShardWriter, merge_shards


def semantic_pred(labels, confidence=1.0, num_classes=3):
    """A prediction whose winning class has probability ``confidence`` everywhere
    (the others share the rest)."""
    labels = torch.as_tensor(labels, dtype=torch.int64)
    rest = (1.0 - confidence) / (num_classes - 1)
    logits = torch.full((num_classes, *labels.shape), rest)
    logits.scatter_(0, labels[None], confidence)
    return type('Pred', (), dict(pred_sem_seg=PixelData(data=labels[None]),
                                 seg_logits=PixelData(data=logits)))()


def labels_with(class_id, pixels, size=40):
    """A ``size``x``size`` background mask with ``pixels`` pixels of ``class_id``."""
    labels = np.zeros((size, size), np.int64)
    labels.flat[:pixels] = class_id
    return labels


def instance_pred(scores, areas, labels=None, size=20):
    masks = torch.zeros(len(scores), size, size, dtype=torch.bool)
    for k, area in enumerate(areas):
        masks[k].view(-1)[:area] = True
    labels = torch.as_tensor(labels if labels is not None else [0] * len(scores))
    return type('Pred', (), dict(pred_instances=InstanceData(
        masks=masks, labels=labels, scores=torch.as_tensor(scores, dtype=torch.float32))))()


def test_semantic_reasons_are_categories_with_the_measurement_in_the_scores():
    cfg = FilterConfig(min_confidence=0.5, max_ignore_fraction=0.5, min_class_fraction=0.01)
    # 0.5% of the pixels are class 1: too small, the fraction is kept
    ann = semantic_annotation(semantic_pred(labels_with(1, 8)), [1], cfg)
    assert (ann.accepted, ann.reason) == (False, PROMPTED_CLASS_TOO_SMALL)
    assert ann.scores['reject_detail'] == dict(class_id=1, class_fraction=0.005,
                                               min_class_fraction=0.01)
    # class 2 absent
    ann = semantic_annotation(semantic_pred(labels_with(1, 400)), [1, 2], cfg)
    assert (ann.accepted, ann.reason) == (False, PROMPTED_CLASS_MISSING)
    assert ann.scores['reject_detail']['class_id'] == 2
    assert ann.scores['reject_detail']['class_fraction'] == 0.0
    # everything uncertain (confidence 0.4 < 0.5): all pixels ignored
    ann = semantic_annotation(semantic_pred(labels_with(1, 400), confidence=0.4), [1], cfg)
    assert (ann.accepted, ann.reason) == (False, TOO_UNCERTAIN)
    assert ann.scores['reject_detail'] == dict(ignore_fraction=1.0, max_ignore_fraction=0.5)
    assert (ann.semantic == 255).all()
    # a good sample: accepted, no reason, no detail
    ann = semantic_annotation(semantic_pred(labels_with(1, 400)), [1], cfg)
    assert ann.accepted and ann.reason is None and 'reject_detail' not in ann.scores
    assert ann.scores['class_fractions'] == {0: 0.75, 1: 0.25}


def test_instance_and_pose_reasons():
    cfg = FilterConfig(min_score=0.5, min_area=10)
    cases = [
        (instance_pred([], []), NO_PREDICTION, {}),
        (instance_pred([0.2, 0.4], [50, 50]), LOW_SCORE, dict(max_score=0.4, min_score=0.5)),
        (instance_pred([0.9, 0.3], [5, 50]), TOO_SMALL, dict(max_area=5, min_area=10)),
        (instance_pred([0.9], [50], labels=[1]), PROMPTED_CLASS_MISSING,
         dict(class_ids=[0], found_class_ids=[1])),
    ]
    for pred, reason, detail in cases:
        ann = instance_annotation(pred, [0], cfg)
        assert (ann.accepted, ann.reason) == (False, reason)
        assert ann.scores['reject_detail'] == detail  # rounded to 6 decimals
    ann = instance_annotation(instance_pred([0.9, 0.3], [50, 50]), [0], cfg)
    assert ann.accepted and ann.scores == dict(num_instances=1)

    def pose_pred(kpt_scores):
        kpt_scores = torch.as_tensor(kpt_scores, dtype=torch.float32).reshape(-1, 3)
        n = len(kpt_scores)
        return type('Pred', (), dict(pred_instances=InstanceData(
            keypoints=torch.zeros(n, 3, 2), keypoint_scores=kpt_scores,
            bboxes=torch.zeros(n, 4))))()
    ann = pose_annotation(pose_pred([0.1, 0.2, 0.3]), [], cfg)
    assert (ann.reason, ann.scores['reject_detail']) == (LOW_SCORE, pytest.approx(
        dict(max_score=0.2, min_score=0.5)))
    assert pose_annotation(pose_pred([]), [], cfg).reason == NO_PREDICTION
    assert pose_annotation(pose_pred([0.9, 0.8, 0.7]), [], cfg).accepted


def test_merge_shards_counts_rejections_by_category(tmp_path):
    """Samples rejected for the same cause with different measured values are one
    category in the merged summary (the values stay in each manifest line)."""
    cfg = FilterConfig(min_confidence=0.5, max_ignore_fraction=0.5, min_class_fraction=0.01)
    cases = [labels_with(1, 400), labels_with(1, 2), labels_with(1, 5), labels_with(1, 11),
             labels_with(2, 400), labels_with(0, 0)]
    writer = ShardWriter(str(tmp_path / 'shard'), classes=['background', 'cone', 'ball'],
                         num_classes=3)
    for index, labels in enumerate(cases):
        ann = semantic_annotation(semantic_pred(labels), [1], cfg)
        writer.write_sample(
            index,
            'a photo of a cone',
            seed=index,
            image=np.zeros((40, 40, 3), np.uint8),
            semantic=ann.semantic,
            accepted=ann.accepted,
            reason=ann.reason,
            scores=ann.scores)
    ann = semantic_annotation(semantic_pred(labels_with(1, 400), confidence=0.3), [1], cfg)
    writer.write_sample(len(cases), 'a photo of a cone', seed=9, accepted=False, reason=ann.reason,
                        scores=ann.scores)
    summary = merge_shards([writer.dir], str(tmp_path / 'out'))
    assert summary['num_samples'] == 7 and summary['num_accepted'] == 1
    assert summary['rejected'] == {PROMPTED_CLASS_MISSING: 2, PROMPTED_CLASS_TOO_SMALL: 3,
                                   TOO_UNCERTAIN: 1}
    assert set(summary['rejected']) <= set(REJECT_REASONS)
    lines = read_manifest(str(tmp_path / 'out'))
    fractions = [line['scores']['reject_detail']['class_fraction'] for line in lines
                 if line['reason'] == PROMPTED_CLASS_TOO_SMALL]
    assert fractions == [0.00125, 0.003125, 0.006875]


def test_semantic_requires_the_prompted_class_by_default():
    """"a photo of a ball" labelled all background is rejected even without a minimum
    class fraction (it was accepted before: only instances checked the prompted class)."""
    background = semantic_pred(np.zeros((40, 40), np.int64))
    ann = semantic_annotation(background, [2], FilterConfig())
    assert (ann.accepted, ann.reason) == (False, PROMPTED_CLASS_MISSING)
    assert ann.scores['reject_detail']['class_id'] == 2
    assert semantic_annotation(background, [2], FilterConfig(require_prompted=False)).accepted
    assert semantic_annotation(semantic_pred(labels_with(2, 1)), [2], FilterConfig()).accepted


def test_pose_boxes_from_the_labelled_keypoints():
    """keypoint_box_scale writes each person's box as its labelled keypoints' extent times
    the scale about its centre, clipped to the image; a person with fewer than two labelled
    keypoints keeps the decoder's box; without the option the decoder's box is written."""
    keypoints = torch.tensor([[[10., 20.], [30., 60.], [99., 0.]],    # third: not labelled
                              [[5., 5.], [50., 50.], [60., 60.]]])   # one labelled only
    scores = torch.tensor([[0.9, 0.8, 0.1], [0.9, 0.2, 0.1]])
    pred = type('Pred', (), dict(metainfo=dict(ori_shape=(64, 64)), pred_instances=InstanceData(
        keypoints=keypoints, keypoint_scores=scores,
        bboxes=torch.tensor([[0., 0., 64., 64.], [1., 2., 3., 4.]]))))()
    ann = pose_annotation(pred, [], FilterConfig(min_keypoint_score=0.3, keypoint_box_scale=1.5))
    # centre (20, 40), extent (20, 40) x 1.5 -> half sides 15, 30; y2 = 70 is clipped to 64
    np.testing.assert_allclose(ann.keypoints['bboxes'], [[5, 10, 35, 64], [1, 2, 3, 4]])
    kept = pose_annotation(pred, [], FilterConfig(min_keypoint_score=0.3))
    np.testing.assert_allclose(kept.keypoints['bboxes'], [[0, 0, 64, 64], [1, 2, 3, 4]])
    with pytest.raises(ValueError, match='keypoint_box_scale'):
        FilterConfig(keypoint_box_scale=0)
