"""A demo world written in VOC / COCO / NYU layouts loads in the toolboxes' STOCK readers.

The tiny world (64x64) is written at 128x128; every label read back by mmseg's
``PascalVOCDataset`` / ``NYUDataset``, mmdet's ``CocoDataset`` and mmpose's
``CocoDataset`` must be the demo label, upscaled x2 and mapped onto the real ids.
"""
import json
import os.path as osp

import numpy as np
import pytest
from PIL import Image
from pycocotools import mask as mask_utils

from mmdatasetdm.fileio import read_depth, read_semantic, voc_palette
from projects.demo_world.demo_world import KEYPOINT_NAMES, OBJECT_CLASSES, WorldLayout, make_sample
from projects.demo_world.demo_world.real_layouts import (COCO_CATEGORIES, COCO_CATEGORY_IDS,
                                                         COCO_CATEGORY_MAP, COCO_KEYPOINT_NAMES,
                                                         MANIFEST_FILE, VOC_CLASS_MAP, VOC_CLASSES,
                                                         map_keypoints, scene_type, voc_label_lut,
                                                         write_real_layouts)
from tests.demo_world import build_dataset
from tests.tool_module import load_tool

SIZE = 128
FACTOR = 2
TRAIN_SPLITS = ('train_100', 'test_shifted')
VAL_SPLITS = ('test', )


def up(array):
    """Nearest x2 upscaling: every pixel becomes a 2x2 block."""
    return np.repeat(np.repeat(array, FACTOR, axis=0), FACTOR, axis=1)


@pytest.fixture(scope='module')
def layouts(tiny_world, tmp_path_factory):
    out = str(tmp_path_factory.mktemp('real_layouts'))
    manifest = write_real_layouts(tiny_world, out, SIZE, train_splits=TRAIN_SPLITS,
                                  val_splits=VAL_SPLITS)
    return tiny_world, out, manifest


def _demo_json(world, split, kind):
    layout = WorldLayout(world)
    path = layout.instances(split) if kind == 'instances' else layout.keypoints(split)
    with open(path) as f:
        coco = json.load(f)
    by_image = {}
    for ann in coco['annotations']:
        by_image.setdefault(ann['image_id'], []).append(ann)
    return by_image


def test_manifest_and_tables(layouts):
    world, out, manifest = layouts
    assert json.load(open(osp.join(out, MANIFEST_FILE))) == json.loads(json.dumps(manifest))
    assert manifest['size'] == [SIZE, SIZE]
    assert set(VOC_CLASS_MAP) == {'background', *OBJECT_CLASSES}
    assert set(COCO_CATEGORY_MAP) == set(OBJECT_CLASSES)
    # every demo class gets its own real class: the rehearsal keeps classes apart
    assert len(set(VOC_CLASS_MAP.values())) == len(VOC_CLASS_MAP)
    assert len(set(COCO_CATEGORY_MAP.values())) == len(COCO_CATEGORY_MAP)
    assert VOC_CLASS_MAP['person'] == 'person' and VOC_CLASS_MAP['car'] == 'car'
    assert COCO_CATEGORY_IDS['person'] == 1 and COCO_CATEGORY_IDS['car'] == 3
    assert COCO_CATEGORY_IDS['sports ball'] == 37 and COCO_CATEGORY_MAP['ball'] == 'sports ball'
    assert len(COCO_CATEGORIES) == 80
    # COCO's names in id order are mmdet's class list
    from mmdet.datasets import CocoDataset
    assert tuple(name for _, name, _ in COCO_CATEGORIES) == CocoDataset.METAINFO['classes']
    from mmseg.datasets import PascalVOCDataset
    assert VOC_CLASSES == PascalVOCDataset.METAINFO['classes']
    counts = {t: len(e) for t, e in manifest['formats']['voc']['splits'].items()}
    assert counts == dict(train=8 + 4, val=4)


def test_voc_in_mmseg_pascal_voc_dataset(layouts):
    world, out, manifest = layouts
    layout, lut = WorldLayout(world), voc_label_lut()
    root = osp.join(out, 'VOCdevkit', 'VOC2012')
    pipeline = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations')]
    ds = build_dataset(dict(type='PascalVOCDataset', data_root=root,
                            data_prefix=dict(img_path='JPEGImages',
                                             seg_map_path='SegmentationClass'),
                            ann_file='ImageSets/Segmentation/train.txt', pipeline=pipeline),
                       'mmseg')
    entries = manifest['formats']['voc']['splits']['train']
    assert len(ds) == len(entries) == 12
    assert ds.metainfo['classes'] == VOC_CLASSES
    seen = set()
    for i, entry in enumerate(entries):
        item = ds[i]
        assert osp.basename(item['img_path']) == entry['name'] + '.jpg'
        assert item['img'].shape == (SIZE, SIZE, 3)
        demo = read_semantic(layout.semantic(entry['split'], entry['index']))
        expected = lut[up(demo)]
        np.testing.assert_array_equal(item['gt_seg_map'], expected)
        seen |= set(np.unique(item['gt_seg_map']).tolist())
        with Image.open(item['seg_map_path']) as png:
            assert png.mode == 'P'
            palette = np.asarray(png.getpalette()[:21 * 3]).reshape(21, 3)
        np.testing.assert_array_equal(palette, voc_palette(21))
    assert seen <= {VOC_CLASSES.index(VOC_CLASS_MAP[c]) for c in VOC_CLASS_MAP}
    assert VOC_CLASSES.index('person') in seen
    with open(osp.join(root, 'ImageSets', 'Segmentation', 'val.txt')) as f:
        assert f.read().split() == [f'test_{i:06d}' for i in range(4)]


