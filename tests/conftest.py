"""Shared fixtures: a tiny Stable-Diffusion-architecture model, built once."""
import pytest

from tests.demo_world import small_world, tiny_world  # noqa: F401  (demo-world fixtures)

# Words the tiny tokenizer learns whole (class names of the tests' prompts).
TINY_VOCABULARY = ['a photo of a person', 'a photo of a car', 'a photo of a dog',
                   'a photo of a cat and a person on grass', 'a red cone', 'a blue ball'] * 4


@pytest.fixture(scope='session')
def tiny_components():
    from mmdatasetdm.diffusion import build_components
    return build_components(vocabulary=TINY_VOCABULARY, seed=0)


@pytest.fixture(scope='session')
def tiny_sd_folder(tiny_components, tmp_path_factory):
    """A diffusers folder written by diffusers' own ``save_pretrained``."""
    folder = tmp_path_factory.mktemp('tiny_sd')
    tiny_components.save_pretrained(str(folder))
    return str(folder)


@pytest.fixture(scope='session')
def demo_architecture_sd(tmp_path_factory):
    """A diffusers folder with the shipped demo model's architecture and random weights."""
    from mmdatasetdm.diffusion import build_components
    from projects.tiny_sd import tiny_sd as training
    sd = str(tmp_path_factory.mktemp('demo_sd') / 'sd')
    build_components(unet=training.DEMO_UNET_CONFIG, vae=training.DEMO_VAE_CONFIG,
                     text_encoder=training.DEMO_TEXT_ENCODER_CONFIG,
                     scheduler=training.DEMO_SCHEDULER_CONFIG,
                     vocabulary=['a photo of a person a car a cone a tree a ball on grass']
                     ).save_pretrained(sd)
    return sd
