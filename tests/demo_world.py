"""Small demo worlds for the tests, and building a dataset config in a toolbox scope."""
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
    from projects.demo_world.demo_world import default_splits, make_sample
    spec = default_splits()[split]
    return make_sample(SMALL_WORLD['seed'], split, index, domain=spec.domain,
                       class_frequency=spec.class_frequency)


@pytest.fixture(scope='session')
def small_world(tmp_path_factory):
    """Root folder of a ~30-image demo world (seed 3, 64x64)."""
    from projects.demo_world.demo_world import generate_world
    root = tmp_path_factory.mktemp('demo_world')
    generate_world(str(root), progress=False, **SMALL_WORLD)
    return str(root)


@pytest.fixture(scope='module')
def tiny_world(tmp_path_factory):
    """8 + 8 labelled training images and 4 + 4 test images (64x64), one world per module."""
    from projects.demo_world.demo_world import generate_world
    root = str(tmp_path_factory.mktemp('world'))
    generate_world(root, seed=5, splits=['train_100', 'train_large', 'test', 'test_shifted'],
                   train_100=8, train_large=8, test=4, test_shifted=4, progress=False)
    return root
