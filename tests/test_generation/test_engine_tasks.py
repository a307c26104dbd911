"""The engine with the instance, depth and pose P-Decoders: decoded, written, loadable."""
import json
import os.path as osp

import numpy as np
import pytest
from mmengine.config import Config
from mmengine.runner import Runner
from pycocotools.coco import COCO

from mmdatasetdm.fileio import read_depth, read_manifest
from mmdatasetdm.generation.engine import GenerationEngine
from tests.pdecoder_cfg import CONFIGS, tiny_pdecoder_cfg
from tests.toy_data import (make_toy_coco_instance_dataset, make_toy_depth_dataset,
                            make_toy_pose_dataset)

TASKS = dict(
    instance=('pdecoder/instance_tiny.py', make_toy_coco_instance_dataset,
              'annotations/instances.json'),
    depth=('pdecoder/depth_tiny.py', make_toy_depth_dataset, None),
    pose=('pdecoder/pose_tiny.py', make_toy_pose_dataset, 'annotations/keypoints.json'),
)


def task_engine(task, tmp_path, tiny_sd_folder, num_samples, filters, cfg_options=None):
    """Train the task's tiny P-Decoder 2 iterations on toy data and return a
    GenerationEngine of ``num_samples`` (one batch) prompting its classes."""
    config, make_data, ann_file = TASKS[task]
    root = make_data(str(tmp_path / 'data'), num=2, size=64)
    cfg = tiny_pdecoder_cfg(config, root, str(tmp_path / 'work'), tiny_sd_folder, 2, ann_file)
    runner = Runner.from_cfg(cfg)
    runner.train()
    # mmpose's metainfo names keypoints, not classes: its one class is the person; a depth
    # decoder's prompt words are its backbone's class names
    classes = list(cfg.model.backbone.class_names) if task == 'depth' else \
        list(runner.train_dataloader.dataset.metainfo.get('classes', ['person']))
    return GenerationEngine(
        decoder=dict(config=osp.join(CONFIGS, config),
                     checkpoint=osp.join(cfg.work_dir, 'iter_2.pth'),
                     cfg_options={'model.backbone.pretrained': tiny_sd_folder,
                                  **(cfg_options or {})}),
        prompts=dict(source=dict(type='TemplatePrompts', classes=classes,
                                 templates=['a photo of a {cls}']), seed=0),
        num_samples=num_samples, sampling=dict(steps=2, guidance_scale=2.0),
        batch_size=num_samples, task=task, filters=filters)


@pytest.mark.slow
@pytest.mark.parametrize('task', sorted(TASKS))
def test_engine_writes_each_task(task, tmp_path, tiny_sd_folder):
    # a flip test (the demo pose config has one) cannot run on captured features: the
    # decoder must switch it off, not crash
    engine = task_engine(task, tmp_path, tiny_sd_folder, 2,
                         filters=dict(min_score=0.0, require_prompted=False),
                         cfg_options={'model.test_cfg.flip_test': True} if task == 'pose'
                         else None)
    out = str(tmp_path / 'synth')
    stats = engine.run(out, progress=False)
    assert stats['generated'] == 2
    engine.merge(out)
    lines = read_manifest(osp.join(out, 'manifest.jsonl'))
    assert [line['index'] for line in lines] == [0, 1]
    assert all(line['task'] == task for line in lines)
    with open(osp.join(out, 'dataset.json')) as f:
        assert json.load(f)['classes'] == engine.decoder.classes
    accepted = [line for line in lines if line['accepted']]
    if task == 'depth':
        assert len(accepted) == 2 and lines[0]['depth_scale'] == 1000.0
        depth = read_depth(osp.join(out, lines[0]['files']['depth']))
        max_depth = Config.fromfile(osp.join(CONFIGS, TASKS['depth'][0])).max_depth
        assert depth.shape == (64, 64) and 0 < depth.min() and depth.max() < max_depth
    else:
        name = 'instances.json' if task == 'instance' else 'keypoints.json'
        coco = COCO(osp.join(out, name))
        assert len(coco.getImgIds()) == len(accepted)
        anns = coco.loadAnns(coco.getAnnIds())
        # each annotation's score is the one the manifest recorded for its sample
        kind = 'instances' if task == 'instance' else 'keypoints'
        for line in accepted:
            image_anns = coco.loadAnns(coco.getAnnIds(imgIds=[line['index'] + 1]))
            assert [a['score'] for a in image_anns] == line['scores'][kind]
        if task == 'instance':
            assert {a['category_id'] for a in anns} <= {c['id'] for c in coco.dataset['categories']}
            assert all(a['area'] == int(np.sum(coco.annToMask(a))) for a in anns)
        else:
            k = len(coco.dataset['categories'][0]['keypoints'])
            assert all(len(a['keypoints']) == 3 * k for a in anns)


