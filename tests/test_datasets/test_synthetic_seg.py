"""Generated semantic data read as an mmseg dataset, mapped onto a real dataset's classes."""
import json
import os
import os.path as osp

import numpy as np
import pytest
from mmengine.dataset import ConcatDataset
from mmengine.registry import init_default_scope
from PIL import Image

from mmdatasetdm.datasets.synthetic import SampleLoadError
from mmdatasetdm.generation import ShardWriter, merge_shards
from tests.toy_data import make_toy_seg_dataset

REAL = dict(classes=('background', 'ball', 'cone', 'tree'),
            palette=[[0, 0, 0], [0, 0, 255], [255, 0, 0], [0, 255, 0]])
PIPELINE = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'),
            dict(type='PackSegInputs')]


def _generated(root, classes=('background', 'cone', 'ball'), num=3):
    """A generated dataset written by the real writer (labels: generator ids)."""
    writer = ShardWriter(osp.join(root, 'shards', 'rank00000'), classes=classes,
                         num_classes=len(classes))
    rng = np.random.default_rng(0)
    for i in range(num):
        labels = np.zeros((32, 32), np.uint8)
        labels[:16] = 1  # cone
        labels[16:, :16] = 2  # ball
        labels[0, 0] = 255
        writer.write_sample(i, f'a photo of a cone and a ball {i}', seed=i,
                            image=rng.integers(0, 255, (32, 32, 3), dtype=np.uint8),
                            semantic=labels, scores=dict(mean_confidence=0.5 + 0.2 * i))
    writer.write_sample(num, 'a photo of a cone', seed=num, accepted=False, reason='too uncertain')
    merge_shards([osp.join(root, 'shards', 'rank00000')], root)
    return root


def _dataset(root, **kw):
    init_default_scope('mmseg')
    from mmdatasetdm.registry import DATASETS
    return DATASETS.build(dict(type='mmdatasetdm.SyntheticSegDataset', data_root=root,
                               metainfo=REAL, pipeline=PIPELINE, **kw))


def test_labels_are_mapped_onto_the_real_classes_by_name(tmp_path):
    root = _generated(str(tmp_path / 'gen'))
    ds = _dataset(root)
    assert len(ds) == 3  # the rejected sample is not read
    assert ds.metainfo['classes'] == REAL['classes']
    sample = ds[0]['data_samples']
    labels = sample.gt_sem_seg.data.numpy()[0]
    # generator ids: cone=1, ball=2 -> real ids: cone=2, ball=1; 255 stays
    assert labels[0, 1] == 2 and labels[20, 0] == 1 and labels[20, 20] == 0 and labels[0, 0] == 255
    assert ds.get_data_info(1)['prompt'] == 'a photo of a cone and a ball 1'


def test_filters_by_score_and_count(tmp_path):
    root = _generated(str(tmp_path / 'gen'))
    assert len(_dataset(root, min_score=0.6)) == 2  # scores 0.5, 0.7, 0.9
    assert len(_dataset(root, max_samples=1)) == 1
    with pytest.raises(ValueError, match='no accepted sample passes'):
        _dataset(root, min_score=0.95)


def test_mixes_with_the_real_set_in_concat_dataset(tmp_path):
    root = _generated(str(tmp_path / 'gen'))
    real_root = make_toy_seg_dataset(str(tmp_path / 'real'), num=2, size=32)
    init_default_scope('mmseg')
    from mmseg.registry import DATASETS
    real = DATASETS.build(dict(type='BaseSegDataset', data_root=real_root, metainfo=REAL,
                               data_prefix=dict(img_path='img_dir', seg_map_path='ann_dir'),
                               img_suffix='.png', seg_map_suffix='.png', pipeline=PIPELINE))
    mixed = ConcatDataset([real, _dataset(root)])
    assert len(mixed) == 5
    assert mixed[4]['data_samples'].gt_sem_seg.data.shape == (1, 32, 32)


