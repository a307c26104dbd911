"""The stock OpenMMLab readers and metrics on a demo world.

The toolboxes' own dataset classes (through our thin metainfo subclasses) read
the world's files, and their metrics score the ground truth, fed back as the
prediction, as perfect.
"""
import numpy as np
import pytest

from mmdatasetdm.fileio import read_depth
from projects.demo_world.demo_world import (FLIP_PAIRS, KEYPOINT_NAMES, KEYPOINT_SIGMAS,
                                            SEG_CLASSES, WorldLayout)
from tests.demo_world import SMALL_WORLD, build_dataset, small_world_sample

NUM_TEST = SMALL_WORLD['test']


def test_mmseg_semantic_dataset_and_iou_metric(small_world):
    from mmengine.structures import PixelData
    from mmseg.evaluation import IoUMetric

    pipeline = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'),
                dict(type='PackSegInputs', meta_keys=('img_path', 'seg_map_path', 'ori_shape',
                                                      'img_shape', 'caption'))]
    ds = build_dataset(dict(type='mmdatasetdm.DemoWorldSegDataset', data_root=small_world,
                            split='test', with_caption=True, pipeline=pipeline), 'mmseg')
    assert len(ds) == NUM_TEST
    assert ds.metainfo['classes'] == SEG_CLASSES
    metric = IoUMetric(iou_metrics=['mIoU'])
    metric.dataset_meta = ds.metainfo
    for i in range(len(ds)):
        sample = ds[i]['data_samples']
        gt = sample.gt_sem_seg.data
        expected = small_world_sample('test', i).rendered.semantic
        np.testing.assert_array_equal(gt.numpy()[0], expected)
        assert sample.caption.startswith('a photo of')
        sample.pred_sem_seg = PixelData(data=gt.clone())
        metric.process({}, [sample.to_dict()])
    results = metric.evaluate(len(ds))
    assert results['mIoU'] == pytest.approx(100.0)


def test_mmseg_depth_dataset_and_depth_metric(small_world):
    from mmengine.structures import PixelData
    from mmseg.evaluation import DepthMetric

    pipeline = [dict(type='LoadImageFromFile'),
                dict(type='LoadDepthAnnotation', depth_rescale_factor=1e-3),
                dict(type='PackSegInputs')]
    ds = build_dataset(dict(type='mmdatasetdm.DemoWorldDepthDataset', data_root=small_world,
                            split='test', pipeline=pipeline), 'mmseg')
    assert len(ds) == NUM_TEST
    metric = DepthMetric()
    layout = WorldLayout(small_world)
    for i in range(len(ds)):
        sample = ds[i]['data_samples']
        gt = sample.gt_depth_map.data
        np.testing.assert_allclose(gt.numpy()[0], read_depth(layout.depth('test', i)), atol=1e-6)
        sample.pred_depth_map = PixelData(data=gt.clone())
        metric.process({}, [sample.to_dict()])
    results = metric.evaluate(len(ds))
    assert results['rmse'] == pytest.approx(0.0, abs=1e-6)
    assert results['abs_rel'] == pytest.approx(0.0, abs=1e-6)
    assert results['d1'] == pytest.approx(1.0)


def test_mmdet_coco_dataset_and_coco_metric(small_world):
    import torch
    from mmdet.evaluation import CocoMetric
    from pycocotools import mask as mask_utils

    ds = build_dataset(dict(type='mmdatasetdm.DemoWorldDetDataset', data_root=small_world,
                            split='test', test_mode=True, pipeline=[]), 'mmdet')
    assert len(ds) == NUM_TEST
    assert ds.metainfo['classes'] == ('person', 'car', 'cone', 'tree', 'ball')
    metric = CocoMetric(ann_file=WorldLayout(small_world).instances('test'),
                        metric=['bbox', 'segm'])
    metric.dataset_meta = ds.metainfo
    num_instances = 0
    for i in range(len(ds)):
        info = ds[i]
        instances = info['instances']
        num_instances += len(instances)
        expected = small_world_sample('test', i).annotations
        assert [ds.metainfo['classes'][x['bbox_label']] for x in instances] == \
            [a.category for a in expected]
        masks = np.stack([mask_utils.decode(x['mask']) for x in instances]) if instances \
            else np.zeros((0, 64, 64), np.uint8)
        pred = dict(bboxes=torch.tensor([x['bbox'] for x in instances],
                                        dtype=torch.float32).reshape(-1, 4),
                    labels=torch.tensor([x['bbox_label'] for x in instances], dtype=torch.long),
                    scores=torch.ones(len(instances)),
                    masks=torch.from_numpy(masks.astype(bool)))
        metric.process({}, [dict(img_id=info['img_id'], ori_shape=(64, 64), pred_instances=pred)])
    assert num_instances > NUM_TEST
    results = metric.evaluate(len(ds))
    assert results['coco/bbox_mAP'] == pytest.approx(1.0)
    assert results['coco/segm_mAP'] == pytest.approx(1.0)


def test_mmpose_coco_style_dataset_and_coco_metric(small_world):
    from mmpose.evaluation import CocoMetric

    ds = build_dataset(dict(type='mmdatasetdm.DemoWorldPoseDataset', data_root=small_world,
                            split='test', data_mode='topdown', test_mode=True,
                            pipeline=[]), 'mmpose')
    meta = ds.metainfo
    assert meta['num_keypoints'] == len(KEYPOINT_NAMES)
    np.testing.assert_allclose(meta['sigmas'], KEYPOINT_SIGMAS)
    assert {tuple(sorted(p)) for p in meta['flip_pairs']} == set(FLIP_PAIRS)  # both orders
    assert meta['flip_indices'][KEYPOINT_NAMES.index('left_wrist')] == \
        KEYPOINT_NAMES.index('right_wrist')
    assert len(ds) > 0
    metric = CocoMetric(ann_file=WorldLayout(small_world).keypoints('test'),
                        score_mode='bbox', nms_mode='none')
    metric.dataset_meta = meta
    scored = 0
    for i in range(len(ds)):
        info = ds[i]
        assert info['keypoints'].shape == (1, len(KEYPOINT_NAMES), 2)
        if info['num_keypoints'] == 0:  # COCO evaluation ignores these
            continue
        pred = dict(keypoints=info['keypoints'], keypoint_scores=np.ones((1, len(KEYPOINT_NAMES))),
                    bboxes=info['bbox'], bbox_scores=np.ones(1))
        metric.process({}, [dict(id=info['id'], img_id=info['img_id'], pred_instances=pred,
                                 gt_instances=dict(), category_id=1)])
        scored += 1
    assert scored > 0
    results = metric.evaluate(scored)
    assert results['coco/AP'] == pytest.approx(1.0)