@pytest.mark.slow
def test_pose_labels_every_person_with_the_real_category(tmp_path, tiny_sd_folder, monkeypatch):
    """One top-down pose per person box the prompt's person word attends to (here two boxes
    per image, stubbed: an untrained tiny model attends anywhere), each box written as its
    annotation's bbox, and the category record of the decoder's training set."""
    from mmdatasetdm.generation import decoder as decoder_module
    config, make_data, ann_file = TASKS['pose']
    root = make_data(str(tmp_path / 'data'), num=2, size=64)
    path = osp.join(root, ann_file)
    with open(path) as f:
        doc = json.load(f)
    doc['categories'][0]['supercategory'] = 'object'  # as the demo world's records say
    with open(path, 'w') as f:
        json.dump(doc, f)
    cfg = tiny_pdecoder_cfg(config, root, str(tmp_path / 'work'), tiny_sd_folder, 2, ann_file)
    Runner.from_cfg(cfg).train()
    boxes = np.array([[4, 6, 30, 60], [34, 2, 62, 58]], np.float32)
    seen = []

    def two_people(attention, positions, image_size, **kw):
        seen.append(list(positions))
        return boxes
    monkeypatch.setattr(decoder_module, 'attention_boxes', two_people)
    engine = GenerationEngine(
        decoder=dict(config=osp.join(CONFIGS, config),
                     checkpoint=osp.join(cfg.work_dir, 'iter_2.pth'),
                     # the training config as trained, so its keypoint file can be found
                     cfg_options={'model.backbone.pretrained': tiny_sd_folder,
                                  'train_dataloader.dataset.data_root': root,
                                  'train_dataloader.dataset.ann_file': ann_file}),
        prompts=dict(source=dict(type='TemplatePrompts', classes=['person'],
                                 templates=['a photo of two {cls}s']), seed=0),
        num_samples=2, sampling=dict(steps=2, guidance_scale=2.0), batch_size=2, task='pose',
        filters=dict(min_score=0.0, min_keypoint_score=0.0))
    out = str(tmp_path / 'synth')
    engine.run(out, progress=False)
    engine.merge(out)
    assert len(seen) == 2 and all(seen)  # the person word's token positions were used
    coco = COCO(osp.join(out, 'keypoints.json'))
    assert coco.dataset['categories'][0]['supercategory'] == 'object'
    assert coco.dataset['categories'][0]['id'] == doc['categories'][0]['id']
    for image_id in coco.getImgIds():
        anns = coco.loadAnns(coco.getAnnIds(imgIds=[image_id]))
        assert len(anns) == 2
        for ann, (x1, y1, x2, y2) in zip(anns, boxes):
            assert ann['bbox'] == pytest.approx([x1, y1, x2 - x1, y2 - y1])
            kpts = np.asarray(ann['keypoints'], np.float64).reshape(-1, 3)
            xy = kpts[kpts[:, 2] > 0, :2]  # labelled ones (COCO writes others as 0, 0, 0)
            # keypoints decoded in the box's crop (GetBBoxCenterScale pads it by 1.25)
            cx, cy, w, h = (x1 + x2) / 2, (y1 + y2) / 2, (x2 - x1) * 1.25, (y2 - y1) * 1.25
            assert np.all(np.abs(xy[:, 0] - cx) <= w) and np.all(np.abs(xy[:, 1] - cy) <= h)


@pytest.mark.slow
def test_pose_image_boxes_decode_one_person_in_the_whole_image(tmp_path, tiny_sd_folder,
                                                               monkeypatch):
    """decoder.pose_boxes='image' (a generator whose attention does not localise people):
    the attention is not consulted, each image is one person's box, and
    filters.keypoint_box_scale writes the box of the labelled keypoints instead."""
    from mmdatasetdm.generation import decoder as decoder_module

    def not_called(*args, **kwargs):
        raise AssertionError('attention_boxes called with pose_boxes="image"')
    monkeypatch.setattr(decoder_module, 'attention_boxes', not_called)
    engine = task_engine('pose', tmp_path, tiny_sd_folder, 2,
                         filters=dict(min_score=0.0, min_keypoint_score=0.0,
                                      keypoint_box_scale=1.0))
    decoder = engine.decoder
    engine = GenerationEngine(
        decoder=dict(config=osp.join(CONFIGS, TASKS['pose'][0]),
                     checkpoint=osp.join(str(tmp_path / 'work'), 'iter_2.pth'),
                     cfg_options={'model.backbone.pretrained': tiny_sd_folder},
                     pose_boxes='image'),
        prompts=dict(source=dict(type='TemplatePrompts', classes=['person'],
                                 templates=['a photo of a {cls}']), seed=0),
        num_samples=2, sampling=dict(steps=2, guidance_scale=2.0), batch_size=2, task='pose',
        filters=dict(min_score=0.0, min_keypoint_score=0.0, keypoint_box_scale=1.0))
    assert decoder.pose_boxes == 'attention' and engine.identity['pose_boxes'] == 'image'
    out = str(tmp_path / 'synth')
    engine.run(out, progress=False)
    engine.merge(out)
    coco = COCO(osp.join(out, 'keypoints.json'))
    assert len(coco.getImgIds()) == 2
    for image_id in coco.getImgIds():
        (ann, ) = coco.loadAnns(coco.getAnnIds(imgIds=[image_id]))
        xy = np.asarray(ann['keypoints'], np.float64).reshape(-1, 3)[:, :2]
        low, high = xy.min(0).clip(0, 64), xy.max(0).clip(0, 64)
        assert ann['bbox'] == pytest.approx([*low, *(high - low)], abs=1e-3)
    with pytest.raises(ValueError, match='pose_boxes'):
        decoder_module.PerceptionDecoder(osp.join(CONFIGS, TASKS['pose'][0]), 'x.pth',
                                         pose_boxes='people')