def test_coco_in_mmdet_coco_dataset(layouts):
    world, out, manifest = layouts
    pipeline = [dict(type='LoadImageFromFile'),
                dict(type='LoadAnnotations', with_bbox=True, with_mask=True)]
    ds = build_dataset(dict(type='CocoDataset', data_root=osp.join(out, 'coco'),
                            ann_file='annotations/instances_train2017.json',
                            data_prefix=dict(img='train2017/'), pipeline=pipeline), 'mmdet')
    entries = {e['image_id']: e for e in manifest['formats']['coco']['splits']['train2017']}
    assert len(ds) == len(entries) == 12
    demo = {s: _demo_json(world, s, 'instances') for s in TRAIN_SPLITS}
    classes = ds.metainfo['classes']
    total = 0
    for i in range(len(ds)):
        item = ds[i]
        entry = entries[item['img_id']]
        assert osp.basename(item['img_path']) == entry['file_name']
        assert item['img'].shape == (SIZE, SIZE, 3) and item['ori_shape'] == (SIZE, SIZE)
        anns = demo[entry['split']].get(entry['index'] + 1, [])
        assert len(item['gt_bboxes']) == len(anns)
        total += len(anns)
        for k, ann in enumerate(anns):
            x, y, w, h = (FACTOR * v for v in ann['bbox'])
            np.testing.assert_allclose(item['gt_bboxes'].tensor[k].numpy(), [x, y, x + w, y + h])
            name = COCO_CATEGORY_MAP[OBJECT_CLASSES[ann['category_id'] - 1]]
            assert classes[item['gt_bboxes_labels'][k]] == name
            np.testing.assert_array_equal(item['gt_masks'].masks[k],
                                          up(mask_utils.decode(ann['segmentation'])))
            assert not item['gt_ignore_flags'][k]
    assert total > 0
    coco = json.load(open(osp.join(out, 'coco', 'annotations', 'instances_val2017.json')))
    assert len(coco['images']) == 4 and len(coco['categories']) == 80
    areas = [a['area'] for a in coco['annotations']]
    demo_val = [a for anns in _demo_json(world, 'test', 'instances').values() for a in anns]
    assert sorted(areas) == sorted(FACTOR**2 * a['area'] for a in demo_val)
    assert all(a['iscrowd'] == 0 for a in coco['annotations'])


def test_coco_keypoints_in_mmpose_coco_dataset(layouts):
    world, out, manifest = layouts
    ds = build_dataset(dict(type='CocoDataset', data_root=osp.join(out, 'coco'),
                            data_mode='topdown',
                            ann_file='annotations/person_keypoints_train2017.json',
                            data_prefix=dict(img='train2017/'), pipeline=[]), 'mmpose')
    meta = ds.metainfo
    assert meta['dataset_name'] == 'coco' and meta['num_keypoints'] == 17
    assert tuple(meta['keypoint_id2name'][k] for k in range(17)) == COCO_KEYPOINT_NAMES
    entries = {e['image_id']: e for e in manifest['formats']['coco']['splits']['train2017']}
    demo = {s: _demo_json(world, s, 'keypoints') for s in TRAIN_SPLITS}
    expected = {}
    for image_id, entry in entries.items():
        for ann in demo[entry['split']].get(entry['index'] + 1, []):
            if ann['num_keypoints'] > 0:  # mmpose drops persons without keypoints
                expected[image_id * 1000 + ann['id'] % 1000] = ann
    assert len(ds) == len(expected) > 0
    head, nose = KEYPOINT_NAMES.index('head'), COCO_KEYPOINT_NAMES.index('nose')
    for i in range(len(ds)):
        info = ds[i]
        ann = expected[info['id']]
        demo_kpts = np.asarray(ann['keypoints'], np.float64).reshape(-1, 3)
        kpts, vis = info['keypoints'][0], info['keypoints_visible'][0]
        if demo_kpts[head, 2] > 0:
            np.testing.assert_allclose(kpts[nose], FACTOR * demo_kpts[head, :2], atol=0.011)
            assert vis[nose] == 1
        for name in ('left_eye', 'right_eye', 'left_ear', 'right_ear'):
            j = COCO_KEYPOINT_NAMES.index(name)
            assert vis[j] == 0 and not kpts[j].any()
        for j, name in enumerate(COCO_KEYPOINT_NAMES[5:], start=5):
            src = demo_kpts[KEYPOINT_NAMES.index(name)]
            assert vis[j] == min(1, src[2])
            if src[2] > 0:
                np.testing.assert_allclose(kpts[j], FACTOR * src[:2], atol=0.011)
        mapped = map_keypoints(ann['keypoints'], (FACTOR, FACTOR))
        assert info['raw_ann_info']['keypoints'] == mapped
        assert info['num_keypoints'] == sum(v > 0 for v in mapped[2::3])
        assert info['num_keypoints'] == ann['num_keypoints'] - (demo_kpts[1, 2] > 0)  # neck
        x, y, w, h = (FACTOR * v for v in ann['bbox'])
        np.testing.assert_allclose(info['bbox'][0], [x, y, min(x + w, SIZE - 1),
                                                     min(y + h, SIZE - 1)])
        assert info['area'] == FACTOR**2 * ann['area']
        assert info['category_id'] == 1


