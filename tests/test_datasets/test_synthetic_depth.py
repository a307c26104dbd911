"""Generated depth maps read as an mmseg depth dataset (NYU layout), depth scale checked."""
import os
import os.path as osp

import numpy as np
import pytest
from mmengine.dataset import ConcatDataset
from PIL import Image

from tests.demo_world import build_dataset
from .synthetic_sets import depth_from_world


def pipeline(factor=1e-3):
    return [dict(type='LoadImageFromFile'),
            dict(type='LoadDepthAnnotation', depth_rescale_factor=factor),
            dict(type='PackSegInputs', meta_keys=('img_path', 'depth_map_path', 'ori_shape',
                                                  'img_shape', 'category_id'))]


def _build(cfg):
    return build_dataset(cfg, 'mmseg')


def synthetic_cfg(root, **kw):
    kw.setdefault('pipeline', pipeline())
    if 'metainfo' not in kw:
        kw.setdefault('metainfo_from', 'mmdatasetdm.DemoWorldDepthDataset')
    return dict(type='mmdatasetdm.SyntheticDepthDataset', data_root=root, **kw)


def real_cfg(world, split='test', **kw):
    kw.setdefault('pipeline', pipeline())
    return dict(type='mmdatasetdm.DemoWorldDepthDataset', data_root=world, split=split, **kw)


@pytest.fixture(scope='module')
def generated(small_world, tmp_path_factory):
    """The world's `test` split written as a generated depth set (millimetres)."""
    return depth_from_world(small_world, 'test', str(tmp_path_factory.mktemp('gen_depth')))


def test_depth_maps_read_like_the_real_set(generated, small_world):
    real, synth = _build(real_cfg(small_world)), _build(synthetic_cfg(generated))
    assert len(synth) == len(real) == 16  # the rejected sample is not read
    # mmengine's ConcatDataset (what mmseg configs get) accepts only equal metainfo
    assert synth.metainfo == real.metainfo
    assert len(ConcatDataset([real, synth])) == 32
    info = synth.get_data_info(1)
    assert info['depth_map_path'] == osp.join(generated, 'depth', '00000001.png')
    assert info['depth_scale'] == 1000.0 and info['prompt'] == 'a photo of a tree'
    assert info['category_id'] == -1  # no NYU scene class in the prompt
    for i in (0, 7):
        a, b = synth[i]['data_samples'], real[i]['data_samples']
        depth = a.gt_depth_map.data.numpy()[0]
        np.testing.assert_allclose(depth, b.gt_depth_map.data.numpy()[0], atol=1e-6)
        assert depth.max() > 1.0 and (depth == 0).any()  # metres; sky has no depth
        assert a.category_id == -1


def test_prompt_classes_become_category_ids_and_filters_select(generated):
    ds = _build(synthetic_cfg(generated, metainfo=dict(classes=('sky', 'tree', 'car'))))
    assert [ds.get_data_info(i)['category_id'] for i in range(4)] == [2, 1, 2, 1]
    assert len(_build(synthetic_cfg(generated, classes_filter=['tree']))) == 8
    assert len(_build(synthetic_cfg(generated, max_samples=3))) == 3
    everything = _build(synthetic_cfg(generated))
    nearest = [d[d > 0].min().item() for d in
               (everything[i]['data_samples'].gt_depth_map.data for i in range(16))]
    threshold = float(np.median(nearest))
    far = _build(synthetic_cfg(generated, min_score=threshold))  # score_key='min_depth'
    assert 0 < len(far) == sum(d >= threshold - 1e-6 for d in nearest) < 16
    for i in range(len(far)):
        depth = far[i]['data_samples'].gt_depth_map.data
        assert depth[depth > 0].min() >= threshold - 1e-6


def test_depth_scale_must_match_the_rescale_factor(small_world, tmp_path):
    root = depth_from_world(small_world, 'test', str(tmp_path / 'scale256'), num=3,
                            depth_scale=256.0)
    with pytest.raises(ValueError, match=r'dataset.json stores depth x 256 \(depth_scale\) but '
                       r"this dataset's LoadDepthAnnotation rescales by 0.001.*"
                       r'depth_rescale_factor=0.00390625'):
        _build(synthetic_cfg(root))
    synth = _build(synthetic_cfg(root, pipeline=pipeline(1 / 256)))
    real = _build(real_cfg(small_world))
    np.testing.assert_allclose(synth[2]['data_samples'].gt_depth_map.data.numpy(),
                               real[2]['data_samples'].gt_depth_map.data.numpy(),
                               atol=0.5 / 256 + 1e-6)


def test_errors_name_the_file_and_the_fix(small_world, tmp_path):
    root = depth_from_world(small_world, 'test', str(tmp_path / 'missing'), num=4)
    os.remove(osp.join(root, 'depth', '00000002.png'))
    with pytest.raises(FileNotFoundError, match=r'manifest.jsonl:3 \(sample 2\) lists depth file '
                       r'depth/00000002.png, which is missing.*--resume'):
        _build(synthetic_cfg(root))

    root = depth_from_world(small_world, 'test', str(tmp_path / 'corrupt'), num=4)
    with open(osp.join(root, 'depth', '00000001.png'), 'wb') as f:
        f.write(b'\x89PNG\r\n\x1a\n not a depth map')
    with pytest.raises(ValueError, match=r'depth file .*depth/00000001.png is not a readable '
                       r'image.*tools/generate.py'):
        _build(synthetic_cfg(root, verify=True))

    root = depth_from_world(small_world, 'test', str(tmp_path / 'eight_bit'), num=4)
    path = osp.join(root, 'depth', '00000003.png')
    Image.fromarray(np.full((64, 64), 7, np.uint8)).save(path)
    with pytest.raises(ValueError, match=r'00000003.png is not a 16-bit depth PNG \(mode L\).*'
                       'regenerate'):
        _build(synthetic_cfg(root, verify=True))

    with pytest.raises(ValueError, match='either metainfo or metainfo_from'):
        _build(synthetic_cfg(root, metainfo=dict(classes=('a', )), metainfo_from='NYUDataset'))
