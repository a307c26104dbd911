"""The depth P-Decoder (mmseg DepthEstimator) trains through mmengine's Runner and
overfits; 16-bit depth files keep sub-millimetre precision through mmseg's loader."""
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.runner import Runner
from mmseg.datasets.transforms import LoadDepthAnnotation

from mmdatasetdm.fileio import write_depth
from tests.pdecoder_cfg import assert_frozen_and_excluded, tiny_pdecoder_cfg, train_then_resume
from tests.toy_data import make_toy_depth_dataset


def _cfg(tmp_path, tiny_sd_folder, max_iters):
    root = make_toy_depth_dataset(str(tmp_path / 'data'), num=4, size=64)
    return tiny_pdecoder_cfg('pdecoder/depth_tiny.py', root, str(tmp_path / 'work'), tiny_sd_folder,
                             max_iters)


def test_16bit_depth_keeps_sub_millimetre_precision(tmp_path):
    """Depth written by our writer (scale 1000) and read by the configs'
    LoadDepthAnnotation(depth_rescale_factor=1e-3) is off by at most half a
    millimetre (the rounding step, plus float32 rounding of up to ~4 um at
    65 m) anywhere in the uint16 range."""
    rng = np.random.default_rng(0)
    depth = rng.uniform(0.0, 65.5, (48, 64))
    depth[0, :4] = [0.0, 0.0004, 0.0016, 65.535]  # unknown, rounds to 0, 2 mm, the top value
    path = str(tmp_path / 'depth.png')
    write_depth(path, depth, scale=1000)
    results = LoadDepthAnnotation(depth_rescale_factor=1e-3).transform(
        dict(depth_map_path=path, seg_fields=[]))
    loaded = results['gt_depth_map']
    assert loaded.dtype == np.float32 and loaded.shape == depth.shape
    assert np.abs(loaded - depth).max() <= 0.5e-3 + 1e-5
    assert loaded[0, :4].tolist() == pytest.approx([0.0, 0.0, 0.002, 65.535], abs=1e-5)
    # distinct millimetres stay distinct
    mm = np.arange(1000, 1100, dtype=np.float64)[None] / 1000
    write_depth(path, mm, scale=1000)
    back = LoadDepthAnnotation(depth_rescale_factor=1e-3).transform(
        dict(depth_map_path=path, seg_fields=[]))['gt_depth_map']
    assert np.unique(back).size == 100
    assert np.abs(back - mm).max() < 1e-6


@pytest.mark.slow
def test_overfits_toy_depth(tmp_path, tiny_sd_folder):
    iters = 60
    cfg = _cfg(tmp_path, tiny_sd_folder, max_iters=iters)
    runner = Runner.from_cfg(cfg)
    unet_before = {
        k: v.clone()
        for k, v in runner.model.backbone.components.unet.state_dict().items()
    }
    runner.train()
    metrics = runner.val_loop.run()
    print('\ndepth P-Decoder overfit metrics:', metrics)
    assert metrics['abs_rel'] <= 0.1
    # predictions are full-resolution depth maps in metres inside (0, max_depth)
    batch = next(iter(runner.val_dataloader))
    with torch.no_grad():
        out = runner.model.test_step(batch)
    pred = out[0].pred_depth_map.data
    assert pred.shape == out[0].gt_depth_map.data.shape == (1, 64, 64)
    assert 0 < pred.min() and pred.max() < cfg.max_depth
    # the frozen backbone did not move and is not in the checkpoint
    assert_frozen_and_excluded(runner, unet_before, osp.join(cfg.work_dir, f'iter_{iters}.pth'),
                               'neck.projections.')


def test_train_iterations_then_resume(tmp_path, tiny_sd_folder):
    train_then_resume(_cfg(tmp_path, tiny_sd_folder, max_iters=2))
