"""Generated poses read as an mmpose dataset, matched to the real keypoint metainfo by name."""
import json
import os
import os.path as osp

import numpy as np
import pytest
from mmengine.registry import init_default_scope

from projects.demo_world.demo_world import FLIP_PAIRS, KEYPOINT_NAMES, KEYPOINT_SIGMAS, SKELETON
from .synthetic_sets import coco17_poses, poses_from_world

# what mmpose's parse_pose_metainfo derives from the keypoint info; CLASSES is added from
# each COCO file's categories when it is loaded, so it is not compared
POSE_KEYS = ('dataset_name', 'num_keypoints', 'keypoint_id2name', 'keypoint_name2id',
             'upper_body_ids', 'lower_body_ids', 'flip_indices', 'flip_pairs',
             'skeleton_links', 'dataset_keypoint_weights', 'sigmas')
PIPELINE = [dict(type='LoadImage'), dict(type='GetBBoxCenterScale'),
            dict(type='TopdownAffine', input_size=(48, 64)), dict(type='PackPoseInputs')]


def _build(cfg):
    from mmdatasetdm.registry import DATASETS
    init_default_scope('mmpose')
    return DATASETS.build(cfg)


def synthetic_cfg(root, **kw):
    kw.setdefault('pipeline', [])
    if 'metainfo' not in kw:
        kw.setdefault('metainfo_from', 'mmdatasetdm.DemoWorldPoseDataset')
    return dict(type='mmdatasetdm.SyntheticPoseDataset', data_root=root, **kw)


def real_cfg(world, split='test', **kw):
    kw.setdefault('pipeline', [])
    return dict(type='mmdatasetdm.DemoWorldPoseDataset', data_root=world, split=split, **kw)


def assert_same_keypoint_metainfo(a, b):
    for key in POSE_KEYS:
        np.testing.assert_array_equal(np.asarray(a[key], dtype=object),
                                      np.asarray(b[key], dtype=object), err_msg=key)


@pytest.fixture(scope='module')
def generated(small_world, tmp_path_factory):
    """The world's `test` split written as a generated pose set."""
    return poses_from_world(small_world, 'test', str(tmp_path_factory.mktemp('gen_pose')),
                            low_score_every=3)


def _people(ds):
    return [ds.get_data_info(i) for i in range(len(ds))]


def test_poses_are_read_with_the_real_keypoint_metainfo(generated, small_world):
    real, synth = _build(real_cfg(small_world)), _build(synthetic_cfg(generated))
    assert_same_keypoint_metainfo(synth.metainfo, real.metainfo)
    np.testing.assert_allclose(synth.metainfo['sigmas'], KEYPOINT_SIGMAS)
    assert {tuple(sorted(p)) for p in synth.metainfo['flip_pairs']} == set(FLIP_PAIRS)
    # the file's category, as mmpose's own datasets record theirs (CocoMetric writes it)
    [category] = synth.metainfo['CLASSES']
    assert category['name'] == 'person' and category['keypoints'] == list(KEYPOINT_NAMES)
    want, got = _people(real), _people(synth)
    assert len(got) == len(want) > 0  # the rejected sample is not read
    for a, b in zip(got, want):
        np.testing.assert_allclose(a['keypoints'], b['keypoints'], atol=1e-3)
        np.testing.assert_array_equal(a['keypoints_visible'], b['keypoints_visible'])
        np.testing.assert_allclose(a['bbox'], b['bbox'], atol=1e-3)
        assert a['prompt'] == 'a photo of a person'
        assert a['img_path'].startswith(osp.join(generated, 'images'))


def test_keypoints_in_another_order_are_reordered_by_name(small_world, tmp_path):
    order = list(reversed(range(len(KEYPOINT_NAMES))))
    root = poses_from_world(small_world, 'test', str(tmp_path / 'reversed'), order=order)
    with open(osp.join(root, 'keypoints.json')) as f:
        assert json.load(f)['categories'][0]['keypoints'][0] == 'right_ankle'
    want, got = _people(_build(real_cfg(small_world))), _people(_build(synthetic_cfg(root)))
    assert len(got) == len(want)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a['keypoints'], b['keypoints'], atol=1e-3)
        np.testing.assert_array_equal(a['keypoints_visible'], b['keypoints_visible'])


