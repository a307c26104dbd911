"""The pose P-Decoder (mmpose top-down heatmaps) trains through mmengine's Runner and overfits."""
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from tests.pdecoder_cfg import assert_frozen_and_excluded, tiny_pdecoder_cfg, train_then_resume
from tests.toy_data import TOY_POSE_METAINFO, make_toy_pose_dataset

CONFIG = osp.join(osp.dirname(__file__), '..', '..', 'configs', 'pdecoder', 'pose_tiny.py')


def _cfg(tmp_path, tiny_sd_folder, max_iters):
    root = make_toy_pose_dataset(str(tmp_path / 'data'), num=4, size=128)
    return tiny_pdecoder_cfg('pdecoder/pose_tiny.py', root, str(tmp_path / 'work'), tiny_sd_folder,
                             max_iters, ann_file='annotations/keypoints.json')


def test_tiny_config_describes_the_toy_skeleton():
    cfg = Config.fromfile(CONFIG)
    assert cfg.dataset_info.to_dict() == TOY_POSE_METAINFO
    assert cfg.model.head.out_channels == len(TOY_POSE_METAINFO['keypoint_info'])
    # the head keeps the neck's stride-4 map: heatmap = input / 4
    assert cfg.model.head.deconv_out_channels == ()
    assert cfg.model.neck.out_strides == (4, )
    assert tuple(s // 4 for s in cfg.codec.input_size) == tuple(cfg.codec.heatmap_size)


def test_sd15_config_defaults_to_coco_17_keypoints():
    cfg = Config.fromfile(osp.join(osp.dirname(CONFIG), 'pose_coco_800.py'))
    assert cfg.model.head.out_channels == 17
    assert cfg.codec.input_size == (192, 256) and cfg.codec.heatmap_size == (48, 64)
    assert all(side % 64 == 0 for side in cfg.codec.input_size)  # SD's size_divisor


@pytest.mark.slow
def test_overfits_toy_keypoints(tmp_path, tiny_sd_folder):
    iters = 40
    cfg = _cfg(tmp_path, tiny_sd_folder, max_iters=iters)
    runner = Runner.from_cfg(cfg)
    unet_before = {
        k: v.clone()
        for k, v in runner.model.backbone.components.unet.state_dict().items()
    }
    runner.train()
    metrics = runner.val_loop.run()
    print('\npose P-Decoder overfit metrics:', metrics)
    assert metrics['coco/AP'] >= 0.5
    # keypoints land within a few pixels of the drawn markers (image coordinates)
    batch = next(iter(runner.val_dataloader))
    with torch.no_grad():
        out = runner.model.test_step(batch)
    errors = [np.linalg.norm(s.pred_instances.keypoints - s.gt_instances.keypoints, axis=-1).mean()
              for s in out]
    print('mean keypoint error (px):', errors)
    assert max(errors) < 4.0
    # the frozen backbone did not move and is not in the checkpoint
    assert_frozen_and_excluded(runner, unet_before, osp.join(cfg.work_dir, f'iter_{iters}.pth'),
                               'neck.projections.')


def test_train_iterations_then_resume(tmp_path, tiny_sd_folder):
    train_then_resume(_cfg(tmp_path, tiny_sd_folder, max_iters=2))
