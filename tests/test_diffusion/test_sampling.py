import numpy as np
import pytest
import torch

from mmdatasetdm.diffusion import CaptureSampler, FeatureCapture, SamplingConfig, load_components


@pytest.fixture(scope='module')
def sampler_parts(tiny_sd_folder):
    components = load_components(tiny_sd_folder)
    capture = FeatureCapture(components.unet).attach()
    yield components, capture
    capture.detach()


@pytest.mark.parametrize('scheduler,rescale', [(None, 0.0),
                                               (dict(type='DPMSolverMultistepScheduler'), 0.0),
                                               (dict(type='EulerDiscreteScheduler'), 0.0),
                                               (dict(type='PNDMScheduler', skip_prk_steps=True),
                                                0.0),
                                               (dict(type='DDIMScheduler'), 0.7)])
def test_capture_does_not_change_the_images_of_diffusers_pipeline(
        sampler_parts, tiny_sd_folder, scheduler, rescale):
    from diffusers import StableDiffusionPipeline
    components, capture = sampler_parts
    cfg = SamplingConfig(steps=4, guidance_scale=3.0, scheduler=scheduler,
                         guidance_rescale=rescale)
    sampler = CaptureSampler(components, capture, cfg)
    prompts = ['a photo of a person', 'a red cone on grass']
    batch = sampler(prompts, seeds=[11, 12], words=[['person'], ['cone']])

    plain = StableDiffusionPipeline.from_pretrained(tiny_sd_folder, safety_checker=None)
    if scheduler is not None:
        plain.scheduler = sampler.pipeline.scheduler.__class__.from_config(
            sampler.pipeline.scheduler.config)
    plain.set_progress_bar_config(disable=True)
    ref = plain(
        prompts,
        num_inference_steps=4,
        guidance_scale=3.0,
        guidance_rescale=rescale,
        output_type='np',
        generator=[torch.Generator().manual_seed(s) for s in (11, 12)]).images
    ref = (np.clip(ref, 0, 1) * 255).round().astype(np.uint8)
    assert np.array_equal(batch.images, ref)
    assert batch.images.shape == (2, 64, 64, 3)
    if rescale:  # the option reaches the pipeline: without it the images differ
        unscaled = CaptureSampler(components, capture, SamplingConfig(
            steps=4, guidance_scale=3.0, scheduler=scheduler))(prompts, seeds=[11, 12])
        assert not np.array_equal(unscaled.images, batch.images)
    # features of the conditional branch at the last step of the schedule
    assert batch.timestep == sampler.capture_timestep()
    assert batch.pyramid.batch_size == 2 and batch.pyramid.strides == [8, 16, 32, 64]
    assert batch.pyramid.token_indices == [{'person': [5]}, {'cone': [3]}]
    assert sorted(batch.pyramid.attention) == [8, 16, 32, 64]


def test_features_match_a_cond_only_pass_at_the_captured_step(sampler_parts):
    """With guidance off there is one batch: the captured features are those of the
    conditional UNet pass at that step; one image does not depend on its batch."""
    components, capture = sampler_parts
    sampler = CaptureSampler(components, capture, SamplingConfig(steps=3, guidance_scale=1.0))
    pair = sampler(['a photo of a dog', 'a blue ball'], seeds=[5, 6])
    single = sampler(['a blue ball'], seeds=[6])
    assert np.array_equal(pair.images[1], single.images[0]) or \
        np.abs(pair.images[1].astype(int) - single.images[0]).max() <= 1
    torch.testing.assert_close(pair.pyramid.levels[0].features[1],
                               single.pyramid.levels[0].features[0], atol=1e-4, rtol=1e-3)


def test_seed_count_must_match(sampler_parts):
    components, capture = sampler_parts
    with pytest.raises(ValueError, match='2 seeds for 1 prompts'):
        CaptureSampler(components, capture)(['a cat'], seeds=[1, 2])


@pytest.mark.parametrize('settings,expected', [
    (dict(), 1),                                        # the last step by default
    (dict(capture_step=0), 751),                        # an explicit index wins
    (dict(capture_step=0, capture_timestep=10), 751),
    (dict(capture_timestep=501), 501),                  # the nearest step
    (dict(capture_timestep=400), 501),                  # 400 is 99 from 501, 149 from 251
    (dict(capture_timestep=376), 251),                  # equally near 251 and 501: the lower
    (dict(capture_timestep=5000), 751),
])
def test_capture_timestep_picks_the_nearest_sampling_step(sampler_parts, settings, expected):
    components, capture = sampler_parts
    sampler = CaptureSampler(components, capture, SamplingConfig(
        steps=4, scheduler=dict(type='DDIMScheduler', steps_offset=1,
                                timestep_spacing='leading'), **settings))
    assert sampler.capture_timestep() == expected
    assert [int(t) for t in sampler.pipeline.scheduler.timesteps] == [751, 501, 251, 1]
