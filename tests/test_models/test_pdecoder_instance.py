"""The instance P-Decoder (mmdet Mask2Former) trains through mmengine's Runner and overfits."""
import os.path as osp

import pytest
import torch
from mmengine.runner import Runner

from tests.pdecoder_cfg import assert_frozen_and_excluded, tiny_pdecoder_cfg, train_then_resume
from tests.toy_data import make_toy_coco_instance_dataset


def _cfg(tmp_path, tiny_sd_folder, max_iters):
    root = make_toy_coco_instance_dataset(str(tmp_path / 'data'), num=4, size=128)
    return tiny_pdecoder_cfg(
        'pdecoder/instance_tiny.py',
        root,
        str(tmp_path / 'work'),
        tiny_sd_folder,
        max_iters,
        ann_file='annotations/instances.json')


@pytest.mark.slow
def test_overfits_toy_images_with_real_labels(tmp_path, tiny_sd_folder):
    iters = 30
    cfg = _cfg(tmp_path, tiny_sd_folder, max_iters=iters)
    runner = Runner.from_cfg(cfg)
    unet_before = {
        k: v.clone()
        for k, v in runner.model.backbone.components.unet.state_dict().items()
    }
    runner.train()
    metrics = runner.val_loop.run()
    print('\ninstance P-Decoder overfit metrics:', metrics)
    assert metrics['coco/segm_mAP'] >= 0.5
    # real class labels: the confident instances of each image carry its classes
    batch = next(iter(runner.val_dataloader))
    with torch.no_grad():
        out = runner.model.test_step(batch)
    for sample in out:
        pred = sample.pred_instances
        confident = set(pred.labels[pred.scores > 0.5].tolist())
        assert confident == set(sample.gt_instances.labels.tolist())
    # the frozen backbone did not move and is not in the checkpoint
    assert_frozen_and_excluded(runner, unet_before, osp.join(cfg.work_dir, f'iter_{iters}.pth'),
                               'panoptic_head.pixel_decoder.hypercolumn.')


def test_train_iterations_then_resume(tmp_path, tiny_sd_folder):
    train_then_resume(_cfg(tmp_path, tiny_sd_folder, max_iters=2))
