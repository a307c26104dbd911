"""Label maps keep their ids through every training transform (nearest-neighbour resizing)."""
import os.path as osp

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.dataset import Compose
from mmengine.registry import init_default_scope
from PIL import Image

ROOT = osp.join(osp.dirname(__file__), '..', '..')


@pytest.mark.parametrize('config', ['configs/pdecoder/semantic_voc_100.py',
                                    'projects/demo_world/configs/pdecoder_semantic.py',
                                    'configs/voc_synth_100.py'])
def test_two_class_map_gains_no_third_id(tmp_path, config):
    cfg = Config.fromfile(osp.join(ROOT, config))
    init_default_scope('mmseg')
    dataset = cfg.train_dataloader.dataset
    pipeline = dataset.pipeline if 'pipeline' in dataset else dataset.datasets[0].pipeline
    rng = np.random.default_rng(0)
    img = rng.integers(0, 255, (97, 131, 3), dtype=np.uint8)  # odd sizes: real resampling
    label = np.zeros((97, 131), np.uint8)
    yy, xx = np.mgrid[:97, :131]
    # a disc of one class (a valid id in every config)
    label[(yy - 50)**2 + (xx - 60)**2 < 35**2] = 3
    Image.fromarray(img).save(tmp_path / 'img.png')
    Image.fromarray(label).save(tmp_path / 'seg.png')
    transform = Compose(pipeline)
    seen = set()
    for _ in range(10):
        out = transform(dict(img_path=str(tmp_path / 'img.png'),
                             seg_map_path=str(tmp_path / 'seg.png'), seg_fields=[],
                             reduce_zero_label=False, label_map=None))
        ids = set(np.unique(out['data_samples'].gt_sem_seg.data.numpy()).tolist())
        assert ids <= {0, 3, 255}, ids  # 255: padding
        seen |= ids
    assert {0, 3} <= seen
