"""The full-size P-Decoder configs (VOC-100 semantic, COCO-800 instance, NYU-50 depth,
COCO-800 pose) parse, build their pipelines, and build their models when the SD-1.5 folder is
swapped for the tiny model: only ``backbone.pretrained`` changes (the heads read the rest from
the backbone, tests/test_models/test_input_shape.py)."""
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.dataset import Compose
from mmengine.registry import MODELS, init_default_scope

CONFIGS = osp.join(osp.dirname(__file__), '..', '..', 'configs', 'pdecoder')


@pytest.mark.parametrize('name, scope, head_key', [
    ('semantic_voc_100', 'mmseg', 'decode_head'),
    ('instance_coco_800', 'mmdet', 'panoptic_head'),
    ('depth_nyu_50', 'mmseg', 'decode_head'),
    ('pose_coco_800', 'mmpose', 'head'),
])
def test_full_config_builds(name, scope, head_key, tiny_sd_folder):
    cfg = Config.fromfile(osp.join(CONFIGS, f'{name}.py'))
    assert cfg.default_scope == scope
    assert cfg.model.backbone.pretrained == 'checkpoints/stable-diffusion-v1-5'
    assert cfg.model.backbone.timestep == 1
    assert cfg.model.backbone.dtype == 'auto'  # fp16 on GPUs, fp32 on this CPU
    init_default_scope(scope)
    for loader in ('train_dataloader', 'val_dataloader'):
        Compose(cfg[loader].dataset.pipeline)
    cfg.model.backbone.pretrained = tiny_sd_folder
    model = MODELS.build(cfg.model)
    assert not any(name.startswith('backbone.') for name, _ in model.named_parameters())
    assert sum(p.numel() for p in getattr(model, head_key).parameters()) > 0


def test_instance_config_is_things_only_with_real_labels():
    cfg = Config.fromfile(osp.join(CONFIGS, 'instance_coco_800.py'))
    head, fusion = cfg.model.panoptic_head, cfg.model.panoptic_fusion_head
    assert head.num_stuff_classes == fusion.num_stuff_classes == 0
    assert head.num_things_classes == fusion.num_things_classes == len(cfg.class_names) == 80
    assert len(head.loss_cls.class_weight) == 81
    assert cfg.model.test_cfg.instance_on and not cfg.model.test_cfg.panoptic_on
    assert cfg.val_evaluator.metric == ['segm']
    assert cfg.train_dataloader.dataset.ann_file == 'annotations/instances_train2017_800.json'


def test_voc_config_names_mmseg_voc_classes_in_order():
    from mmseg.datasets import PascalVOCDataset
    cfg = Config.fromfile(osp.join(CONFIGS, 'semantic_voc_100.py'))
    assert tuple(cfg.class_names) == PascalVOCDataset.METAINFO['classes']
    assert cfg.model.decode_head.num_classes == 21
    assert len(cfg.model.decode_head.loss_cls.class_weight) == 22
    assert list(cfg.model.decode_head.pixel_decoder.attention.words) == list(cfg.class_names[1:])