def test_errors_name_the_file_and_the_fix(tmp_path):
    root = _generated(str(tmp_path / 'gen'), classes=('background', 'cone', 'zebra'))
    with pytest.raises(ValueError, match=r"classes \['zebra'\] that the real dataset lacks.*"
                       'class_map'):
        _dataset(root)
    assert len(_dataset(root, drop_classes=['zebra'])) == 3
    assert len(_dataset(root, class_map={'zebra': 'tree'})) == 3

    root = _generated(str(tmp_path / 'gen2'))
    os.remove(osp.join(root, 'semantic', '00000001.png'))
    with pytest.raises(FileNotFoundError, match=r'manifest.jsonl:2 \(sample 1\) lists semantic '
                       r'file semantic/00000001.png, which is missing'):
        _dataset(root)

    root = _generated(str(tmp_path / 'gen3'))
    with open(osp.join(root, 'images', '00000002.png'), 'wb') as f:
        f.write(b'\x89PNG not really')
    with pytest.raises(ValueError, match=r'image file .*00000002.png is not a readable image'):
        _dataset(root, verify=True)

    with pytest.raises(FileNotFoundError, match='dataset.json is missing'):
        _dataset(str(tmp_path))


def _with_ids(root, ids, record=True):
    """A generated set whose masks hold ``ids`` (recorded in the manifest, as the annotator
    does, when ``record``)."""
    writer = ShardWriter(osp.join(root, 'shards', 'rank00000'),
                         classes=[f'c{k}' for k in range(max(ids) + 1)])
    labels = np.zeros((8, 8), np.uint8)
    for k, i in enumerate(ids):
        labels[k] = i
    scores = dict(class_fractions={int(i): 0.1 for i in np.unique(labels)}) if record else {}
    writer.write_sample(0, 'a photo of a thing', seed=0, image=np.zeros((8, 8, 3), np.uint8),
                        semantic=labels, scores=scores)
    merge_shards([osp.join(root, 'shards', 'rank00000')], root)
    return root


def test_mask_ids_outside_the_declared_classes_are_named(tmp_path):
    real = dict(classes=('background', 'cone', 'ball'), palette=REAL['palette'][:3])
    # dataset.json names 3 classes while the masks hold ids 3-5 (they would pass the
    # label map unmapped and become other real classes)
    root = _with_ids(str(tmp_path / 'a'), [0, 3, 4, 5])
    meta_path = osp.join(root, 'dataset.json')
    meta = json.load(open(meta_path))
    meta['classes'] = ['background', 'cone', 'ball']
    json.dump(meta, open(meta_path, 'w'))
    init_default_scope('mmseg')
    from mmdatasetdm.registry import DATASETS
    build = dict(type='mmdatasetdm.SyntheticSegDataset', metainfo=real, pipeline=PIPELINE)
    with pytest.raises(ValueError, match=r'semantic/00000000\.png: its manifest line records '
                       r'class id 3 \(and \[4, 5\]\), but .*dataset\.json declares 3 classes'):
        DATASETS.build(dict(build, data_root=root))
    # a mask with id 77 that the manifest does not record: found when verifying
    root = _with_ids(str(tmp_path / 'b'), [0, 1, 2], record=False)
    mask = osp.join(root, 'semantic', '00000000.png')
    labels = np.zeros((8, 8), np.uint8)
    labels[2, 2] = 77
    Image.fromarray(labels).save(mask)
    assert len(DATASETS.build(dict(build, data_root=root, class_map=dict(c1='cone', c2='ball'),
                                   drop_classes=['c0']))) == 1  # cheap load: not decoded
    with pytest.raises(ValueError, match=r'00000000\.png: the mask holds class id 77'):
        DATASETS.build(dict(build, data_root=root, class_map=dict(c1='cone', c2='ball'),
                            drop_classes=['c0'], verify=True))


def test_a_corrupt_mask_names_its_file_when_loaded(tmp_path):
    root = _generated(str(tmp_path / 'gen'))
    with open(osp.join(root, 'semantic', '00000001.png'), 'wb') as f:
        f.write(b'\x89PNG broken')
    ds = _dataset(root)  # verify=False: the file is read only when the sample is
    assert ds[0]['data_samples'].gt_sem_seg.data.shape == (1, 32, 32)
    with pytest.raises(SampleLoadError, match=r'sample 1 of .* cannot be loaded \(.*images/'
                       r'00000001\.png, .*semantic/00000001\.png\)'):
        ds[1]


