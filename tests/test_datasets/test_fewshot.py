"""Few-shot subsets: seeded, class-balanced, N respected, written files load."""
import json
import os
import os.path as osp
import random
import re
from collections import Counter

import numpy as np
import pytest
from PIL import Image

from mmdatasetdm.datasets.fewshot import (load_coco_json, make_coco_subset, make_nyu_split,
                                          make_seg_split, nyu_scene_type, read_split_file,
                                          select_balanced)
from tests.tool_module import load_tool

# class -> number of images containing it (class 0 is everywhere)
SEG_FREQ = {1: 20, 2: 10, 3: 5, 4: 2, 5: 1}
COCO_FREQ = {1: 30, 2: 12, 3: 6, 7: 3, 9: 1}


def _image_classes(num, freq, seed=0):
    rng = np.random.default_rng(seed)
    classes = {i: set() for i in range(num)}
    for c, n in freq.items():
        for i in rng.choice(num, n, replace=False):
            classes[int(i)].add(c)
    return classes


@pytest.fixture(scope='module')
def seg_data(tmp_path_factory):
    """30 label maps (+ images) in mmseg's img_dir/ann_dir layout and a split file."""
    root = str(tmp_path_factory.mktemp('seg'))
    os.makedirs(osp.join(root, 'ann_dir'))
    os.makedirs(osp.join(root, 'img_dir'))
    classes = _image_classes(30, SEG_FREQ)
    ids = []
    for i, present in classes.items():
        label = np.zeros((8, 8), np.uint8)
        label[0, 0] = 255
        for k, c in enumerate(sorted(present)):
            label[1 + k, :] = c
        name = f'img_{i:03d}'
        Image.fromarray(label).save(osp.join(root, 'ann_dir', name + '.png'))
        Image.fromarray(np.zeros((8, 8, 3),
                                 np.uint8)).save(osp.join(root, 'img_dir', name + '.jpg'))
        ids.append(name)
    with open(osp.join(root, 'train.txt'), 'w') as f:
        f.write('\n'.join(ids) + '\n')
    return root, {f'img_{i:03d}': c | {0} for i, c in classes.items()}


def _coco(num=40, keypoints=False):
    classes = _image_classes(num, {1: 30} if keypoints else COCO_FREQ, seed=1)
    images = [dict(id=100 + i, file_name=f'{i:06d}.jpg', width=32, height=24)
              for i in range(num)]
    anns = []
    for i, present in classes.items():
        for c in sorted(present):
            for _ in range(1 + i % 2):
                ann = dict(id=len(anns) + 1, image_id=100 + i, category_id=c,
                           bbox=[1.0, 2.0, 8.0, 6.0], area=48.0, iscrowd=0,
                           segmentation=[[1.0, 2.0, 9.0, 2.0, 9.0, 8.0, 1.0, 8.0]])
                if keypoints:
                    ann.update(keypoints=[3, 4, 2] * 17, num_keypoints=17)
                anns.append(ann)
    if keypoints:
        cats = [dict(id=1, name='person', supercategory='person',
                     keypoints=[f'k{j}' for j in range(17)], skeleton=[[1, 2]])]
    else:
        cats = [dict(id=c, name=f'cat{c}', supercategory='thing') for c in (1, 2, 3, 5, 7, 9)]
    # one crowd annotation: copied with its image but never counts a class
    anns.append(dict(id=len(anns) + 1, image_id=100, category_id=1, bbox=[0, 0, 4, 4], area=16,
                     iscrowd=1, segmentation=dict(counts=[0, 16, 752], size=[24, 32])))
    return dict(info=dict(description='toy'), licenses=[], images=images, annotations=anns,
                categories=cats)


@pytest.fixture()
def coco_file(tmp_path):
    path = str(tmp_path / 'instances.json')
    with open(path, 'w') as f:
        json.dump(_coco(), f)
    return path


