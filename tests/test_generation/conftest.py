"""Fixtures of the generation tests."""
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.runner import Runner

from tests.toy_data import make_toy_seg_dataset

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
PDECODER_CFG = osp.join(ROOT, 'configs', 'pdecoder', 'semantic_tiny.py')
GENERATE_CFG = osp.join(ROOT, 'configs', 'generate', 'semantic_tiny.py')


@pytest.fixture(scope='session')
def semantic_checkpoint(tmp_path_factory, tiny_sd_folder):
    """A semantic P-Decoder trained for a few iterations (enough to decode)."""
    tmp = tmp_path_factory.mktemp('pdecoder')
    cfg = Config.fromfile(PDECODER_CFG)
    root = make_toy_seg_dataset(str(tmp / 'data'), num=4, size=64)
    cfg.work_dir = str(tmp / 'work')
    cfg.model.backbone.pretrained = tiny_sd_folder
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.data_root = root
    cfg.train_cfg.max_iters = 2
    cfg.train_cfg.val_interval = 1000
    cfg.default_hooks.checkpoint.interval = 2
    Runner.from_cfg(cfg).train()
    return osp.join(cfg.work_dir, 'iter_2.pth')


def generate_cfg(checkpoint, tiny_sd_folder, **overrides):
    """configs/generate/semantic_tiny.py on a checkpoint and an SD folder."""
    cfg = Config.fromfile(GENERATE_CFG)
    cfg.decoder.config = PDECODER_CFG
    cfg.decoder.checkpoint = checkpoint
    cfg.decoder.cfg_options = {'model.backbone.pretrained': tiny_sd_folder}
    cfg.merge_from_dict(overrides)
    return cfg


def make_engine(cfg, **kw):
    """The GenerationEngine of a generation config."""
    from mmdatasetdm.generation.engine import GenerationEngine
    cfg = cfg.copy()
    cfg.task = kw.get('task', cfg.task)
    return GenerationEngine.from_config(cfg, kw.get('num', cfg.num_samples))
