"""Tests of the procedural demo world: determinism, formats and ground-truth consistency."""
import json
import os
import os.path as osp
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO

from mmdatasetdm.fileio import (DEFAULT_DEPTH_SCALE, encode_png, is_temp_name, read_depth,
                                tree_sha256)
from projects.demo_world.demo_world import (CLASS_IDS, KEYPOINT_NAMES, KPT_OCCLUDED, KPT_UNLABELLED,
                                            KPT_VISIBLE, OBJECT_CLASSES, SEG_CLASSES, WorldLayout,
                                            generate_world, make_sample, read_captions)
from projects.demo_world.demo_world.render import render_scene
from tests.demo_world import SMALL_WORLD, small_world_sample

LABELLED = ('train_100', 'test', 'test_shifted')


def _load_png(path):
    with Image.open(path) as image:
        return np.asarray(image)


# ---------------------------------------------------------------- determinism

def test_regeneration_is_byte_identical(tmp_path, small_world):
    # same seed, other worker count -> the same bytes in every file
    again = tmp_path / 'again'
    generate_world(str(again), workers=2, progress=False, **SMALL_WORLD)
    first, second = tree_sha256(small_world), tree_sha256(str(again))
    assert sorted(first) == sorted(second)
    assert len(first) > 60
    assert first == second
    # no temporary files left behind
    assert not [p for p in first if is_temp_name(osp.basename(p))]


def test_single_image_regenerates_alone(small_world):
    layout = WorldLayout(small_world)
    sample = small_world_sample('test', 7)
    with open(layout.image('test', 7), 'rb') as f:
        assert f.read() == encode_png(sample.rendered.image)
    np.testing.assert_array_equal(_load_png(layout.semantic('test', 7)), sample.rendered.semantic)


def test_images_depend_on_seed_split_and_index():
    base = make_sample(0, 'test', 0).rendered.image
    assert not np.array_equal(base, make_sample(1, 'test', 0).rendered.image)
    assert not np.array_equal(base, make_sample(0, 'train_100', 0).rendered.image)
    assert not np.array_equal(base, make_sample(0, 'test', 1).rendered.image)
    np.testing.assert_array_equal(base, make_sample(0, 'test', 0).rendered.image)


def test_mismatching_world_is_refused(tmp_path):
    generate_world(str(tmp_path), seed=0, splits=['test'], test=1, progress=False)
    with pytest.raises(ValueError, match='seed'):
        generate_world(str(tmp_path), seed=1, splits=['test'], test=1, progress=False)
    with pytest.raises(ValueError, match='unknown demo-world splits'):
        generate_world(str(tmp_path), seed=0, splits=['val'], progress=False)


# ---------------------------------------------------------------- layout and formats

def test_layout_and_meta(small_world):
    layout = WorldLayout(small_world)
    with open(layout.meta) as f:
        meta = json.load(f)
    assert meta['seed'] == SMALL_WORLD['seed'] and (meta['height'], meta['width']) == (64, 64)
    assert meta['depth_scale'] == DEFAULT_DEPTH_SCALE == 1000.0
    assert meta['classes'] == list(SEG_CLASSES) and len(meta['palette']) == len(SEG_CLASSES)
    assert meta['keypoints']['names'] == list(KEYPOINT_NAMES)
    assert meta['splits']['pool'] == dict(
        num_images=4, labelled=False, domain='default', class_frequency='even')
    assert meta['splits']['test_shifted']['domain'] == 'shifted'
    # the pool is unlabelled: images and captions only
    assert len(os.listdir(osp.join(small_world, 'images', 'pool'))) == 4
    assert not osp.exists(osp.join(small_world, 'semantic', 'pool'))
    assert not osp.exists(layout.instances('pool'))
    for split in LABELLED:
        n = meta['splits'][split]['num_images']
        with open(layout.split_file(split)) as f:
            stems = f.read().split()
        assert stems == [f'{i:08d}' for i in range(n)]
        image = _load_png(layout.image(split, n - 1))
        assert image.shape == (64, 64, 3) and image.dtype == np.uint8
        semantic = _load_png(layout.semantic(split, n - 1))
        assert semantic.shape == (64, 64) and semantic.dtype == np.uint8
        assert set(np.unique(semantic)) <= set(range(len(SEG_CLASSES)))