def _with_confidence(root, num=2):
    """A set whose confidence maps fall off from left (1.0) to right (0.0), stored as
    round(255 p); the right-most columns of the cone half are uncertain."""
    writer = ShardWriter(osp.join(root, 'shards', 'rank00000'), classes=('background', 'cone'),
                         num_classes=2, confidence=True)
    for i in range(num):
        labels = np.zeros((8, 16), np.uint8)
        labels[:4] = 1
        confidence = np.tile(np.linspace(1.0, 0.0, 16), (8, 1))
        writer.write_sample(i, f'a photo of a cone {i}', seed=i, image=np.zeros((8, 16, 3),
                                                                                np.uint8),
                            semantic=labels, confidence=confidence)
    merge_shards([writer.dir], root)
    return root, confidence


def test_uncertain_pixels_are_ignored_at_any_threshold(tmp_path):
    """writer confidence=True writes an 8-bit map beside each mask; min_pixel_confidence
    ignores the pixels below it, in the loaded mask, before any augmentation."""
    from mmdatasetdm.fileio import read_confidence, read_manifest
    root, confidence = _with_confidence(str(tmp_path / 'gen'))
    line = read_manifest(root)[0]
    assert line['files']['confidence'] == 'confidence/00000000.png'
    stored = read_confidence(osp.join(root, line['files']['confidence']))
    np.testing.assert_allclose(stored, confidence, atol=1 / 510 + 1e-7)
    meta = dict(classes=('background', 'cone'), palette=[[0, 0, 0], [255, 0, 0]])
    init_default_scope('mmseg')
    from mmdatasetdm.registry import DATASETS

    def build(**kw):
        kw.setdefault('pipeline', PIPELINE)
        return DATASETS.build(dict(type='mmdatasetdm.SyntheticSegDataset', data_root=root,
                                   metainfo=meta, **kw))

    full = build()[0]['data_samples'].gt_sem_seg.data.numpy()[0]
    assert (full == 255).sum() == 0
    for threshold in (0.5, 0.8):
        ds = build(min_pixel_confidence=threshold)
        assert [type(t).__name__ for t in ds.pipeline.transforms][:3] == [
            'LoadImageFromFile', 'LoadAnnotations', 'IgnoreUncertainPixels']
        labels = ds[1]['data_samples'].gt_sem_seg.data.numpy()[0]
        keep = np.rint(confidence * 255) >= np.rint(threshold * 255)
        np.testing.assert_array_equal(labels, np.where(keep, full, 255))
        assert 0 < (labels == 255).sum() < labels.size
    # a set written without confidence maps is refused with the fix
    plain_root = _generated(str(tmp_path / 'plain'))
    with pytest.raises(ValueError, match=r'no confidence map.*writer\.confidence=True'):
        _dataset(plain_root, min_pixel_confidence=0.5)
    with pytest.raises(ValueError, match='needs a LoadAnnotations'):
        build(min_pixel_confidence=0.5, pipeline=[dict(type='LoadImageFromFile')])


def test_the_writer_needs_the_confidence_it_writes(tmp_path):
    writer = ShardWriter(str(tmp_path / 'shard'), classes=('background', 'cone'),
                         num_classes=2, confidence=True)
    with pytest.raises(ValueError, match='sample 0: the writer writes confidence maps'):
        writer.write_sample(0, 'a cone', seed=0, image=np.zeros((4, 4, 3), np.uint8),
                            semantic=np.zeros((4, 4), np.uint8))
    with pytest.raises(ValueError, match=r'confidence must lie in \[0, 1\]'):
        writer.write_sample(0, 'a cone', seed=0, image=np.zeros((4, 4, 3), np.uint8),
                            semantic=np.zeros((4, 4), np.uint8),
                            confidence=np.full((4, 4), 1.5))
    assert writer.completed() == []  # nothing half-written