# ------------------------------------------------------------- algorithm
def test_selection_is_seeded_balanced_and_sized():
    classes = _image_classes(50, {1: 40, 2: 15, 3: 6, 4: 3, 5: 1})
    a = select_balanced(classes, 10, seed=0, min_per_class=2)
    assert a.ids == select_balanced(classes, 10, seed=0, min_per_class=2).ids
    assert len(a.ids) == len(set(a.ids)) == 10
    assert a.ids == sorted(a.ids)  # dataset order
    others = {tuple(select_balanced(classes, 10, seed=s, min_per_class=2).ids) for s in range(1, 6)}
    assert len(others | {tuple(a.ids)}) > 1  # seeds differ
    counts = Counter(c for i in a.ids for c in classes[i])
    for c, avail in a.available.items():
        assert counts[c] == a.chosen[c] >= min(2, avail)
    assert a.chosen[5] == 1 and a.chosen[4] >= 2
    # independent of the input's order: the ids are what they are
    shuffled = list(classes.items())
    random.Random(3).shuffle(shuffled)
    assert sorted(select_balanced(dict(shuffled), 10, seed=0, min_per_class=2).ids) == a.ids


def test_selection_errors():
    classes = _image_classes(10, {1: 5, 2: 5, 3: 5})
    with pytest.raises(ValueError, match=r'cannot choose 11 images from my.json: it has only 10'):
        select_balanced(classes, 11, source='my.json')
    with pytest.raises(ValueError, match='positive'):
        select_balanced(classes, 0)
    disjoint = {i: {i} for i in range(6)}  # six classes, one per image
    with pytest.raises(ValueError, match=r'3 images of .* classes \[.*\] are still short'):
        select_balanced(disjoint, 3)


# ------------------------------------------------------------------ mmseg
def test_seg_split_file_is_balanced_and_loads_in_mmseg(seg_data, tmp_path):
    root, truth = seg_data
    out = str(tmp_path / 'splits' / 'train_6_seed0.txt')
    subset = make_seg_split(osp.join(root, 'ann_dir'), out, num=6, seed=0,
                            split_file=osp.join(root, 'train.txt'))
    ids = read_split_file(out)
    assert ids == subset.ids and len(ids) == 6
    assert set().union(*(truth[i] for i in ids)) == {0, 1, 2, 3, 4, 5}  # 255 is no class
    again = make_seg_split(osp.join(root, 'ann_dir'), str(tmp_path / 'again.txt'), num=6, seed=0)
    assert again.ids == ids  # split file or folder listing: same candidates, same choice
    other = make_seg_split(osp.join(root, 'ann_dir'), str(tmp_path / 'seed1.txt'), num=6, seed=1)
    assert other.ids != ids
    from mmseg.datasets import BaseSegDataset
    dataset = BaseSegDataset(data_root=root, ann_file=out, img_suffix='.jpg',
                             data_prefix=dict(img_path='img_dir', seg_map_path='ann_dir'),
                             metainfo=dict(classes=[str(c) for c in range(6)]), pipeline=[])
    assert len(dataset) == 6
    assert osp.basename(dataset[0]['seg_map_path']) == ids[0] + '.png'


def test_seg_errors_name_the_file(seg_data, tmp_path):
    root, _ = seg_data
    ann_dir = osp.join(root, 'ann_dir')
    with pytest.raises(ValueError, match='train.txt'):
        make_seg_split(ann_dir, str(tmp_path / 'x.txt'), num=31,
                       split_file=osp.join(root, 'train.txt'))
    bad_split = tmp_path / 'bad.txt'
    bad_split.write_text('img_000\nnot_there\n')
    with pytest.raises(FileNotFoundError, match='not_there.png'):
        make_seg_split(ann_dir, str(tmp_path / 'x.txt'), num=1, split_file=str(bad_split))
    rgb = tmp_path / 'rgb'
    rgb.mkdir()
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(rgb / 'a.png')
    with pytest.raises(ValueError, match=r'rgb/a.png has shape \(4, 4, 3\)'):
        make_seg_split(str(rgb), str(tmp_path / 'x.txt'), num=1)
    assert not osp.exists(tmp_path / 'x.txt')