def test_captions_name_the_annotated_classes(small_world):
    layout = WorldLayout(small_world)
    pool = read_captions(layout.captions('pool'))
    assert sorted(pool) == [f'{i:08d}' for i in range(4)]
    assert all(c.startswith('a photo of ') for c in pool.values())
    captions = read_captions(layout.captions('test'))
    coco = COCO(layout.instances('test'))
    for img in coco.dataset['images']:
        caption = captions[osp.splitext(img['file_name'])[0]]
        names = {coco.cats[a['category_id']]['name'] for a in coco.imgToAnns[img['id']]}
        for name in names:
            assert (name in caption) or (name == 'person' and 'people' in caption), (name, caption)
    shifted = read_captions(layout.captions('test_shifted')).values()
    assert all(any(w in c for w in ('tiles', 'snow', 'clay', 'moss')) for c in shifted)


def test_coco_instances_decode_to_their_area_inside_their_class(small_world):
    layout = WorldLayout(small_world)
    for split in LABELLED:
        coco = COCO(layout.instances(split))
        assert [c['id']
                for c in coco.dataset['categories']] == [CLASS_IDS[n] for n in OBJECT_CLASSES]
        num_anns = 0
        for img in coco.dataset['images']:
            index = img['id'] - 1
            semantic = _load_png(layout.semantic(split, index))
            covered = np.zeros_like(semantic, dtype=bool)
            for ann in coco.imgToAnns[img['id']]:
                mask = mask_utils.decode(ann['segmentation']).astype(bool)
                assert ann['iscrowd'] == 0
                assert mask.sum() == ann['area'] == mask_utils.area(ann['segmentation']) >= 4
                # the instance lies inside its class region of the semantic mask
                assert (semantic[mask] == ann['category_id']).all()
                # instances do not overlap (occlusion resolved)
                assert not (covered & mask).any()
                covered |= mask
                ys, xs = np.nonzero(mask)
                x, y, w, h = ann['bbox']
                assert (x, y, w, h) == (xs.min(), ys.min(), xs.max() - xs.min() + 1,
                                        ys.max() - ys.min() + 1)
                num_anns += 1
            # nothing annotated is background
            assert (semantic[covered] > 0).all()
        if coco.dataset['images']:
            assert num_anns >= len(coco.dataset['images'])


def test_depth_png_round_trip_and_geometry(small_world):
    layout = WorldLayout(small_world)
    seen_ground = seen_clutter = 0
    for index in range(SMALL_WORLD['test']):
        sample = small_world_sample('test', index)
        depth = sample.rendered.depth
        png = _load_png(layout.depth('test', index))
        assert png.dtype == np.uint16
        np.testing.assert_array_equal(png,
                                      np.round(depth.astype(np.float64) * 1000).astype(np.uint16))
        assert np.abs(read_depth(layout.depth('test', index)) - depth).max() <= 0.0005 + 1e-6
        # every object pixel carries its object's contact depth
        for k, obj in enumerate(sample.scene.objects, start=1):
            values = depth[sample.rendered.instances == k]
            if values.size:
                np.testing.assert_allclose(values, obj.depth, rtol=1e-6)
        # without objects and clutter: ground depth grows toward the horizon (up the
        # image) in every column, and the sky has no depth
        bare = render_scene(replace(sample.scene, objects=[], clutter=[])).depth
        cam = sample.scene.camera
        sky_rows = int(np.floor(cam.horizon))
        assert (bare[:sky_rows] == 0).all()
        for col in range(64):
            ground = bare[sky_rows + 1:, col]
            assert (np.diff(ground) <= 0).all() and ground[0] > ground[-1] > 0
            seen_ground += 1
        # background pixels show the bare ground/sky or a clutter item at its depth
        background = sample.rendered.semantic == 0
        allowed = [bare] + [np.full_like(bare, c.depth) for c in sample.scene.clutter]
        matches = np.any([np.isclose(depth, a, rtol=1e-6) for a in allowed], axis=0)
        assert matches[background].all()
        seen_clutter += int((~np.isclose(depth, bare))[background].any())
    assert seen_ground > 0 and seen_clutter > 0


