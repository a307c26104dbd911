"""The engine with the instance, depth and pose P-Decoders: decoded, written, loadable."""
import json
import os.path as osp

import numpy as np
import pytest
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


@pytest.mark.slow
@pytest.mark.parametrize('task', sorted(TASKS))
def test_engine_writes_each_task(task, tmp_path, tiny_sd_folder):
    config, make_data, ann_file = TASKS[task]
    root = make_data(str(tmp_path / 'data'), num=2, size=64)
    cfg = tiny_pdecoder_cfg(config, root, str(tmp_path / 'work'), tiny_sd_folder, 2, ann_file)
    runner = Runner.from_cfg(cfg)
    runner.train()
    # mmpose's metainfo names keypoints, not classes: its one class is the person; a depth
    # decoder's prompt words are its backbone's class names
    classes = list(cfg.model.backbone.class_names) if task == 'depth' else \
        list(runner.train_dataloader.dataset.metainfo.get('classes', ['person']))
    engine = GenerationEngine(
        decoder=dict(config=osp.join(CONFIGS, config),
                     checkpoint=osp.join(cfg.work_dir, 'iter_2.pth'),
                     # a flip test (the demo pose config has one) cannot run on captured
                     # features: the decoder must switch it off, not crash
                     cfg_options={'model.backbone.pretrained': tiny_sd_folder,
                                  **({'model.test_cfg.flip_test': True} if task == 'pose'
                                     else {})}),
        prompts=dict(source=dict(type='TemplatePrompts', classes=classes,
                                 templates=['a photo of a {cls}']), seed=0),
        num_samples=2, sampling=dict(steps=2, guidance_scale=2.0), batch_size=2, task=task,
        filters=dict(min_score=0.0, require_prompted=False))
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
        assert depth.shape == (64, 64) and 0 < depth.min() and depth.max() < cfg.max_depth
    else:
        name = 'instances.json' if task == 'instance' else 'keypoints.json'
        coco = COCO(osp.join(out, name))
        assert len(coco.getImgIds()) == len(accepted)
        anns = coco.loadAnns(coco.getAnnIds())
        assert all(0.0 <= a['score'] <= 1.0 for a in anns)
        if task == 'instance':
            assert {a['category_id'] for a in anns} <= {c['id'] for c in coco.dataset['categories']}
            assert all(a['area'] == int(np.sum(coco.annToMask(a))) for a in anns)
        else:
            k = len(coco.dataset['categories'][0]['keypoints'])
            assert all(len(a['keypoints']) == 3 * k for a in anns)