# ------------------------------------------------------------------- COCO
def test_coco_subset_loads_and_keeps_the_original_annotations(coco_file, tmp_path):
    from pycocotools.coco import COCO
    original = load_coco_json(coco_file)
    out = str(tmp_path / 'instances_8.json')
    subset = make_coco_subset(coco_file, out, num=8, seed=0)
    api = COCO(out)
    assert sorted(api.getImgIds()) == sorted(subset.ids) and len(subset.ids) == 8
    written = json.load(open(out))
    assert written['categories'] == original['categories']
    assert written['info'] == original['info'] and written['licenses'] == []
    assert written['images'] == [im for im in original['images'] if im['id'] in subset.ids]
    assert written['annotations'] == [a for a in original['annotations']
                                      if a['image_id'] in subset.ids]
    present = {a['category_id'] for a in written['annotations'] if not a['iscrowd']}
    assert present == set(COCO_FREQ)  # every annotated category (5 has no images)
    assert all(api.getAnnIds(imgIds=[i]) for i in subset.ids)  # no empty images
    assert make_coco_subset(coco_file, str(tmp_path / 'b.json'), 8, seed=0).ids == subset.ids
    assert make_coco_subset(coco_file, str(tmp_path / 'c.json'), 8, seed=1).ids != subset.ids


def test_coco_keypoints_subset_loads(tmp_path):
    from pycocotools.coco import COCO
    path = str(tmp_path / 'person_keypoints.json')
    with open(path, 'w') as f:
        json.dump(_coco(keypoints=True), f)
    make_coco_subset(path, str(tmp_path / 'kp_5.json'), num=5, seed=2)
    api = COCO(str(tmp_path / 'kp_5.json'))
    assert len(api.getImgIds()) == 5 and api.loadCats(1)[0]['keypoints'][0] == 'k0'
    assert all(a['num_keypoints'] == 17 for a in api.loadAnns(api.getAnnIds()) if not a['iscrowd'])
    with pytest.raises(ValueError, match=r'person_keypoints.json \(annotated images\)'):
        make_coco_subset(path, str(tmp_path / 'x.json'), num=31)


@pytest.mark.parametrize('damage, message', [
    (lambda c: c['annotations'][0].update(image_id=999), 'image_id 999'),
    (lambda c: c['annotations'][0].update(category_id=42), 'category_id 42'),
    (lambda c: c.pop('categories'), "no 'categories' list"),
    (lambda c: c['images'].append(dict(c['images'][0])), 'duplicate images id 100'),
])
def test_malformed_coco_is_named(tmp_path, damage, message):
    coco = _coco()
    damage(coco)
    path = str(tmp_path / 'broken.json')
    with open(path, 'w') as f:
        json.dump(coco, f)
    with pytest.raises(ValueError, match=message) as err:
        make_coco_subset(path, str(tmp_path / 'x.json'), num=2)
    assert 'broken.json' in str(err.value)
    with open(path, 'w') as f:
        f.write('{"images": [')
    with pytest.raises(ValueError, match='broken.json is not valid JSON'):
        load_coco_json(path)


def test_cli(coco_file, seg_data, tmp_path, capsys):
    tool = load_tool('tools/dataset_converters/make_fewshot_split.py')
    out = str(tmp_path / 'cli.json')
    assert tool.main(['coco', '--ann-file', coco_file, '--num', '6', '--seed', '4',
                      '--out', out]) == 0
    assert len(json.load(open(out))['images']) == 6
    root, _ = seg_data
    split = str(tmp_path / 'cli.txt')
    assert tool.main(['seg', '--ann-dir', osp.join(root, 'ann_dir'), '--num', '5',
                      '--min-per-class', '1', '--ignore-classes', '0', '--out', split]) == 0
    assert len(read_split_file(split)) == 5
    assert 'wrote 5 images' in capsys.readouterr().out
    assert tool.main(['coco', '--ann-file', coco_file, '--num', '500', '--out', out]) == 1
    assert coco_file in capsys.readouterr().err


