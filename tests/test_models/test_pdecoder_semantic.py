"""The semantic P-Decoder trains through mmengine's Runner and overfits."""
import os.path as osp

import pytest
import torch
from mmengine.runner import Runner

from tests.pdecoder_cfg import assert_frozen_and_excluded, tiny_pdecoder_cfg, train_then_resume
from tests.toy_data import make_toy_seg_dataset


def _cfg(tmp_path, tiny_sd_folder, max_iters):
    root = make_toy_seg_dataset(str(tmp_path / 'data'), num=4, size=128)
    return tiny_pdecoder_cfg('pdecoder/semantic_tiny.py', root, str(tmp_path / 'work'),
                             tiny_sd_folder, max_iters)


@pytest.mark.slow
def test_overfits_toy_images_and_predicts_both_classes(tmp_path, tiny_sd_folder):
    cfg = _cfg(tmp_path, tiny_sd_folder, max_iters=300)
    runner = Runner.from_cfg(cfg)
    backbone = runner.model.backbone
    unet_before = {k: v.clone() for k, v in backbone.components.unet.state_dict().items()}
    runner.train()
    metrics = runner.val_loop.run()
    print('\nsemantic P-Decoder overfit metrics:', metrics)
    assert metrics['mIoU'] >= 90.0
    # multi-class output: one image holds both classes, so does its prediction
    batch = next(iter(runner.val_dataloader))
    with torch.no_grad():
        out = runner.model.test_step(batch)
    assert set(out[0].pred_sem_seg.data.unique().tolist()) == {0, 1, 2}
    # the frozen backbone did not move and is not in the checkpoint
    assert_frozen_and_excluded(runner, unet_before, osp.join(cfg.work_dir, 'iter_300.pth'),
                               'decode_head.pixel_decoder.hypercolumn.')


def test_train_iterations_then_resume(tmp_path, tiny_sd_folder):
    train_then_resume(_cfg(tmp_path, tiny_sd_folder, max_iters=2))