def test_keypoints_follow_coco_visibility(small_world):
    layout = WorldLayout(small_world)
    flags = []
    for split in LABELLED:
        coco = COCO(layout.keypoints(split))
        (cat, ) = coco.dataset['categories']
        assert cat['name'] == 'person' and cat['keypoints'] == list(KEYPOINT_NAMES)
        assert min(min(link) for link in cat['skeleton']) == 1  # COCO: 1-based
        instances = COCO(layout.instances(split))
        for ann in coco.dataset['annotations']:
            # same annotation as in the instances JSON
            twin = instances.anns[ann['id']]
            assert twin['bbox'] == ann['bbox'] and twin['category_id'] == CLASS_IDS['person']
            semantic = _load_png(layout.semantic(split, ann['image_id'] - 1))
            mask = mask_utils.decode(ann['segmentation']).astype(bool)
            kpts = np.array(ann['keypoints'], dtype=np.float64).reshape(-1, 3)
            assert kpts.shape == (len(KEYPOINT_NAMES), 3)
            assert ann['num_keypoints'] == int((kpts[:, 2] > 0).sum())
            x0, y0, w, h = ann['bbox']
            for x, y, v in kpts:
                flags.append(v)
                if v == KPT_UNLABELLED:
                    assert x == y == 0
                    continue
                assert 0 <= x < 64 and 0 <= y < 64
                col, row = int(x), int(y)
                if v == KPT_VISIBLE:
                    assert mask[row, col] and semantic[row, col] == CLASS_IDS['person']
                    assert x0 <= x < x0 + w and y0 <= y < y0 + h
                else:
                    assert v == KPT_OCCLUDED and not mask[row, col]
    flags = np.array(flags)
    assert (flags == KPT_VISIBLE).sum() > 20
    assert (flags != KPT_VISIBLE).sum() > 0


def test_classes_are_not_separable_by_colour():
    """Per-instance mean colours: 5-NN accuracy stays far below what shape gives."""
    feats, labels, hists = [], [], {name: np.zeros(512) for name in OBJECT_CLASSES}
    for index in range(120):
        sample = make_sample(11, 'colour_probe', index, class_frequency='even')
        for ann in sample.annotations:
            pixels = sample.rendered.image[sample.rendered.instances == ann.instance_id].astype(int)
            feats.append(pixels.mean(0))
            labels.append(OBJECT_CLASSES.index(ann.category))
            q = pixels // 32
            hists[ann.category] += np.bincount(q[:, 0] * 64 + q[:, 1] * 8 + q[:, 2],
                                               minlength=512) / len(pixels)
    feats, labels = np.array(feats), np.array(labels)
    assert np.bincount(labels, minlength=5).min() >= 40  # every class is well represented
    dist = ((feats[:, None] - feats[None]) ** 2).sum(-1)
    np.fill_diagonal(dist, np.inf)
    neighbours = labels[np.argsort(dist, axis=1)[:, :5]]
    votes = np.array([np.bincount(n, minlength=5).argmax() for n in neighbours])
    accuracy = (votes == labels).mean()
    assert accuracy < 0.5, accuracy
    # colour histograms of every pair of classes overlap substantially
    hists = {k: h / h.sum() for k, h in hists.items()}
    for a in OBJECT_CLASSES:
        for b in OBJECT_CLASSES:
            assert np.minimum(hists[a], hists[b]).sum() > 0.3, (a, b)


def test_scene_variety():
    """Several objects, occlusion and scale variation occur; domains differ."""
    counts, occluded, heights = [], 0, []
    for index in range(40):
        sample = make_sample(5, 'variety', index)
        counts.append(len(sample.annotations))
        for obj in sample.scene.objects:
            if obj.category == 'person':
                heights.append(sample.scene.camera.focal / obj.depth * obj.params['height'])
        # a person is occluded when a nearer object covers one of its joints
        occluded += sum(1 for kp in sample.rendered.keypoints
                        if kp is not None and (kp[:, 2] == KPT_OCCLUDED).any())
    assert max(counts) >= 4 and np.mean(counts) >= 2
    assert occluded > 0
    assert max(heights) > 3 * min(heights)
    default = np.mean([make_sample(5, 'd', i).rendered.image.mean() for i in range(10)])
    shifted = np.mean([make_sample(5, 'd', i, domain='shifted').rendered.image.mean()
                       for i in range(10)])
    assert shifted < default - 10  # dusk/night are darker