# -------------------------------------------------------------------- NYU
# scene type -> frames, NYU-style names (several scene types hold a '_')
NYU_SCENES = {'kitchen': 24, 'living_room': 14, 'study': 10, 'study_room': 7, 'bathroom': 5}


@pytest.fixture()
def nyu_data(tmp_path):
    """60 frames in mmseg's NYU layout (images/train, annotations/train); each depth map
    holds one value of its own (millimetres), so a pairing can be checked."""
    root = str(tmp_path / 'nyu')
    for sub in ('images/train', 'annotations/train'):
        os.makedirs(osp.join(root, sub))
    depth_of = {}
    for scene, n in NYU_SCENES.items():
        for k in range(n):
            name = f'{scene}_{k // 3 + 1:04d}_{k:05d}'
            Image.fromarray(np.full((8, 8, 3), len(depth_of), np.uint8)).save(
                osp.join(root, 'images', 'train', name + '.jpg'))
            depth_of[name] = 1000 + len(depth_of)
            Image.fromarray(np.full((8, 8), depth_of[name], np.uint16)).save(
                osp.join(root, 'annotations', 'train', name + '.png'))
    return root, depth_of


def _listing(folder):
    return sorted(os.listdir(folder))


def test_nyu_scene_type():
    assert nyu_scene_type('living_room_0004_00012.jpg') == 'living_room'
    assert nyu_scene_type('kitchen_0028b_00045.png') == 'kitchen'
    assert nyu_scene_type('sub/grass_0000_00003.jpg') == 'grass'
    assert nyu_scene_type('study_0001_00001') != nyu_scene_type('study_room_0001_00001')
    assert nyu_scene_type('nodigits.jpg') == 'nodigits'


def test_nyu_split_is_seeded_balanced_and_linked(nyu_data):
    root, depth_of = nyu_data
    subset = make_nyu_split(root, 10, seed=0)
    assert subset.out_file == osp.join(root, 'images', 'train_10')
    assert len(subset.ids) == len(set(subset.ids)) == 10 and subset.ids == sorted(subset.ids)
    assert _listing(osp.join(root, 'images', 'train_10')) == [i + '.jpg' for i in subset.ids]
    assert _listing(osp.join(root, 'annotations', 'train_10')) == [i + '.png' for i in subset.ids]
    # balanced: every scene type in at least min(num // types, available) = 2 frames
    counts = Counter(nyu_scene_type(i) for i in subset.ids)
    assert subset.available == dict(sorted(NYU_SCENES.items()))
    assert subset.chosen == {s: counts[s] for s in sorted(NYU_SCENES)}
    assert all(counts[s] >= 2 for s in NYU_SCENES), counts
    # relative symlinks that resolve to the source pair
    for stem in subset.ids:
        for kind, suffix in (('images', '.jpg'), ('annotations', '.png')):
            link = osp.join(root, kind, 'train_10', stem + suffix)
            assert osp.islink(link) and not osp.isabs(os.readlink(link))
            assert osp.realpath(link) == osp.realpath(osp.join(root, kind, 'train', stem + suffix))
        depth = np.asarray(Image.open(osp.join(root, 'annotations', 'train_10', stem + '.png')))
        assert int(depth[0, 0]) == depth_of[stem]
    # the same seed chooses the same frames (another folder); other seeds choose others
    again = make_nyu_split(root, 10, seed=0, out_split='again')
    assert again.ids == subset.ids
    others = {tuple(make_nyu_split(root, 10, seed=s, out_split=f'seed{s}').ids) for s in (1, 2, 3)}
    assert len(others | {tuple(subset.ids)}) > 1
    # a rerun with the same choice is a no-op; a differing choice is refused, naming the folder
    assert make_nyu_split(root, 10, seed=0).ids == subset.ids
    with pytest.raises(FileExistsError, match=re.escape(osp.join(root, 'images', 'train_10'))):
        make_nyu_split(root, 10, seed=1, out_split='train_10')
    with pytest.raises(FileExistsError, match=re.escape(osp.join(root, 'images', 'again'))):
        make_nyu_split(root, 9, seed=0, out_split='again')
    assert _listing(osp.join(root, 'images', 'train_10')) == [i + '.jpg' for i in subset.ids]
    extra = osp.join(root, 'annotations', 'seed1', 'extra.png')
    Image.fromarray(np.zeros((2, 2), np.uint16)).save(extra)
    with pytest.raises(FileExistsError, match=re.escape(osp.join(root, 'annotations', 'seed1'))):
        make_nyu_split(root, 10, seed=1, out_split='seed1')


