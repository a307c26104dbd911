"""configs/voc_synth_100.py: mmseg's stock DeepLabV3 VOC config + our synthetic set."""
import os
import os.path as osp

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.runner import Runner
from PIL import Image

from tests.test_datasets.test_synthetic_seg import _generated

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))


def make_toy_voc(root, num=3, size=64):
    """A VOC2012-layout folder with a few images and a train_100 split."""
    rng = np.random.default_rng(0)
    for sub in ('JPEGImages', 'SegmentationClass', 'ImageSets/Segmentation'):
        os.makedirs(osp.join(root, sub), exist_ok=True)
    names = []
    for i in range(num):
        name = f'2007_{i:06d}'
        Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8)).save(
            osp.join(root, 'JPEGImages', name + '.jpg'))
        label = np.zeros((size, size), np.uint8)
        label[: size // 2] = 15  # person
        Image.fromarray(label).save(osp.join(root, 'SegmentationClass', name + '.png'))
        names.append(name)
    with open(osp.join(root, 'ImageSets/Segmentation/train_100.txt'), 'w') as f:
        f.write('\n'.join(names) + '\n')
    with open(osp.join(root, 'ImageSets/Segmentation/val.txt'), 'w') as f:
        f.write('\n'.join(names) + '\n')
    return root


@pytest.mark.slow
@pytest.mark.parametrize('config', ['voc_synth_100.py', 'voc_real_100.py'])
def test_mixing_config_trains_on_real_plus_synthetic(tmp_path, config):
    voc = make_toy_voc(str(tmp_path / 'VOC2012'))
    synth = _generated(str(tmp_path / 'synth'), classes=('background', 'person', 'car'))
    cfg = Config.fromfile(osp.join(ROOT, 'configs', config))
    cfg.work_dir = str(tmp_path / 'work')
    datasets = cfg.train_dataloader.dataset.datasets
    datasets[0].data_root = voc
    if config == 'voc_synth_100.py':
        datasets[1].data_root = synth
    for ds in datasets:
        ds.pipeline[2] = dict(type='RandomResize', scale=(64, 64), ratio_range=(0.5, 2.0),
                              keep_ratio=True)
        ds.pipeline[3].crop_size = (64, 64)
        if ds.pipeline[-2].type == 'Pad':
            ds.pipeline[-2].size = (64, 64)
    cfg.val_dataloader.dataset.data_root = voc
    cfg.test_dataloader = cfg.val_dataloader
    cfg.model.data_preprocessor.size = (64, 64)
    cfg.model.backbone.norm_cfg = cfg.model.decode_head.norm_cfg = \
        cfg.model.auxiliary_head.norm_cfg = dict(type='BN', requires_grad=True)
    cfg.model.pretrained = None
    cfg.train_dataloader.batch_size = 2
    cfg.train_dataloader.num_workers = cfg.val_dataloader.num_workers = 0
    cfg.train_dataloader.persistent_workers = cfg.val_dataloader.persistent_workers = False
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=2, val_interval=2)
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', by_epoch=False, interval=2)
    runner = Runner.from_cfg(cfg)
    dataset = runner.train_dataloader.dataset
    assert len(dataset) == (6 if config == 'voc_synth_100.py' else 3)
    if config == 'voc_synth_100.py':
        # mmengine's ConcatDataset requires equal metainfo; the synthetic set takes VOC's
        assert dataset.datasets[1].metainfo == dataset.datasets[0].metainfo
        from mmseg.datasets import PascalVOCDataset
        assert dataset.datasets[1].metainfo['classes'] == PascalVOCDataset.METAINFO['classes']
        labels = dataset.datasets[1][0]['data_samples'].gt_sem_seg.data.unique().tolist()
        assert set(labels) <= {0, 7, 15, 255}  # person -> 15, car -> 7 in VOC's ids
    runner.train()
    metrics = runner.val_loop.run()
    assert 0.0 <= metrics['mIoU'] <= 100.0
