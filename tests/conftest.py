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
