"""Fixtures of the dataset tests: a small demo world written once per session."""
import pytest

# Small but covering every split kind: unlabelled pool, labelled default
# domain, labelled shifted domain.
SMALL_WORLD = dict(seed=3, size=64, pool=4, train_100=4, train_large=0, test=16, test_shifted=6)


def build_dataset(cfg, scope):
    """Build a dataset config from the registry under the toolbox ``scope``."""
    from mmengine.registry import init_default_scope

    from mmdatasetdm.registry import DATASETS
    init_default_scope(scope)
    return DATASETS.build(cfg)


def small_world_sample(split, index):
    """The sample the generator writes as ``index`` of ``split`` of the small world."""
    from mmdatasetdm.datasets.demo_world import make_sample
    from mmdatasetdm.datasets.demo_world.writer import default_splits
    spec = default_splits()[split]
    return make_sample(SMALL_WORLD['seed'], split, index, domain=spec.domain,
                       class_frequency=spec.class_frequency)


@pytest.fixture(scope='session')
def small_world(tmp_path_factory):
    """Root folder of a ~30-image demo world (seed 3, 64x64)."""
    from mmdatasetdm.datasets.demo_world import generate_world
    root = tmp_path_factory.mktemp('demo_world')
    generate_world(str(root), progress=False, **SMALL_WORLD)
    return str(root)
