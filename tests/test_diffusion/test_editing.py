"""Prompt-to-Prompt editing (mmdatasetdm.diffusion.editing) on the tiny SD model."""
import numpy as np
import pytest
import torch

from mmdatasetdm.diffusion import (CaptureSampler, FeatureCapture, InjectionWindow, SamplingConfig,
                                   load_components, prompt_to_prompt, sample_edit, token_alignment)
from mmdatasetdm.diffusion.editing import AttentionInjection, PromptToPromptProcessor


@pytest.fixture(scope='module')
def sampler(tiny_sd_folder):
    components = load_components(tiny_sd_folder)
    capture = FeatureCapture(components.unet).attach()
    yield CaptureSampler(components, capture, SamplingConfig(
        steps=6, guidance_scale=3.0, scheduler=dict(type='DPMSolverMultistepScheduler')))
    capture.detach()


def test_an_identical_prompt_reproduces_the_original_byte_for_byte(sampler):
    prompt = 'a red cone on grass'
    batch = sample_edit(sampler, prompt, prompt, seed=5, window=InjectionWindow(1.0, 1.0))
    assert batch.images.shape == (2, 64, 64, 3)
    assert np.array_equal(batch.images[0], batch.images[1])
    for level in batch.pyramid.levels:
        assert torch.equal(level.features[0], level.features[1])


def test_the_source_is_the_plain_sample_and_the_edit_changes_the_image(sampler):
    plain = sampler(['a red cone on grass'], [5])
    window = InjectionWindow(cross_steps=0.5, self_steps=0.3)
    batch = sample_edit(sampler, 'a red cone on grass', 'a blue ball on grass', 5, window)
    # inside the window the source's attention is softmax(QK^T)V instead of the fused
    # kernel: float rounding only
    diff = np.abs(batch.images[0].astype(int) - plain.images[0].astype(int))
    assert diff.max() <= 2, diff.max()
    assert not np.array_equal(batch.images[0], batch.images[1])
    # without injection the edited row is the edited prompt's plain sample
    free = sample_edit(sampler, 'a red cone on grass', 'a blue ball on grass', 5,
                       InjectionWindow(0.0, 0.0))
    alone = sampler(['a blue ball on grass'], [5])
    assert np.array_equal(free.images[1], alone.images[0])
    # injection pulls the edit towards the source's layout
    far = np.abs(free.images[1].astype(float) - free.images[0]).mean()
    near = np.abs(batch.images[1].astype(float) - batch.images[0]).mean()
    assert near < far, (near, far)


def test_processors_and_capture_are_restored(sampler):
    unet = sampler.components.unet
    before = {name: type(p) for name, p in unet.attn_processors.items()}
    hooks = len(unet._forward_pre_hooks)
    injection = AttentionInjection(4, InjectionWindow(), *token_alignment(
        sampler.components.tokenizer, 'a cone', 'a ball'))
    with prompt_to_prompt(unet, injection, sampler.capture):
        inside = unet.attn_processors
        # the capture stays outermost and wraps the editing processors
        assert all(type(p).__name__ == 'CrossAttentionRecorder' for p in inside.values())
        assert all(isinstance(p.inner, PromptToPromptProcessor) for p in inside.values())
    assert {name: type(p) for name, p in unet.attn_processors.items()} == before
    assert len(unet._forward_pre_hooks) == hooks and sampler.capture.attached
    # an error inside restores them too
    with pytest.raises(RuntimeError):
        with prompt_to_prompt(unet, injection, sampler.capture):
            raise RuntimeError('stop')
    assert {name: type(p) for name, p in unet.attn_processors.items()} == before


def test_token_alignment(tiny_sd_folder):
    tokenizer = load_components(tiny_sd_folder).tokenizer
    ids = tokenizer('a red cone on grass').input_ids
    mapping, mapped = token_alignment(tokenizer, 'a red cone on grass', 'a blue cone on grass')
    # a word swap: every position maps to itself, the swapped word to the replaced one
    assert mapped.all()
    assert torch.equal(mapping, torch.eye(tokenizer.model_max_length))
    # an inserted word keeps its own map; the words after it take the source's shifted maps
    mapping, mapped = token_alignment(tokenizer, 'a cone on grass', 'a red cone on grass')
    red = tokenizer('a red', add_special_tokens=False).input_ids
    assert len(red) == 2 and len(ids) > 4
    assert not mapped[2] and mapped[:2].all() and mapped[3]
    assert mapping[2, 3] == 1.0  # 'cone' (source position 2) -> target position 3
    with pytest.raises(ValueError, match='cross_steps must be a fraction'):
        InjectionWindow(cross_steps=1.5)
