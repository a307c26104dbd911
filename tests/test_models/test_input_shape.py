"""The backbone announces its pyramid and the heads read it: one P-Decoder config per task
serves the tiny model, SD-1.x and SD-2.x folders, changing only ``backbone.pretrained``."""
import json
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope

import mmdatasetdm  # noqa: F401
from mmdatasetdm.diffusion import architecture, pyramid_shape
from mmdatasetdm.models.input_shape import complete_from_backbone

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
CONFIGS = osp.join(ROOT, 'configs', 'pdecoder')
SD_CHANNELS = [320, 640, 1280, 1280]
FULL_CONFIGS = [('semantic_voc_100', 'mmseg', 'decode_head'),
                ('instance_coco_800', 'mmdet', 'panoptic_head'),
                ('depth_nyu_50', 'mmseg', 'decode_head'),
                ('pose_coco_800', 'mmpose', 'head')]


def _config_only_folder(tmp_path, name):
    """A diffusers folder holding only the config.json files of a published architecture
    (written as the published files are: without the keys diffusers added later)."""
    arch = architecture(name)
    folder = tmp_path / name
    for sub, cls in (('unet', 'UNet2DConditionModel'), ('vae', 'AutoencoderKL')):
        (folder / sub).mkdir(parents=True)
        (folder / sub / 'config.json').write_text(json.dumps(dict(arch[sub], _class_name=cls)))
    (folder / 'tokenizer').mkdir()
    (folder / 'tokenizer' / 'tokenizer_config.json').write_text(
        json.dumps(dict(model_max_length=77)))
    return str(folder)


@pytest.mark.parametrize('name', ['sd15', 'sd21'])
def test_published_architectures_announce_the_sd_pyramid(tmp_path, name):
    shape = pyramid_shape(_config_only_folder(tmp_path, name))
    assert [(lv['name'], lv['stride'], lv['channels']) for lv in shape.levels] == [
        ('up_blocks.3', 8, 320), ('up_blocks.2', 16, 640), ('up_blocks.1', 32, 1280),
        ('up_blocks.0', 64, 1280)]
    # the SD-1.5 config.json has no mid_block_type: diffusers' default (cross-attention) holds
    assert shape.attention_strides == [8, 16, 32, 64]
    assert shape.num_tokens == 77 and shape.size_divisor == 64
    assert pyramid_shape(_config_only_folder(tmp_path / 'x', name),
                         capture=dict(attention_parts=('up', ),
                                      attention_strides=(8, 16))).attention_strides == [8, 16]


def test_announced_shape_equals_the_loaded_backbone(tiny_sd_folder):
    from mmdatasetdm.models.backbones import DiffusionBackbone
    for pretrained, capture in ((tiny_sd_folder, None),
                                (osp.join(ROOT, 'checkpoints', 'demo-world-sd'),
                                 dict(attention_parts=('down', 'mid')))):
        backbone = DiffusionBackbone(pretrained=pretrained, capture=capture)
        assert DiffusionBackbone.shape_of(pretrained=pretrained, capture=capture) == \
            backbone.output_shape()
    demo = backbone.output_shape()
    assert (demo.strides, demo.channels) == ([2, 4, 8], [32, 64, 128])
    assert demo.attention_strides == [4, 8]


@pytest.mark.parametrize('arch', ['sd15', 'sd21', 'tiny'])
@pytest.mark.parametrize('name, scope, head_key', FULL_CONFIGS)
def test_one_config_per_task_changing_only_pretrained(tmp_path, tiny_sd_folder, arch, name,
                                                      scope, head_key):
    cfg = Config.fromfile(osp.join(CONFIGS, f'{name}.py'))
    folder = tiny_sd_folder if arch == 'tiny' else _config_only_folder(tmp_path, arch)
    model = dict(cfg.model, backbone=dict(cfg.model.backbone, pretrained=folder))
    done = complete_from_backbone(model)
    shape = pyramid_shape(folder, capture=cfg.model.backbone.capture)
    channels = shape.channels
    if arch != 'tiny':
        assert channels == SD_CHANNELS
    part = done[head_key] if 'neck' not in done else done['neck']
    if 'neck' in done:
        assert part['in_channels'] == channels and part['in_strides'] == shape.strides
        attention = part['attention']
    else:
        assert part['in_channels'] == channels
        assert part['pixel_decoder']['strides'] == shape.strides
        attention = part['pixel_decoder']['attention']
    assert list(attention['strides']) == shape.attention_strides
    if attention.get('tokens', 'all') == 'all':
        assert attention['num_tokens'] == 77
    assert model == dict(cfg.model, backbone=dict(cfg.model.backbone, pretrained=folder))
    if arch == 'tiny':  # the same config builds and has trainable head parameters only
        init_default_scope(scope)
        built = MODELS.build(model)
        assert not any(n.startswith('backbone.') for n, _ in built.named_parameters())
        assert sum(p.numel() for p in getattr(built, head_key).parameters()) > 0


def test_a_written_value_that_disagrees_is_named(tiny_sd_folder):
    cfg = Config.fromfile(osp.join(CONFIGS, 'semantic_voc_100.py'))
    model = dict(cfg.model, backbone=dict(cfg.model.backbone, pretrained=tiny_sd_folder))
    model['decode_head'] = dict(model['decode_head'], in_channels=SD_CHANNELS)
    with pytest.raises(ValueError, match=r'model\.decode_head\.in_channels = \[320, 640, 1280, '
                                         r'1280\] but the diffusion backbone .* gives \[32, 32, '
                                         r'64, 64\]'):
        complete_from_backbone(model)
    model = dict(cfg.model, backbone=dict(cfg.model.backbone, pretrained=tiny_sd_folder,
                                          capture=dict(attention_strides=(8, 16))))
    head = model['decode_head']
    model['decode_head'] = dict(head, pixel_decoder=dict(
        head['pixel_decoder'], attention=dict(head['pixel_decoder']['attention'],
                                              strides=(16, 32))))
    with pytest.raises(ValueError, match=r'pixel_decoder\.attention\.strides = \[16, 32\] asks '
                                         r'for attention maps .* strides \[8, 16\]'):
        complete_from_backbone(model)
    # a written subset is kept
    model['decode_head']['pixel_decoder']['attention']['strides'] = (16, )
    done = complete_from_backbone(model)
    assert list(done['decode_head']['pixel_decoder']['attention']['strides']) == [16]
    model['data_preprocessor'] = dict(model['data_preprocessor'], size_divisor=32)
    with pytest.raises(ValueError, match=r'size_divisor = 32 is not a multiple .* 64'):
        complete_from_backbone(model)
    # a fixed pad size excludes a divisor (mmseg's stack_batch asserts one of the two)
    model['data_preprocessor'] = dict(model['data_preprocessor'], size_divisor=None,
                                      size=(128, 192))
    assert complete_from_backbone(model)['data_preprocessor']['size_divisor'] is None
    model['data_preprocessor']['size'] = (128, 100)
    with pytest.raises(ValueError, match=r'size = \[128, 100\] is not a multiple .* 64'):
        complete_from_backbone(model)


def test_other_backbones_are_left_alone():
    model = dict(backbone=dict(type='mmseg.ResNetV1c', depth=50),
                 decode_head=dict(type='mmseg.ASPPHead', in_channels=2048))
    assert complete_from_backbone(model) == model
