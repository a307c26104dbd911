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
