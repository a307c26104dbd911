import os.path as osp

import pytest
import torch
from mmengine.registry import DefaultScope

from mmdatasetdm.diffusion import FeaturePyramid


def _scoped_registry(scope):
    if scope == 'mmseg':
        from mmseg.registry import MODELS
    elif scope == 'mmdet':
        from mmdet.registry import MODELS
    else:
        from mmpose.registry import MODELS
    return MODELS


@pytest.fixture(scope='module')
def backbone_cfg(tiny_sd_folder):
    return dict(type='mmdatasetdm.DiffusionBackbone', pretrained=tiny_sd_folder, timestep=1,
                class_names=['person', 'car'])


@pytest.mark.parametrize('scope', ['mmseg', 'mmdet', 'mmpose'])
def test_builds_from_each_toolbox_scope(scope, backbone_cfg):
    registry = _scoped_registry(scope)
    with DefaultScope.overwrite_default_scope(scope):
        backbone = registry.build(backbone_cfg)
    assert type(backbone).__name__ == 'DiffusionBackbone'
    assert type(backbone).__module__ == 'mmdatasetdm.models.backbones.diffusion_backbone'
    assert sum(p.numel() for p in backbone.parameters()) == 0
    assert backbone.state_dict() == {}
    pyr = backbone(torch.rand(2, 3, 64, 64) * 2 - 1)
    assert isinstance(pyr, FeaturePyramid)
    assert pyr.strides == backbone.out_strides == [8, 16, 32, 64]
    assert pyr.channels == backbone.out_channels == [32, 32, 64, 64]
    assert pyr.prompts == ['a photo of a person and car'] * 2
    assert pyr.token_indices[0] == {'person': [5], 'car': [7]}
    backbone.extractor.close()


def test_forward_with_prompts_is_deterministic_and_frozen(backbone_cfg):
    from mmdatasetdm.registry import MODELS
    backbone = MODELS.build(backbone_cfg)
    backbone.train()
    assert all(not m.training for m in backbone.components.modules())
    x = torch.rand(1, 3, 64, 64) * 2 - 1
    a = backbone(x, prompts=['a photo of a car'], words=[['car']])
    b = backbone(x, prompts=['a photo of a car'], words=[['car']])
    assert a.token_indices == [{'car': [5]}]
    for la, lb in zip(a.levels, b.levels):
        assert torch.equal(la.features, lb.features)  # fixed noise seed
    assert all(lv.features.dtype == torch.float32 for lv in a.levels)
    # an image's features do not depend on the batch it is in
    other = torch.rand(1, 3, 64, 64) * 2 - 1
    batched = backbone(torch.cat([other, x]), prompts=['a photo of a car'] * 2,
                       words=[['car']] * 2)
    for la, lb in zip(a.levels, batched.levels):
        torch.testing.assert_close(la.features[0], lb.features[1], atol=1e-5, rtol=1e-4)
    backbone.extractor.close()


def test_frozen_weights_stay_out_of_runner_checkpoints(backbone_cfg, tmp_path):
    """A model with the backbone and a trainable head: the runner's checkpoint and
    optimizer hold only the head, and the frozen weights do not change."""
    from mmengine.model import BaseModel
    from mmengine.runner import Runner

    from mmdatasetdm.registry import MODELS

    class Probe(BaseModel):
        def __init__(self):
            super().__init__()
            self.backbone = MODELS.build(backbone_cfg)
            self.head = torch.nn.Conv2d(32, 1, 1)

        def forward(self, inputs, data_samples=None, mode='tensor'):
            x = torch.stack(inputs) if isinstance(inputs, list) else inputs
            out = self.head(self.backbone(x).levels[0].features)
            return dict(loss=out.pow(2).mean()) if mode == 'loss' else out

    model = Probe()
    unet_before = {k: v.clone() for k, v in model.backbone.components.unet.state_dict().items()}
    data = [dict(inputs=torch.rand(3, 64, 64) * 2 - 1) for _ in range(4)]
    runner = Runner(
        model=model, work_dir=str(tmp_path),
        train_dataloader=dict(dataset=data, batch_size=2, collate_fn=dict(type='default_collate'),
                              sampler=dict(type='DefaultSampler', shuffle=False)),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
        train_cfg=dict(by_epoch=False, max_iters=2),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=2, by_epoch=False)))
    runner.train()
    optimized = [p for g in runner.optim_wrapper.optimizer.param_groups for p in g['params']]
    assert sum(p.numel() for p in optimized) == 32 + 1
    ckpt = torch.load(osp.join(tmp_path, 'iter_2.pth'), map_location='cpu', weights_only=True)
    assert sorted(ckpt['state_dict']) == ['head.bias', 'head.weight']
    unet_after = model.backbone.components.unet.state_dict()
    assert all(torch.equal(unet_before[k], unet_after[k]) for k in unet_before)
    model.backbone.extractor.close()


def test_needs_exactly_one_source():
    from mmdatasetdm.models import DiffusionBackbone
    with pytest.raises(ValueError, match='exactly one of `pretrained`'):
        DiffusionBackbone()
