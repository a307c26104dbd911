"""Fixtures of the mixing-config tests."""
import pytest


@pytest.fixture(scope='module')
def tiny_world(tmp_path_factory):
    """8 + 8 labelled training images and 4 + 4 test images (64x64), one world per module."""
    from mmdatasetdm.datasets.demo_world import generate_world
    root = str(tmp_path_factory.mktemp('world'))
    generate_world(root, seed=5, splits=['train_100', 'train_large', 'test', 'test_shifted'],
                   train_100=8, train_large=8, test=4, test_shifted=4, progress=False)
    return root