def test_filters_by_score_class_and_count(generated):
    people = len(_build(synthetic_cfg(generated)))
    # every third pose was written with score 0.4, the others 0.8
    assert len(_build(synthetic_cfg(generated, min_score=0.5))) == people - people // 3
    with open(osp.join(generated, 'manifest.jsonl')) as f:
        lines = [json.loads(line) for line in f]
    with_people = [line for line in lines if line['accepted'] and line['classes']]
    per_image = [line['scores']['num_poses'] for line in with_people]
    assert len(_build(synthetic_cfg(generated, max_samples=3)))  \
        == sum(line['scores']['num_poses'] for line in lines[:3])
    assert len(_build(synthetic_cfg(generated, classes_filter=['person']))) == sum(per_image)
    with pytest.raises(ValueError, match='no accepted sample passes'):
        _build(synthetic_cfg(generated, classes_filter=['car']))
    with pytest.raises(ValueError, match='no pose .* passes'):
        _build(synthetic_cfg(generated, min_score=0.9))


def test_mixes_with_the_real_set_in_combined_dataset(generated, small_world):
    from projects.demo_world.demo_world import POSE_METAINFO
    real, synth = _build(real_cfg(small_world)), _build(synthetic_cfg(generated))
    mixed = _build(dict(type='CombinedDataset', metainfo=POSE_METAINFO,
                        datasets=[real_cfg(small_world), synthetic_cfg(generated)],
                        sample_ratio_factor=[2.0, 1.0], pipeline=PIPELINE))
    assert len(mixed) == 2 * len(real) + len(synth)
    assert_same_keypoint_metainfo(mixed.metainfo, synth.metainfo)
    first_synthetic = mixed[2 * len(real)]
    assert first_synthetic['inputs'].shape == (3, 64, 48)
    assert first_synthetic['data_samples'].img_path.startswith(generated)
    assert mixed[0]['data_samples'].img_path.startswith(small_world)


def test_errors_name_the_file_and_the_fix(small_world, tmp_path):
    root = coco17_poses(str(tmp_path / 'coco17'))
    with pytest.raises(ValueError, match=r"keypoints.json: its 17 keypoints .* are not the real "
                       r"dataset's 14 keypoints \(missing: \['head', 'neck'\], extra: \['nose', "
                       r".*KeypointConverter"):
        _build(synthetic_cfg(root))
    # the metainfo the file was written with (mmpose's COCO metainfo) reads it
    coco = _build(synthetic_cfg(root, metainfo_from='CocoDataset'))
    assert len(coco) == 1 and coco.metainfo['num_keypoints'] == 17

    other = [link for link in SKELETON if link != (0, 1)] + [(0, 2)]  # head-l.shoulder
    root = poses_from_world(small_world, 'test', str(tmp_path / 'skeleton'), num=4,
                            skeleton=other)
    with pytest.raises(ValueError, match=r"skeleton differs from the real dataset's metainfo "
                       r"\(demo_world_person\) in the links \[\('head', 'left_shoulder'\), "
                       r"\('head', 'neck'\)\].*flip pairs and sigmas"):
        _build(synthetic_cfg(root))

    root = poses_from_world(small_world, 'test', str(tmp_path / 'missing'), num=4)
    os.remove(osp.join(root, 'images', '00000000.png'))
    with pytest.raises(FileNotFoundError, match=r'manifest.jsonl:1 \(sample 0\) lists image file '
                       r'images/00000000.png, which is missing.*--resume'):
        _build(synthetic_cfg(root))

    root = poses_from_world(small_world, 'test', str(tmp_path / 'corrupt'), num=4)
    with open(osp.join(root, 'images', '00000003.png'), 'wb') as f:
        f.write(b'\x89PNG\r\n\x1a\n truncated')
    with pytest.raises(ValueError, match=r'image file .*00000003.png is not a readable image.*'
                       'tools/generate.py'):
        _build(synthetic_cfg(root, verify=True))

    with pytest.raises(KeyError, match="metainfo_from='NoSuchDataset' is not a registered "
                       'mmpose dataset type'):
        _build(synthetic_cfg(root, metainfo_from='NoSuchDataset'))


def test_a_set_without_labelled_keypoints_is_refused_with_the_fix(small_world, tmp_path):
    """mmpose drops poses without a labelled keypoint; an emptied set says why."""
    root = poses_from_world(small_world, 'test', str(tmp_path / 'unlabelled'), num=4)
    path = osp.join(root, 'keypoints.json')
    with open(path) as f:
        coco = json.load(f)
    for ann in coco['annotations']:
        ann['keypoints'] = [0 if i % 3 == 2 else v for i, v in enumerate(ann['keypoints'])]
        ann['num_keypoints'] = 0
    with open(path, 'w') as f:
        json.dump(coco, f)
    with pytest.raises(ValueError, match=r'keypoints.json: no generated pose has a labelled '
                       r'keypoint.*min_keypoint_score'):
        _build(synthetic_cfg(root))
