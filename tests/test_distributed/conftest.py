"""Fixtures of the distributed tests, built once per session: toy
segmentation data, a tiny semantic P-Decoder checkpoint, a reference generated dataset
(one process) and a small demo world."""
import os.path as osp
import sys

import pytest

from tests.test_distributed.common import GENERATE_CFG, NUM_SAMPLES, failure, generate_options, run


@pytest.fixture(scope='session')
def toy_seg(tmp_path_factory):
    """8 toy images (64x64, classes background/cone/ball) in mmseg's layout."""
    from tests.toy_data import make_toy_seg_dataset
    return make_toy_seg_dataset(str(tmp_path_factory.mktemp('toy_seg')), num=8, size=64)


@pytest.fixture(scope='session')
def semantic_checkpoint(tmp_path_factory, tiny_sd_folder, toy_seg):
    """configs/pdecoder/semantic_tiny.py trained for 2 iterations (enough to decode)."""
    from mmengine.runner import Runner

    from tests.pdecoder_cfg import tiny_pdecoder_cfg
    work = str(tmp_path_factory.mktemp('pdecoder'))
    cfg = tiny_pdecoder_cfg('pdecoder/semantic_tiny.py', toy_seg, work, tiny_sd_folder, 2)
    cfg.train_cfg.val_interval = 1000
    Runner.from_cfg(cfg).train()
    return osp.join(work, 'iter_2.pth')


@pytest.fixture(scope='session')
def reference_dataset(tmp_path_factory, semantic_checkpoint, tiny_sd_folder):
    """tools/generate.py configs/generate/semantic_tiny.py, NUM_SAMPLES samples, one process:
    the bytes every distributed generation run of these tests must reproduce.

    A subprocess with the same OMP_NUM_THREADS=1 as the ranks: CPU kernels reduce in a
    thread-count-dependent order, and 1 vs 2 threads already change a few pixel values by 1
    in some of these images (measured)."""
    out = str(tmp_path_factory.mktemp('reference') / 'synth')
    result = run([sys.executable, 'tools/generate.py', GENERATE_CFG, '--num', str(NUM_SAMPLES),
                  '--out', out] + generate_options(semantic_checkpoint, tiny_sd_folder))
    assert result.returncode == 0, failure(result)
    return out


@pytest.fixture(scope='session')
def demo_world(tmp_path_factory):
    """A demo world with 8 labelled training images (split train_100) and 4 test images."""
    from projects.demo_world.demo_world import generate_world
    root = str(tmp_path_factory.mktemp('demo_world'))
    generate_world(root, seed=5, splits=['train_100', 'test'], train_100=8, test=4,
                   progress=False)
    return root