def test_clutter_is_background_and_never_captioned():
    """Rocks, bushes and signs are drawn (and occlude objects) but carry no label."""
    drawn = occluding = 0
    for index in range(30):
        sample = make_sample(3, 'clutter', index)
        scene, rendered = sample.scene, sample.rendered
        assert 1 <= len(scene.clutter) <= 4
        assert not any(word in sample.caption for word in ('rock', 'bush', 'sign'))
        without = render_scene(replace(scene, clutter=[]))
        changed = np.any(without.image != rendered.image, axis=-1) & (rendered.instances == 0)
        if changed.sum() > 10:
            drawn += 1
        assert (rendered.semantic[rendered.instances == 0] == 0).all()
        # where clutter covers an object, the object's label is gone
        hidden = (without.instances > 0) & (rendered.instances == 0)
        occluding += int(hidden.any())
        assert (rendered.semantic[hidden] == 0).all()
    assert drawn >= 20 and occluding >= 3


def test_training_splits_are_long_tailed_the_pool_and_tests_even(small_world):
    """Cones and balls are rare in the labelled training splits, common in the
    pool and in the (balanced) test splits."""
    splits = json.load(open(osp.join(small_world, 'meta.json')))['splits']
    assert {s: splits[s]['class_frequency'] for s in splits} == dict(
        pool='even', train_100='long_tail', train_large='long_tail', test='even',
        test_shifted='even')

    def share(class_frequency):
        counts = dict.fromkeys(OBJECT_CLASSES, 0)
        for index in range(150):
            scene = make_sample(7, 'tail', index, class_frequency=class_frequency).scene
            for obj in scene.objects:
                counts[obj.category] += 1
        total = sum(counts.values())
        return {k: v / total for k, v in counts.items()}

    even, tail = share('even'), share('long_tail')
    for rare in ('cone', 'ball'):
        assert tail[rare] < 0.08 and even[rare] > 0.12, (rare, tail, even)
    assert tail['person'] > even['person'] + 0.05


def test_class_frequency_changes_only_the_classes():
    """The same image seed keeps camera, light, background and placements."""
    even = make_sample(7, 'tail', 3, class_frequency='even').scene
    tail = make_sample(7, 'tail', 3, class_frequency='long_tail').scene
    assert even.camera == tail.camera and even.lighting == tail.lighting
    assert even.background == tail.background
    assert len(even.objects) == len(tail.objects)
    with pytest.raises(ValueError, match=r"unknown class_frequency 'rare'.*'even', 'long_tail'"):
        make_sample(7, 'tail', 3, class_frequency='rare')


def test_alt_captions_name_one_class_each(small_world):
    """Each alternative caption is a true, shorter caption naming one class."""
    from projects.demo_world.demo_world.appearance import GROUND_PHRASES, SKY_PHRASES
    layout = WorldLayout(small_world)
    with open(layout.captions('test')) as f:
        records = [json.loads(line) for line in f]
    seen = 0
    for index, record in enumerate(records):
        sample = small_world_sample('test', index)
        assert record['caption'] == sample.caption
        assert record['alt_captions'] == sample.partial_captions
        background = sample.scene.background
        tail = ' '.join(w for w in (GROUND_PHRASES[background.ground],
                                    SKY_PHRASES[background.sky]) if w)
        names = {a.category for a in sample.annotations}
        if len(names) < 2:
            assert record['alt_captions'] == []
            continue
        seen += 1
        assert len(record['alt_captions']) == len(names)
        for alt in record['alt_captions']:
            assert alt.startswith('a photo of ') and alt.endswith(tail)
            subject = alt[len('a photo of '):-len(tail) - 1]
            assert ' and ' not in subject and subject in sample.caption, (subject, sample.caption)
    assert seen >= 3
