"""The demo's downstream segmentor configs (projects/demo_world/configs/seg_real_*.py) and the
headroom command (projects/demo_world/tools/headroom.py) on a tiny demo world."""
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.runner import Runner

from tests.test_configs.runner_utils import short_schedule, train_and_score
from tests.tool_module import load_tool

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..', '..'))
CONFIGS = {'train_100': 'projects/demo_world/configs/seg_real_100.py',
           'train_large': 'projects/demo_world/configs/seg_real_large.py'}
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader', 'test_shifted_dataloader')


@pytest.mark.parametrize('split', list(CONFIGS))
def test_config_trains_and_scores_both_test_splits(split, tiny_world, tmp_path):
    cfg = Config.fromfile(osp.join(ROOT, CONFIGS[split]))
    assert cfg.train_dataloader.dataset.split == split
    assert cfg.val_dataloader.dataset.split == 'test'
    assert cfg.test_shifted_dataloader.dataset.split == 'test_shifted'
    assert cfg.model.decode_head.num_classes == 6
    for key in LOADERS:
        cfg[key].dataset.data_root = tiny_world
    short_schedule(cfg, tmp_path, iters=60)

    runner = Runner.from_cfg(cfg)
    before, after = train_and_score(runner, dict(
        test=(cfg.test_dataloader, cfg.test_evaluator),
        test_shifted=(cfg.test_shifted_dataloader, cfg.test_evaluator)))
    assert osp.isfile(osp.join(str(tmp_path), 'iter_60.pth'))
    # It learns in 60 iterations: measured with 1 and 2 threads (the order of the random draws
    # moves these a lot) mIoU 2.76 -> 14.3-18.9 on `test`, aAcc 4.57 -> 15.1-35.0 on
    # `test_shifted`; untrained weights stay near chance.
    assert after['test']['mIoU'] >= before['test']['mIoU'] + 8, (before, after)
    assert after['test_shifted']['aAcc'] >= before['test_shifted']['aAcc'] + 8, (before, after)


def test_headroom_config_and_schedule_scaling(tiny_world):
    headroom = load_tool('projects/demo_world/tools/headroom.py')
    counts = headroom.check_world(tiny_world)
    assert counts == dict(train_100=8, train_large=8, test=4, test_shifted=4)
    cfg = headroom.build_arm_config(osp.join(ROOT, CONFIGS['train_large']), tiny_world,
                                    '/tmp/unused', iters=30)
    assert all(cfg[key].dataset.data_root == tiny_world for key in LOADERS)
    assert cfg.train_cfg.max_iters == 30
    assert cfg.train_cfg.val_interval <= 30
    warmup, poly = cfg.param_scheduler
    assert warmup['begin'] == 0 and 1 <= warmup['end'] < 30
    assert poly['begin'] == warmup['end'] and poly['end'] == 30
    with pytest.raises(ValueError, match='--iters'):
        headroom.set_iters(cfg, 0)


def test_headroom_names_missing_splits(tmp_path):
    from projects.demo_world.demo_world import generate_world
    headroom = load_tool('projects/demo_world/tools/headroom.py')
    with pytest.raises(FileNotFoundError, match='make_demo_world'):
        headroom.check_world(str(tmp_path / 'nowhere'))
    root = str(tmp_path / 'world')
    generate_world(root, seed=5, splits=['train_100', 'test'], train_100=2, test=2, progress=False)
    with pytest.raises(FileNotFoundError, match=r"train_large.*test_shifted"):
        headroom.check_world(root)