def test_nyu_in_mmseg_nyu_dataset(layouts):
    world, out, manifest = layouts
    layout = WorldLayout(world)
    meta = json.load(open(layout.meta))
    pipeline = [dict(type='LoadImageFromFile'),
                dict(type='LoadDepthAnnotation', depth_rescale_factor=1e-3)]
    for target, splits in (('train', TRAIN_SPLITS), ('test', VAL_SPLITS)):
        ds = build_dataset(dict(type='NYUDataset', data_root=osp.join(out, 'nyu'),
                                data_prefix=dict(img_path=f'images/{target}',
                                                 depth_map_path=f'annotations/{target}'),
                                pipeline=pipeline), 'mmseg')
        entries = {e['name']: e for e in manifest['formats']['nyu']['splits'][target]}
        assert len(ds) == len(entries) == (12 if target == 'train' else 4)
        for i in range(len(ds)):
            item = ds[i]
            name = osp.splitext(osp.basename(item['img_path']))[0]
            entry = entries[name]
            assert name.startswith(entry['scene'] + '_')
            assert item['category_id'] == -1  # demo scene types are no NYU scene classes
            assert item['img'].shape == (SIZE, SIZE, 3)
            demo = read_depth(layout.depth(entry['split'], entry['index']), meta['depth_scale'])
            np.testing.assert_allclose(item['gt_depth_map'], up(demo), rtol=1e-6, atol=1e-6)
            assert (item['gt_depth_map'] == 0).any() and item['gt_depth_map'].max() > 1
            with Image.open(item['depth_map_path']) as png:
                assert np.asarray(png).dtype == np.uint16 or png.mode.startswith('I')


def test_nyu_scene_type_is_the_rendered_ground(layouts):
    world, _, manifest = layouts
    meta = json.load(open(WorldLayout(world).meta))
    for entry in manifest['formats']['nyu']['splits']['train'][::3]:
        spec = meta['splits'][entry['split']]
        sample = make_sample(meta['seed'], entry['split'], entry['index'],
                             domain=spec['domain'], class_frequency=spec['class_frequency'])
        assert scene_type(meta, entry['split'], entry['index']) == \
            sample.scene.background.ground == entry['scene']


def test_cli_and_refusals(tiny_world, tmp_path, capsys):
    tool = load_tool('projects/demo_world/tools/write_real_layouts.py')
    out = str(tmp_path / 'out')
    assert tool.main(['--world', tiny_world, '--out', out, '--size', '128', '--formats',
                      'nyu']) == 0
    assert 'nyu: ' in capsys.readouterr().out
    assert not osp.exists(osp.join(out, 'coco'))
    assert tool.main(['--world', tiny_world, '--out', out, '--formats', 'nyu']) == 1
    assert osp.join(out, 'nyu') in capsys.readouterr().err
    assert tool.main(['--world', tiny_world, '--out', out, '--formats', 'nyu',
                      '--overwrite', '--size', '96', '128']) == 0
    with Image.open(osp.join(out, 'nyu', 'images', 'test', sorted(
            manifest_names(out, 'test'))[0] + '.jpg')) as img:
        assert img.size == (128, 96)
    assert tool.main(['--world', tiny_world, '--out', out, '--val-splits', 'pool']) == 1
    assert "no split 'pool'" in capsys.readouterr().err


def manifest_names(out, target):
    manifest = json.load(open(osp.join(out, MANIFEST_FILE)))
    return [e['name'] for e in manifest['formats']['nyu']['splits'][target]]
