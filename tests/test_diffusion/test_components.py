import json
import os.path as osp

import pytest
import torch

from mmdatasetdm.diffusion import build_components, build_scheduler, load_components


def test_save_then_load_with_our_loader_and_diffusers(tiny_components, tiny_sd_folder):
    from diffusers import StableDiffusionPipeline
    with open(osp.join(tiny_sd_folder, 'model_index.json')) as f:
        index = json.load(f)
    assert index['unet'] == ['diffusers', 'UNet2DConditionModel']
    assert index['tokenizer'] == ['transformers', 'CLIPTokenizer']
    assert osp.isfile(osp.join(tiny_sd_folder, 'unet', 'diffusion_pytorch_model.safetensors'))

    loaded = load_components(tiny_sd_folder)
    for name in ('unet', 'vae', 'text_encoder'):
        ref = getattr(tiny_components, name).state_dict()
        got = getattr(loaded, name).state_dict()
        assert ref.keys() == got.keys()
        assert all(torch.equal(ref[k], got[k]) for k in ref), name
    assert type(loaded.scheduler).__name__ == 'DDIMScheduler'
    assert loaded.tokenizer.tokenize('a photo of a person') == \
        tiny_components.tokenizer.tokenize('a photo of a person')
    assert not any(p.requires_grad for m in loaded.modules() for p in m.parameters())
    assert not loaded.unet.training

    pipe = StableDiffusionPipeline.from_pretrained(tiny_sd_folder, safety_checker=None)
    assert pipe.unet.config.block_out_channels == tuple(loaded.unet.config.block_out_channels) or \
        list(pipe.unet.config.block_out_channels) == list(loaded.unet.config.block_out_channels)


def test_load_with_dtype_and_scheduler_override(tiny_sd_folder):
    comp = load_components(tiny_sd_folder, dtype='bf16',
                           scheduler=dict(type='DPMSolverMultistepScheduler'))
    assert comp.unet.dtype == torch.bfloat16
    assert type(comp.scheduler).__name__ == 'DPMSolverMultistepScheduler'
    # the folder's noise schedule is kept
    assert comp.scheduler.config.beta_schedule == 'scaled_linear'
    assert comp.scheduler.config.beta_end == pytest.approx(0.012)


def test_load_errors_name_the_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match='does not exist'):
        load_components(str(tmp_path / 'nope'))
    with pytest.raises(FileNotFoundError, match='model_index.json is missing'):
        load_components(str(tmp_path))
    (tmp_path / 'model_index.json').write_text('{}')
    with pytest.raises(FileNotFoundError, match='has no unet/ subfolder'):
        load_components(str(tmp_path))


def test_build_scheduler_rejects_unknown_type():
    with pytest.raises(ValueError, match="'NoSuchScheduler' is not a diffusers scheduler"):
        build_scheduler(dict(type='NoSuchScheduler'))


def test_build_checks_text_width():
    with pytest.raises(ValueError, match='cross_attention_dim'):
        build_components(vocabulary=['a cat'], unet=dict(cross_attention_dim=16))
