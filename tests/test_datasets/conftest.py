"""Fixtures of the dataset tests: a small demo world written once per session."""
import pytest

# Small but covering every split kind: unlabelled pool, labelled default
# domain, labelled shifted domain.
SMALL_WORLD = dict(seed=3, size=64, pool=4, train_100=4, train_large=0, test=16, test_shifted=6)


@pytest.fixture(scope='session')
def small_world(tmp_path_factory):
    """Root folder of a ~30-image demo world (seed 3, 64x64)."""
    from mmdatasetdm.datasets.demo_world import generate_world
    root = tmp_path_factory.mktemp('demo_world')
    generate_world(str(root), progress=False, **SMALL_WORLD)
    return str(root)
