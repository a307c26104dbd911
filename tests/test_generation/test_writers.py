"""Writers of the generated dataset: formats, atomicity, sharding, resume, merge."""
import json
import os
import os.path as osp
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

from mmdatasetdm.fileio import (atomic_path, completed_indices, is_temp_name, read_depth,
                                read_manifest, read_semantic, shard_dir, write_depth, write_image,
                                write_semantic)
from mmdatasetdm.generation.writers import KeypointMeta, ShardWriter, decode_mask, merge_shards
from mmdatasetdm.generation.writers import shard as shard_module

CATEGORIES = [dict(id=1, name='person'), dict(id=18, name='dog')]
RUN_INFO = dict(
    timestep=1, scheduler='DDIMScheduler', steps=20, guidance=7.5, decoder='sha256:0123abcd')
REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def make_sample(index, size=(24, 32)):
    """A deterministic fake sample: image, labels, depth, two instances, one pose."""
    rng = np.random.default_rng(index)
    h, w = size
    semantic = rng.integers(0, 3, size)
    semantic[0] = 255
    masks = np.zeros((2, h, w), dtype=bool)
    for k in range(2):
        y, x = rng.integers(0, h // 2), rng.integers(0, w // 2)
        masks[k, y:y + 5 + k, x:x + 7] = True
    keypoints = np.stack([rng.uniform(0, w, 17),
                          rng.uniform(0, h, 17),
                          rng.integers(0, 3, 17)],
                         axis=1)
    keypoints[0, 2] = 2
    return dict(
        prompt=f'a photo of a dog number {index}',
        seed=1000 + index,
        image=rng.integers(0, 256, (h, w, 3), dtype=np.uint8),
        semantic=semantic,
        depth=rng.uniform(0.3, 10.0, size),
        instances=dict(masks=masks, labels=np.array([index % 2, 1]), scores=rng.uniform(0.5, 1, 2)),
        keypoints=dict(keypoints=keypoints[None], scores=[0.75]))


def open_writer(folder, **kwargs):
    return ShardWriter(
        str(folder),
        categories=CATEGORIES,
        keypoint_meta=KeypointMeta(),
        run_info=RUN_INFO,
        palette='voc',
        num_classes=3,
        config=dict(config_hash='abc'),
        **kwargs)


def write(writer, index):
    if index == 5:  # one rejected sample, recorded with its reason
        return writer.write_sample(
            index,
            f'a photo of a dog number {index}',
            seed=1005,
            accepted=False,
            reason='prompted_class_missing')
    return writer.write_sample(index, **make_sample(index))


def tree(folder):
    """relative path -> bytes of every file under ``folder``."""
    out = {}
    for root, _, files in os.walk(folder):
        for name in files:
            path = osp.join(root, name)
            with open(path, 'rb') as f:
                out[osp.relpath(path, folder)] = f.read()
    return out


# ---------------------------------------------------------------- single files
def test_semantic_png_ids_exact_with_and_without_palette(tmp_path):
    labels = np.random.default_rng(0).integers(0, 21, (17, 23))
    labels[3:6, 4:9] = 255
    write_semantic(str(tmp_path / 'grey.png'), labels)
    write_semantic(str(tmp_path / 'voc.png'), labels, palette='voc')
    for name, mode in (('grey.png', 'L'), ('voc.png', 'P')):
        np.testing.assert_array_equal(read_semantic(str(tmp_path / name)), labels)
        with Image.open(tmp_path / name) as image:
            assert image.mode == mode
            np.testing.assert_array_equal(np.array(image), labels)  # raw pixel values are the ids
    with Image.open(tmp_path / 'voc.png') as image:
        assert image.getpalette()[15 * 3:15 * 3 + 3] == [192, 128, 128]  # VOC 'person'
    with pytest.raises(
            ValueError, match=r'bad\.png: class ids must lie in .* got values in \[0, 256\]'):
        write_semantic(str(tmp_path / 'bad.png'), np.array([[0, 256]]))
    with pytest.raises(ValueError, match=r'num_classes=3'):
        write_semantic(str(tmp_path / 'bad.png'), np.array([[0, 4, 255]]), num_classes=3)
    with pytest.raises(ValueError, match='integer class ids'):
        write_semantic(str(tmp_path / 'bad.png'), np.zeros((2, 2), np.float32))
    assert not (tmp_path / 'bad.png').exists()


def test_depth_png_round_trip_to_a_millimetre(tmp_path):
    depth = np.random.default_rng(1).uniform(0.0, 20.0, (31, 17))
    depth[0, 0] = 0.0  # unknown depth
    depth[0, 1] = 65.535  # the largest value that fits at scale 1000
    path = str(tmp_path / 'd.png')
    write_depth(path, depth)
    with Image.open(path) as image:
        assert image.mode in ('I;16', 'I') and np.array(image).max() == 65535
    back = read_depth(path)
    assert back.dtype == np.float32
    assert np.abs(back - depth).max() <= 0.0005 + 1e-6
    assert back[0, 0] == 0.0
    # another scale: centimetres
    write_depth(path, depth / 10, scale=100.0)
    assert np.abs(read_depth(path, scale=100.0) - depth / 10).max() <= 0.005 + 1e-6
    # out of the uint16 range: an error naming the file, not a clip
    with pytest.raises(ValueError, match=r'far\.png: .*uint16 range'):
        write_depth(str(tmp_path / 'far.png'), np.full((2, 2), 70.0))
    with pytest.raises(ValueError, match=r'neg\.png: .*uint16 range'):
        write_depth(str(tmp_path / 'neg.png'), np.full((2, 2), -0.01))
    with pytest.raises(ValueError, match='NaN'):
        write_depth(str(tmp_path / 'nan.png'), np.full((2, 2), np.nan))
    assert sorted(os.listdir(tmp_path)) == ['d.png']


def test_images_png_exact_and_jpeg(tmp_path):
    image = np.random.default_rng(2).integers(0, 256, (9, 13, 3), dtype=np.uint8)
    write_image(str(tmp_path / 'a.png'), image)
    with Image.open(tmp_path / 'a.png') as loaded:
        np.testing.assert_array_equal(np.array(loaded), image)
    write_image(str(tmp_path / 'a.jpg'), Image.fromarray(image), ext='jpg')
    with Image.open(tmp_path / 'a.jpg') as loaded:
        assert loaded.format == 'JPEG' and loaded.size == (13, 9)
    with pytest.raises(ValueError, match=r'c\.png: expected a uint8 RGB image'):
        write_image(str(tmp_path / 'c.png'), image.astype(np.float32))


def test_atomic_write_leaves_nothing_on_error(tmp_path):
    target = tmp_path / 'sub' / 'file.bin'
    with pytest.raises(RuntimeError, match='crash'):
        with atomic_path(str(target)) as temp:
            with open(temp, 'wb') as f:
                f.write(b'half of the data')
            raise RuntimeError('crash')
    assert not target.exists()
    assert os.listdir(tmp_path / 'sub') == []
    # an existing file is kept intact when its rewrite fails
    target.write_bytes(b'old')
    with pytest.raises(RuntimeError):
        with atomic_path(str(target)) as temp:
            open(temp, 'wb').close()
            raise RuntimeError('crash')
    assert target.read_bytes() == b'old'


# ---------------------------------------------------------------- COCO
def test_instances_rle_boxes_categories_and_pycocotools(tmp_path):
    from pycocotools.coco import COCO
    writer = open_writer(tmp_path / 'shard')
    samples = {i: make_sample(i) for i in range(3)}
    for i in samples:
        write(writer, i)
    merge_shards([writer.dir], str(tmp_path / 'out'))
    coco = COCO(str(tmp_path / 'out' / 'instances.json'))
    assert sorted(coco.getCatIds()) == [1, 18]
    assert sorted(coco.getImgIds()) == [1, 2, 3]
    for i, sample in samples.items():
        img = coco.loadImgs(i + 1)[0]
        assert (img['file_name'], img['width'], img['height']) == (f'{i:08d}.png', 32, 24)
        anns = coco.loadAnns(coco.getAnnIds(imgIds=i + 1))
        assert [a['id'] for a in anns] == [(i + 1) * 1000, (i + 1) * 1000 + 1]
        for ann, mask, label, score in zip(anns, sample['instances']['masks'],
                                           sample['instances']['labels'],
                                           sample['instances']['scores']):
            assert isinstance(ann['segmentation']['counts'], str)
            np.testing.assert_array_equal(coco.annToMask(ann), mask)
            np.testing.assert_array_equal(decode_mask(ann['segmentation']), mask)
            ys, xs = np.nonzero(mask)
            assert ann['bbox'] == [
                xs.min(), ys.min(),
                xs.max() - xs.min() + 1,
                ys.max() - ys.min() + 1
            ]
            assert ann['area'] == mask.sum()
            assert ann['category_id'] == CATEGORIES[label]['id']
            assert ann['iscrowd'] == 0 and ann['score'] == pytest.approx(score, abs=1e-6)


def test_keypoints_fixed_length_and_pycocotools(tmp_path):
    from pycocotools.coco import COCO
    writer = open_writer(tmp_path / 'shard')
    for i in range(3):
        write(writer, i)
    merge_shards([writer.dir], str(tmp_path / 'out'))
    coco = COCO(str(tmp_path / 'out' / 'keypoints.json'))
    category = coco.loadCats(1)[0]
    assert len(category['keypoints']) == 17 and category['keypoints'][0] == 'nose'
    assert [16, 14] in category['skeleton']  # 1-based, as COCO
    for i in range(3):
        (ann, ) = coco.loadAnns(coco.getAnnIds(imgIds=i + 1))
        kp = make_sample(i)['keypoints']['keypoints'][0]
        assert len(ann['keypoints']) == 17 * 3
        flat = np.array(ann['keypoints']).reshape(17, 3)
        assert set(flat[:, 2]) <= {0, 1, 2}
        np.testing.assert_array_equal(flat[:, 2], kp[:, 2])
        visible = kp[:, 2] > 0
        np.testing.assert_allclose(flat[visible, :2], kp[visible, :2], atol=1e-3)
        assert np.all(flat[~visible, :2] == 0)
        assert ann['num_keypoints'] == visible.sum()
        x, y, w, h = ann['bbox']
        assert x == pytest.approx(kp[visible, 0].min(), abs=1e-3)
        assert x + w == pytest.approx(kp[visible, 0].max(), abs=2e-3)
        assert ann['area'] == pytest.approx(w * h, abs=1e-2) and ann['score'] == 0.75


def test_keypoint_meta_from_mmpose_metainfo_and_length_errors(tmp_path):
    dataset_info = dict(
        keypoint_info={
            0: dict(name='head', id=0, color=[0, 0, 0], type='upper', swap=''),
            1: dict(name='left_hand', id=1, color=[0, 0, 0], type='upper', swap='right_hand'),
            2: dict(name='right_hand', id=2, color=[0, 0, 0], type='upper', swap='left_hand')
        },
        skeleton_info={0: dict(link=('head', 'left_hand'), id=0, color=[0, 0, 0]),
                       1: dict(link=('head', 'right_hand'), id=1, color=[0, 0, 0])})
    meta = KeypointMeta.from_metainfo(dataset_info, category=dict(id=3, name='robot'))
    assert meta.names == ('head', 'left_hand', 'right_hand') and meta.skeleton == ((0, 1), (0, 2))
    parsed = KeypointMeta.from_metainfo(
        dict(
            keypoint_id2name={
                0: 'head',
                1: 'left_hand',
                2: 'right_hand'
            },
            skeleton_links=[(0, 1), (0, 2)]),
        category=dict(id=3, name='robot'))
    assert parsed == meta
    assert meta.coco_category()['skeleton'] == [[1, 2], [1, 3]]
    writer = ShardWriter(str(tmp_path / 's'), keypoint_meta=meta)
    image = np.zeros((10, 10, 3), np.uint8)
    good = np.array([[[1, 1, 2], [2, 2, 1], [0, 0, 0]]], dtype=float)
    writer.write_sample(
        0, 'a robot', seed=0, image=image, keypoints=dict(keypoints=good, scores=[1.0]))
    with pytest.raises(ValueError, match=r'sample 1 keypoints: .*\(N, 3, 3\).*got \(1, 17, 3\)'):
        writer.write_sample(1, 'a robot', seed=1, image=image,
                            keypoints=dict(keypoints=np.ones((1, 17, 3)), scores=[1.0]))
    with pytest.raises(ValueError, match='visibility values must be 0, 1 or 2'):
        writer.write_sample(1, 'a robot', seed=1, image=image,
                            keypoints=dict(keypoints=good * [1, 1, 1.5], scores=[1.0]))
    assert completed_indices(writer.dir) == [0]
    assert not osp.exists(osp.join(writer.dir, 'images',
                                   '00000001.png'))  # bad annotations fail first


def test_instance_errors_name_the_sample(tmp_path):
    writer = open_writer(tmp_path / 's')
    sample = make_sample(0)
    bad = dict(sample, instances=dict(sample['instances'], labels=np.array([0, 2])))
    with pytest.raises(ValueError, match=r'sample 0 instances: label 2 .* 2 categories'):
        writer.write_sample(0, **bad)
    empty = dict(sample, instances=dict(sample['instances'], masks=np.zeros((2, 24, 32), bool)))
    with pytest.raises(ValueError, match='sample 0 instances: mask 0 is empty'):
        writer.write_sample(0, **empty)
    wrong = dict(sample, instances=dict(sample['instances'], masks=np.ones((2, 8, 8), bool)))
    with pytest.raises(ValueError, match=r'masks are \(8, 8\) but the image is \(24, 32\)'):
        writer.write_sample(0, **wrong)
    assert completed_indices(writer.dir) == []


# ---------------------------------------------------------------- manifest, shards, resume
def test_manifest_lines(tmp_path):
    writer = open_writer(tmp_path / 's')
    for i in (0, 5):
        write(writer, i)
    merge_shards([writer.dir], str(tmp_path / 'out'))
    first, rejected = read_manifest(str(tmp_path / 'out'))
    assert first['index'] == 0 and first['seed'] == 1000 and first[
        'prompt'] == 'a photo of a dog number 0'
    assert {k: first[k] for k in RUN_INFO} == RUN_INFO
    assert first['depth_scale'] == 1000.0
    assert first['files'] == dict(image='images/00000000.png', semantic='semantic/00000000.png',
                                  depth='depth/00000000.png')
    assert first['scores']['instances'] == pytest.approx(
        make_sample(0)['instances']['scores'], abs=1e-6)
    assert first['scores']['keypoints'] == [0.75]
    assert first['accepted'] is True and first['reason'] is None
    assert rejected['accepted'] is False and rejected['reason'] == 'prompted_class_missing'
    assert rejected['files'] == {}  # rejected files are not kept by default
    depth = read_depth(str(tmp_path / 'out' / first['files']['depth']), first['depth_scale'])
    assert np.abs(depth - make_sample(0)['depth']).max() <= 0.0005 + 1e-6
    # a prompt record gives prompt, seed and classes
    from mmdatasetdm.generation import PromptSampler, TemplatePrompts
    record = PromptSampler(TemplatePrompts(['dog']), seed=9)[7]
    line = writer.write_sample(7, record, image=np.zeros((4, 4, 3), np.uint8), extra=dict(batch=3))
    assert (line['prompt'], line['seed'], line['classes'],
            line['batch']) == (record.text, record.seed, ['dog'], 3)


def test_merged_shards_equal_single_writer_byte_for_byte(tmp_path):
    indices = list(range(9))
    single = open_writer(tmp_path / 'single')
    for i in indices:
        write(single, i)
    merge_shards([single.dir], str(tmp_path / 'out_single'))
    # three ranks, uneven and out-of-order assignment
    ranks = {0: [8, 0, 3], 1: [1, 4, 6, 7], 2: [5, 2]}
    dirs = []
    for rank, mine in ranks.items():
        writer = open_writer(shard_dir(str(tmp_path / 'run'), rank))
        for i in mine:
            write(writer, i)
        dirs.append(writer.dir)
    summary = merge_shards(dirs, str(tmp_path / 'out_sharded'))
    assert summary == dict(num_samples=9, num_accepted=8,
                           rejected={'prompted_class_missing': 1}, num_instances=16,
                           num_keypoints=8)
    a, b = tree(tmp_path / 'out_single'), tree(tmp_path / 'out_sharded')
    assert sorted(a) == sorted(b)
    assert a == b
    assert 'images/00000005.png' not in a and 'images/00000008.png' in a
    instances = json.loads(a['instances.json'])
    ids = [ann['id'] for ann in instances['annotations']]
    assert len(ids) == len(set(ids)) == 16
    assert [m['index'] for m in read_manifest(str(tmp_path / 'out_sharded'))] == indices
    # merging a single shard in place gives the same dataset files next to its parts
    merge_shards([single.dir], single.dir)
    in_place = tree(single.dir)
    assert {k: in_place[k] for k in a} == a


def test_merge_checks_shards(tmp_path):
    a, b = open_writer(tmp_path / 'a'), open_writer(tmp_path / 'b')
    write(a, 0)
    write(b, 0)  # the same sample regenerated identically: accepted once
    assert merge_shards([a.dir, b.dir], str(tmp_path / 'out'))['num_samples'] == 1
    b.write_sample(0, **dict(make_sample(0), seed=7))
    with pytest.raises(ValueError, match='sample 0 is in two shards with different content'):
        merge_shards([a.dir, b.dir], str(tmp_path / 'out'))
    other = ShardWriter(str(tmp_path / 'c'), categories=CATEGORIES[:1])
    with pytest.raises(ValueError,
                       match=r'shards of different runs; what differs:\n  categories: '):
        merge_shards([a.dir, other.dir], str(tmp_path / 'out'))
    with pytest.raises(FileNotFoundError, match='shard.json is missing'):
        merge_shards([str(tmp_path)], str(tmp_path / 'out'))


def test_reopening_with_another_config_is_refused(tmp_path):
    open_writer(tmp_path / 's')
    open_writer(tmp_path / 's')  # same run: fine (resume)
    with pytest.raises(ValueError, match=r"s/shard.json holds a shard of another run; what "
                       r"differs \(there -> here\):\n  config.config_hash: 'abc' -> 'xyz'\n"):
        ShardWriter(
            str(tmp_path / 's'),
            categories=CATEGORIES,
            keypoint_meta=KeypointMeta(),
            run_info=RUN_INFO,
            palette='voc',
            num_classes=3,
            config=dict(config_hash='xyz'))


def test_crash_mid_sample_leaves_it_incomplete_and_resume_completes(tmp_path, monkeypatch):
    writer = open_writer(tmp_path / 's')
    write(writer, 0)

    def crash(*args, **kwargs):
        raise RuntimeError('killed while writing depth')

    monkeypatch.setattr(shard_module, 'write_depth', crash)
    with pytest.raises(RuntimeError, match='killed'):
        write(writer, 1)
    monkeypatch.undo()
    # the image was written (complete, atomically), but the sample is not complete
    assert osp.isfile(osp.join(writer.dir, 'images', '00000001.png'))
    assert not osp.exists(osp.join(writer.dir, 'depth', '00000001.png'))
    assert completed_indices(writer.dir) == [0]
    # a temp file left by a SIGKILL is removed when the shard is reopened
    stale = osp.join(writer.dir, 'depth', '.00000001.png.tmp.4242.deadbeef0000')
    os.makedirs(osp.dirname(stale), exist_ok=True)
    open(stale, 'wb').close()
    resumed = open_writer(tmp_path / 's')
    assert not osp.exists(stale)
    for i in range(3):
        if not resumed.is_complete(i):
            write(resumed, i)
    assert resumed.completed() == [0, 1, 2]
    fresh = open_writer(tmp_path / 'fresh')
    for i in range(3):
        write(fresh, i)
    merge_shards([resumed.dir], str(tmp_path / 'out_resumed'))
    merge_shards([fresh.dir], str(tmp_path / 'out_fresh'))
    assert tree(tmp_path / 'out_resumed') == tree(tmp_path / 'out_fresh')


_CHILD = r'''
import sys
import numpy as np
sys.path.insert(0, sys.argv[2])
from mmdatasetdm.generation.writers import ShardWriter
writer = ShardWriter(sys.argv[1], run_info=dict(steps=1))
for i in range(100000):
    image = np.random.default_rng(i).integers(0, 256, (256, 256, 3), dtype=np.uint8)
    writer.write_sample(i, 'a photo of a cat', seed=i, image=image,
                        semantic=np.full((256, 256), i % 200), depth=np.full((256, 256), 1.5))
'''


def test_sigkill_halfway_then_resume_matches_uninterrupted(tmp_path):
    folder = str(tmp_path / 'killed')
    child = subprocess.Popen([sys.executable, '-c', _CHILD, folder, REPO])
    deadline = time.time() + 60
    while len(completed_indices(folder)) < 4 and time.time() < deadline and child.poll() is None:
        time.sleep(0.02)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    done = completed_indices(folder)
    assert len(done) >= 4, 'the child wrote too little before the deadline'
    # every visible (non-temp) file is complete: images decode, parts parse
    for root, _, files in os.walk(folder):
        for name in files:
            path = osp.join(root, name)
            if is_temp_name(name):
                continue
            if name.endswith('.png'):
                with Image.open(path) as image:
                    image.load()
            else:
                with open(path) as f:
                    json.load(f)
    total = max(done) + 2
    resumed = ShardWriter(folder, run_info=dict(steps=1))
    assert not any(is_temp_name(n) for _, _, files in os.walk(folder) for n in files)
    reference = ShardWriter(str(tmp_path / 'reference'), run_info=dict(steps=1))
    for writer in (resumed, reference):
        for i in range(total):
            if not writer.is_complete(i):
                writer.write_sample(
                    i,
                    'a photo of a cat',
                    seed=i,
                    image=np.random.default_rng(i).integers(0, 256, (256, 256, 3), dtype=np.uint8),
                    semantic=np.full((256, 256), i % 200),
                    depth=np.full((256, 256), 1.5))
    merge_shards([folder], str(tmp_path / 'a'))
    merge_shards([reference.dir], str(tmp_path / 'b'))
    assert tree(tmp_path / 'a') == tree(tmp_path / 'b')
    assert len(read_manifest(str(tmp_path / 'a'))) == total


# ---------------------------------------------------------------- host toolboxes
def _mmcv_ops_or_skip():
    """mmdet/mmpose need mmcv's compiled ops; the environment script always builds them."""
    import mmcv.ops  # noqa: F401


def _dataset(tmp_path, num=4):
    writer = open_writer(tmp_path / 'shard')
    for i in range(num):
        write(writer, i)
    out = str(tmp_path / 'out')
    merge_shards([writer.dir], out)
    return out


def test_mmdet_coco_dataset_loads_and_coco_metric_scores_ap_100(tmp_path):
    _mmcv_ops_or_skip()
    import torch
    from mmdet.datasets import CocoDataset
    from mmdet.evaluation import CocoMetric
    from pycocotools.coco import COCO

    out = _dataset(tmp_path)
    classes = tuple(c['name'] for c in CATEGORIES)
    dataset = CocoDataset(data_root=out, ann_file='instances.json', data_prefix=dict(img='images/'),
                          metainfo=dict(classes=classes), pipeline=[])
    assert len(dataset) == 4
    info = dataset.get_data_info(0)
    assert info['img_path'] == osp.join(out, 'images', '00000000.png')
    sample = make_sample(0)
    assert [inst['bbox_label'] for inst in info['instances']] == list(sample['instances']['labels'])
    ys, xs = np.nonzero(sample['instances']['masks'][0])
    assert info['instances'][0]['bbox'] == [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]

    coco = COCO(osp.join(out, 'instances.json'))
    metric = CocoMetric(ann_file=osp.join(out, 'instances.json'), metric=['bbox', 'segm'])
    metric.dataset_meta = dict(classes=classes)
    cat2label = {c['id']: k for k, c in enumerate(CATEGORIES)}
    predictions = []
    for img_id in coco.getImgIds():
        anns = coco.loadAnns(coco.getAnnIds(imgIds=img_id))
        img = coco.loadImgs(img_id)[0]
        boxes = torch.tensor([[x, y, x + w, y + h] for x, y, w, h in (a['bbox'] for a in anns)])
        predictions.append(
            dict(
                img_id=img_id,
                ori_shape=(img['height'], img['width']),
                pred_instances=dict(
                    bboxes=boxes,
                    scores=torch.tensor([a['score'] for a in anns]),
                    labels=torch.tensor([cat2label[a['category_id']] for a in anns]),
                    masks=torch.from_numpy(
                        np.stack([coco.annToMask(a) for a in anns]).astype(bool)))))
    metric.process({}, predictions)
    results = metric.evaluate(size=len(predictions))
    assert results['coco/bbox_mAP'] == pytest.approx(1.0)
    assert results['coco/segm_mAP'] == pytest.approx(1.0)


def test_mmpose_coco_dataset_loads_keypoints(tmp_path):
    _mmcv_ops_or_skip()
    from mmpose.datasets import CocoDataset

    out = _dataset(tmp_path)
    dataset = CocoDataset(data_root=out, ann_file='keypoints.json', data_prefix=dict(img='images/'),
                          pipeline=[], test_mode=False)
    assert len(dataset) == 4
    info = dataset.get_data_info(0)
    kp = make_sample(0)['keypoints']['keypoints'][0]
    assert info['keypoints'].shape == (1, 17, 2)
    visible = kp[:, 2] > 0
    np.testing.assert_allclose(info['keypoints'][0][visible], kp[visible, :2], atol=1e-3)
    np.testing.assert_array_equal(info['keypoints_visible'][0], visible.astype(np.float32))
    assert info['img_path'] == osp.join(out, 'images', '00000000.png')
