"""Generated instances read as an mmdet dataset, mapped onto a real dataset's classes by name."""
import json
import os
import os.path as osp
import shutil

import numpy as np
import pytest
from mmengine.registry import init_default_scope
from pycocotools import mask as mask_utils

from .synthetic_sets import GENERATOR_CLASSES, instances_from_world

PIPELINE = [dict(type='LoadImageFromFile'),
            dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
            dict(type='PackDetInputs')]


def _build(cfg):
    from mmdatasetdm.registry import DATASETS
    init_default_scope('mmdet')
    return DATASETS.build(cfg)


def synthetic_cfg(root, **kw):
    kw.setdefault('pipeline', [])
    return dict(type='mmdatasetdm.SyntheticInstanceDataset', data_root=root,
                metainfo_from='mmdatasetdm.DemoWorldDetDataset', **kw)


def real_cfg(world, split='test', **kw):
    kw.setdefault('pipeline', [])
    return dict(type='mmdatasetdm.DemoWorldDetDataset', data_root=world, split=split, **kw)


@pytest.fixture(scope='module')
def generated(small_world, tmp_path_factory):
    """The world's `test` split written as a generated instance set."""
    return instances_from_world(small_world, 'test', str(tmp_path_factory.mktemp('gen_inst')))


def test_instances_are_mapped_onto_the_real_classes_by_name(generated, small_world):
    real = _build(real_cfg(small_world))
    synth = _build(synthetic_cfg(generated))
    with open(osp.join(generated, 'instances.json')) as f:
        cats = {c['name']: c['id'] for c in json.load(f)['categories']}
    # the generator's ids are not the real ones: person is category 5 there, label 0 here
    assert cats['person'] == 5 and real.metainfo['classes'][0] == 'person'
    assert len(synth) == len(real) == 16  # the rejected sample is not read
    assert synth.metainfo == real.metainfo
    total = 0
    for i in range(len(real)):
        want, got = real.get_data_info(i), synth.get_data_info(i)
        assert got['img_path'] == osp.join(generated, 'images', f'{i:08d}.png')
        assert got['prompt'].startswith('a photo of')
        assert [x['bbox_label'] for x in got['instances']] == \
            [x['bbox_label'] for x in want['instances']]
        np.testing.assert_allclose([x['bbox'] for x in got['instances']],
                                   [x['bbox'] for x in want['instances']], atol=1e-6)
        for a, b in zip(got['instances'], want['instances']):
            np.testing.assert_array_equal(mask_utils.decode(a['mask']),
                                          mask_utils.decode(b['mask']))
        total += len(got['instances'])
    assert total > len(real)


def test_stock_pipeline_packs_the_mapped_labels(generated, small_world):
    real = _build(real_cfg(small_world, pipeline=PIPELINE))
    synth = _build(synthetic_cfg(generated, pipeline=PIPELINE))
    for i in (0, 5):
        a, b = synth[i]['data_samples'], real[i]['data_samples']
        assert a.gt_instances.labels.tolist() == b.gt_instances.labels.tolist()
        assert len(a.gt_instances.masks) == len(b.gt_instances.masks) > 0


def _count(ds):
    return sum(len(ds.get_data_info(i)['instances']) for i in range(len(ds)))


def test_filters_by_score_class_and_count(generated, small_world):
    real = _build(real_cfg(small_world))
    total = _count(_build(synthetic_cfg(generated)))
    # every third annotation was written with score 0.3, the others 0.9
    assert _count(_build(synthetic_cfg(generated, min_score=0.5))) == total - total // 3
    with_car = sum(any(x['bbox_label'] == 1 for x in real.get_data_info(i)['instances'])
                   for i in range(len(real)))
    assert 0 < with_car < len(real)
    assert len(_build(synthetic_cfg(generated, classes_filter=['car']))) == with_car
    assert len(_build(synthetic_cfg(generated, max_samples=5))) == 5
    # dropping every class but person: mmdet's filter_empty_gt removes the emptied images
    others = [c for c in GENERATOR_CLASSES if c != 'person']
    kept = _build(synthetic_cfg(generated, drop_classes=others,
                                filter_cfg=dict(filter_empty_gt=True)))
    with_person = sum(any(x['bbox_label'] == 0 for x in real.get_data_info(i)['instances'])
                      for i in range(len(real)))
    assert len(kept) == with_person
    assert {x['bbox_label'] for i in range(len(kept))
            for x in kept.get_data_info(i)['instances']} == {0}
    with pytest.raises(ValueError, match='no annotation of .* passes'):
        _build(synthetic_cfg(generated, min_score=0.95))