def test_nyu_split_copies_and_errors(nyu_data):
    root, depth_of = nyu_data
    subset = make_nyu_split(root, 6, seed=4, out_split='copied', copy=True)
    for stem in subset.ids:
        path = osp.join(root, 'annotations', 'copied', stem + '.png')
        assert not osp.islink(path) and int(np.asarray(Image.open(path))[0, 0]) == depth_of[stem]
    assert make_nyu_split(root, 6, seed=4, out_split='copied', copy=True).ids == subset.ids
    with pytest.raises(ValueError, match='cannot choose 61 images from NYU folder'):
        make_nyu_split(root, 61)
    with pytest.raises(ValueError, match='both'):
        make_nyu_split(root, 5, out_split='train')
    os.remove(osp.join(root, 'annotations', 'train', 'bathroom_0001_00000.png'))
    with pytest.raises(FileNotFoundError, match='bathroom_0001_00000.png'):
        make_nyu_split(root, 5, out_split='broken')
    assert not osp.exists(osp.join(root, 'images', 'broken'))


def test_nyu_split_loads_in_mmseg_nyu_dataset(nyu_data):
    from mmengine.registry import init_default_scope
    from mmseg.datasets import NYUDataset
    root, depth_of = nyu_data
    subset = make_nyu_split(root, 50, seed=0)
    assert Counter(nyu_scene_type(i) for i in subset.ids)['bathroom'] == 5  # all of the rarest
    init_default_scope('mmseg')
    dataset = NYUDataset(data_root=root, data_prefix=dict(img_path='images/train_50',
                                                          depth_map_path='annotations/train_50'),
                         pipeline=[dict(type='LoadImageFromFile'),
                                   dict(type='LoadDepthAnnotation', depth_rescale_factor=1e-3)])
    assert len(dataset) == 50
    names = [osp.splitext(osp.basename(dataset[i]['img_path']))[0] for i in range(50)]
    assert names == subset.ids
    for i in (0, 17, 49):
        item = dataset[i]
        assert osp.basename(item['depth_map_path']) == names[i] + '.png'
        np.testing.assert_allclose(item['gt_depth_map'], depth_of[names[i]] * 1e-3, rtol=1e-6)
        scene = nyu_scene_type(names[i])
        classes = dataset.metainfo['classes']
        assert item['category_id'] == (classes.index(scene) if scene in classes else -1)


def test_nyu_cli(nyu_data, capsys):
    tool = load_tool('tools/dataset_converters/make_fewshot_split.py')
    root, _ = nyu_data
    assert tool.main(['nyu', '--data-root', root, '--num', '5', '--seed', '1', '--src-split',
                      'train', '--out-split', 'train_5', '--copy']) == 0
    out = capsys.readouterr().out
    assert 'wrote 5 images' in out and 'living_room:' in out
    assert len(os.listdir(osp.join(root, 'images', 'train_5'))) == 5
    assert not osp.islink(osp.join(root, 'images', 'train_5', os.listdir(
        osp.join(root, 'images', 'train_5'))[0]))
    assert tool.main(['nyu', '--data-root', root, '--num', '5', '--seed', '2',
                      '--out-split', 'train_5']) == 1
    assert osp.join(root, 'images', 'train_5') in capsys.readouterr().err
    assert tool.main(['nyu', '--data-root', root, '--num', '7']) == 0
    assert len(os.listdir(osp.join(root, 'annotations', 'train_7'))) == 7
