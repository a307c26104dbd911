"""Point a tiny P-Decoder config at toy data, the tiny SD folder and a short schedule."""
import os.path as osp
from typing import Optional

from mmengine.config import Config

CONFIGS = osp.abspath(osp.join(osp.dirname(__file__), '..', 'configs'))


def tiny_pdecoder_cfg(config: str, data_root: str, work_dir: str, sd_folder: str,
                      max_iters: int, ann_file: Optional[str] = None) -> Config:
    """``config`` relative to configs/; ``ann_file`` (relative to ``data_root``) is the
    COCO file the evaluator scores against, for the mmdet/mmpose configs."""
    cfg = Config.fromfile(osp.join(CONFIGS, config))
    cfg.work_dir = work_dir
    cfg.model.backbone.pretrained = sd_folder
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.data_root = data_root
    if ann_file is not None:
        cfg.val_evaluator.ann_file = osp.join(data_root, ann_file)
        cfg.test_evaluator = cfg.val_evaluator
    cfg.train_cfg.max_iters = max_iters
    cfg.train_cfg.val_interval = max_iters
    cfg.default_hooks.checkpoint.interval = max_iters
    return cfg


def assert_frozen_and_excluded(runner, unet_before: dict, checkpoint: str, head_prefix: str):
    """The frozen UNet did not move during training, and the checkpoint holds the head
    (keys starting with ``head_prefix``) but no backbone weights."""
    import torch
    unet_after = runner.model.backbone.components.unet.state_dict()
    assert all(torch.equal(unet_before[k], unet_after[k]) for k in unet_before)
    state = torch.load(checkpoint, map_location='cpu', weights_only=True)['state_dict']
    assert not any(k.startswith('backbone.') for k in state)
    assert any(k.startswith(head_prefix) for k in state)


def train_then_resume(cfg: Config):
    """Train ``cfg`` (2 iterations, checkpoint at 2), then resume it to 4 iterations."""
    from mmengine.runner import Runner
    Runner.from_cfg(cfg).train()
    cfg2 = cfg.copy()
    cfg2.train_cfg.max_iters = 4
    cfg2.default_hooks.checkpoint.interval = 2
    cfg2.resume = True
    runner = Runner.from_cfg(cfg2)
    runner.train()
    assert runner.iter == 4
    assert osp.isfile(osp.join(cfg.work_dir, 'iter_4.pth'))