def test_mixes_with_the_real_set_in_mmdet_concat_and_repeat(generated, small_world):
    mixed = _build(dict(type='ConcatDataset', datasets=[
        dict(type='RepeatDataset', times=2, dataset=real_cfg(small_world, pipeline=PIPELINE)),
        synthetic_cfg(generated, pipeline=PIPELINE)]))
    assert len(mixed) == 2 * 16 + 16
    # equal metainfo: mmdet's ConcatDataset keeps one dict (a list when they differ)
    assert mixed.metainfo['classes'] == ('person', 'car', 'cone', 'tree', 'ball')
    assert mixed[40]['data_samples'].gt_instances.labels.tolist() == \
        mixed[8]['data_samples'].gt_instances.labels.tolist()


def test_errors_name_the_file_and_the_fix(small_world, tmp_path):
    root = instances_from_world(small_world, 'test', str(tmp_path / 'zebra'), num=4,
                                classes=GENERATOR_CLASSES + ('zebra', ))
    with pytest.raises(ValueError, match=r"instances.json has categories \['zebra'\] that the "
                       r'real dataset lacks .*class_map=.*drop_classes='):
        _build(synthetic_cfg(root))
    assert len(_build(synthetic_cfg(root, drop_classes=['zebra']))) == 4
    assert len(_build(synthetic_cfg(root, class_map={'zebra': 'ball'}))) == 4
    with pytest.raises(ValueError, match="class_map names \\['horse'\\]"):
        _build(synthetic_cfg(root, class_map={'horse': 'ball'}, drop_classes=['zebra']))
    with pytest.raises(ValueError, match="needs the real dataset's metainfo"):
        _build(dict(type='mmdatasetdm.SyntheticInstanceDataset', data_root=root))

    root = instances_from_world(small_world, 'test', str(tmp_path / 'missing'), num=4)
    os.remove(osp.join(root, 'images', '00000001.png'))
    with pytest.raises(FileNotFoundError, match=r'manifest.jsonl:2 \(sample 1\) lists image file '
                       r'images/00000001.png, which is missing.*tools/generate.py --resume'):
        _build(synthetic_cfg(root))

    root = instances_from_world(small_world, 'test', str(tmp_path / 'corrupt'), num=4)
    with open(osp.join(root, 'images', '00000002.png'), 'wb') as f:
        f.write(b'\x89PNG not really')
    assert len(_build(synthetic_cfg(root))) == 4  # not decoded unless verify=True
    with pytest.raises(ValueError, match=r'image file .*00000002.png is not a readable image.*'
                       'tools/generate.py'):
        _build(synthetic_cfg(root, verify=True))

    root = instances_from_world(small_world, 'test', str(tmp_path / 'stale'), num=4)
    path = osp.join(root, 'instances.json')
    with open(path) as f:
        doc = json.load(f)
    doc['images'] = [im for im in doc['images'] if im['id'] != 2]
    with open(path, 'w') as f:
        json.dump(doc, f)
    with pytest.raises(ValueError, match=r'instances.json has no image for sample 1 .*merge'):
        _build(synthetic_cfg(root))


def test_an_annotation_of_an_unknown_category_is_named(generated, tmp_path):
    """CocoDataset skips such annotations silently; a generated set must not lose labels so."""
    copy = str(tmp_path / 'copy')
    shutil.copytree(generated, copy)
    path = osp.join(copy, 'instances.json')
    doc = json.load(open(path))
    doc['annotations'][0]['category_id'] = 77
    json.dump(doc, open(path, 'w'))
    ann_id = doc['annotations'][0]['id']
    with pytest.raises(ValueError, match=rf'instances\.json: annotation {ann_id} of sample \d+ '
                       r'has category_id 77, which is not one of its categories'):
        _build(synthetic_cfg(copy))
