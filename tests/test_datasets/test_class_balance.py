"""Pixel class frequencies of a segmentation dataset and median-frequency weights."""
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from mmdatasetdm.datasets.class_balance import median_frequency_weights, pixel_class_frequencies
from tests.demo_world import build_dataset

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))


def _seg_dataset(world, split):
    return build_dataset(dict(type='mmdatasetdm.DemoWorldSegDataset', data_root=world,
                              split=split, pipeline=[]), 'mmseg')


def test_frequencies_count_the_label_maps(small_world):
    dataset = _seg_dataset(small_world, 'test')
    counts = np.zeros(6)
    for i in range(len(dataset)):
        labels = np.asarray(Image.open(dataset.get_data_info(i)['seg_map_path']))
        counts += np.bincount(labels[labels != 255].ravel(), minlength=6)
    freq = pixel_class_frequencies(dataset)
    np.testing.assert_allclose(freq, counts / counts.sum())
    assert freq.shape == (6,) and freq[0] > 0.4  # background is the most common class


def test_median_frequency_weights():
    freq = [0.6, 0.05, 0.15, 0.01, 0.15, 0.04]  # median (0.05 + 0.15) / 2 = 0.1
    np.testing.assert_allclose(median_frequency_weights(freq, power=1.0),
                               [0.1 / f for f in freq])
    np.testing.assert_allclose(median_frequency_weights(freq),
                               [np.sqrt(0.1 / f) for f in freq])
    np.testing.assert_allclose(median_frequency_weights(freq, power=0), np.ones(6))
    with pytest.raises(ValueError, match=r"classes \['cone'\] have no pixels"):
        median_frequency_weights([0.5, 0.5, 0.0], class_names=['a', 'b', 'cone'])


def test_a_dataset_without_label_maps_is_refused():
    from mmengine.dataset import BaseDataset

    class Boxes(BaseDataset):
        METAINFO = dict(classes=('a', 'b'))

        def load_data_list(self):
            return [dict(img_path='x.png')]

    with pytest.raises(ValueError, match='sample 0 of Boxes has no seg_map_path'):
        pixel_class_frequencies(Boxes(pipeline=[]))


def test_cli_prints_the_config_weights(small_world):
    """tools/analysis_tools/class_weights.py on the demo segmentor config, pointed at the
    small world."""
    out = subprocess.run(
        [sys.executable, 'tools/analysis_tools/class_weights.py',
         'projects/demo_world/configs/seg_real_100.py', '--split', 'val', '--decimals', '3',
         '--cfg-options', f'val_dataloader.dataset.data_root={small_world}'],
        cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    weights = median_frequency_weights(pixel_class_frequencies(_seg_dataset(small_world, 'test')))
    lines = out.stdout.strip().splitlines()
    assert lines[0] == '16 images of val_dataloader'
    assert lines[-1] == 'class_weight=[' + ', '.join(f'{w:.3f}' for w in weights) + ']'
    assert lines[2].split()[0] == 'background' and len(lines) == 9
