"""The on-disk feature cache of DiffusionBackbone: hits, invalidation, corruption,
and a P-Decoder training run that reads every feature of its second epoch from disk."""
import os
import os.path as osp
import shutil

import pytest
import torch
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner

from mmdatasetdm.fileio import is_temp_name, json_sha256
from mmdatasetdm.models.backbones import feature_cache as fc
from mmdatasetdm.registry import MODELS
from tests.toy_data import make_toy_seg_dataset

CONFIG = osp.join(osp.dirname(__file__), '..', '..', '..', 'configs', 'pdecoder',
                  'semantic_tiny.py')
PROMPT, WORDS = 'a photo of a car', ['car']


def _backbone(folder, cache_dir, **kwargs):
    cfg = dict(type='mmdatasetdm.DiffusionBackbone', pretrained=folder, timestep=1,
               class_names=['person', 'car'], feature_cache=dict(dir=str(cache_dir)))
    cfg.update(kwargs)
    return MODELS.build(cfg)


def _images(n, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 3, 64, 64, generator=g) * 2 - 1


def _assert_same(a, b):
    assert a.strides == b.strides and sorted(a.attention) == sorted(b.attention)
    for la, lb in zip(a.levels, b.levels):
        assert la.name == lb.name and torch.equal(la.features, lb.features)
    for s in a.attention:
        assert torch.equal(a.attention[s], b.attention[s])
    assert a.token_indices == b.token_indices and a.prompts == b.prompts
    assert a.timestep == b.timestep


@pytest.fixture(scope='module')
def cached(tiny_sd_folder, tmp_path_factory):
    backbone = _backbone(tiny_sd_folder, tmp_path_factory.mktemp('cache'))
    yield backbone
    backbone.extractor.close()


def test_second_call_hits_and_returns_the_stored_fp16_values(cached):
    x = _images(2)
    before = dict(cached.cache_stats)
    first = cached(x, prompts=[PROMPT] * 2, words=[WORDS] * 2)
    assert cached.num_forwards == before['forwards'] + 1
    assert cached.feature_cache.misses == before['misses'] + 2
    second = cached(x, prompts=[PROMPT] * 2, words=[WORDS] * 2)
    assert cached.num_forwards == before['forwards'] + 1  # no UNet pass
    assert cached.feature_cache.hits == before['hits'] + 2
    _assert_same(first, second)  # hit == miss output, bit for bit
    assert all(lv.features.dtype == torch.float32 for lv in second.levels)
    assert second.token_indices == [{'car': [5]}] * 2
    # the stored values are the computed ones rounded to fp16, nothing else
    exact = cached._compute(x, [PROMPT] * 2, [WORDS] * 2)
    for le, ls in zip(exact.levels, second.levels):
        torch.testing.assert_close(ls.features, le.features.half().float(), rtol=0, atol=0)
    for s in exact.attention:
        torch.testing.assert_close(second.attention[s], exact.attention[s].half().float(),
                                   rtol=0, atol=0)
    # a batch mixing a stored and a new image computes the new one only
    images_before = cached.num_images_computed
    mixed = cached(torch.cat([_images(1, seed=5), x[1:]]), prompts=[PROMPT] * 2,
                   words=[WORDS] * 2)
    assert cached.num_images_computed == images_before + 1
    _assert_same(mixed.select([1]), second.select([1]))


def test_prompt_words_pixels_and_timestep_invalidate(cached, tiny_sd_folder):
    x = _images(1, seed=1)
    cached(x, prompts=[PROMPT], words=[WORDS])
    stats = cached.feature_cache

    def misses_of(**call):
        before = stats.misses
        cached(call.get('x', x), prompts=[call.get('prompt', PROMPT)],
               words=[call.get('words', WORDS)])
        return stats.misses - before

    assert misses_of() == 0
    assert misses_of(prompt='a photo of a person') == 1
    assert misses_of(words=['photo']) == 1
    assert misses_of(x=x.flip(-1)) == 1  # an augmented view is a new entry
    x2 = x.clone()
    x2[0, 0, 0, 0] = torch.nextafter(x2[0, 0, 0, 0], torch.tensor(2.0))  # one ulp
    assert misses_of(x=x2) == 1
    # a new backbone on the same folder: same config hits, another timestep misses
    same = _backbone(tiny_sd_folder, cached.feature_cache.dir)
    same(x, prompts=[PROMPT], words=[WORDS])
    assert same.cache_stats['hits'] == 1 and same.num_forwards == 0
    other_t = _backbone(tiny_sd_folder, cached.feature_cache.dir, timestep=2)
    other_t(x, prompts=[PROMPT], words=[WORDS])
    assert other_t.cache_stats['misses'] == 1 and other_t.num_forwards == 1
    before = cached.feature_cache.misses
    cached.extractor.timestep = 3  # changed in place: still invalidates
    try:
        cached(x, prompts=[PROMPT], words=[WORDS])
    finally:
        cached.extractor.timestep = 1
    assert cached.feature_cache.misses == before + 1
    for backbone in (same, other_t):
        backbone.extractor.close()


def test_model_fingerprint_follows_the_weight_files(tiny_sd_folder, tmp_path):
    folder = str(tmp_path / 'sd')
    shutil.copytree(tiny_sd_folder, folder)
    weights = osp.join(folder, 'unet', 'diffusion_pytorch_model.safetensors')
    stat, content = fc.model_fingerprint(folder), fc.model_fingerprint(folder, 'content')
    st = os.stat(weights)
    os.utime(weights, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert fc.model_fingerprint(folder) != stat
    assert fc.model_fingerprint(folder, 'content') == content  # same bytes
    with open(weights, 'r+b') as f:
        f.seek(-1, os.SEEK_END)
        last = f.read(1)
        f.seek(-1, os.SEEK_END)
        f.write(bytes([last[0] ^ 1]))
    assert fc.model_fingerprint(folder, 'content') != content
    with pytest.raises(FileNotFoundError, match='not a directory'):
        fc.model_fingerprint(str(tmp_path / 'missing'))


@pytest.mark.parametrize('damage', ['truncate', 'flip_byte', 'garbage'])
def test_corrupt_entry_is_detected_named_and_recomputed(cached, damage, monkeypatch):
    x = _images(1, seed=10 + len(damage))
    good = cached(x, prompts=[PROMPT], words=[WORDS])
    key = fc.entry_key(x[0], PROMPT, WORDS, json_sha256(cached.cache_config()))
    path = cached.feature_cache.path(key)
    assert osp.isfile(path)
    data = open(path, 'rb').read()
    if damage == 'truncate':
        data = data[:len(data) // 2]
    elif damage == 'flip_byte':  # in the tensor bytes: only the checksum sees it
        data = data[:-3] + bytes([data[-3] ^ 0x10]) + data[-2:]
    else:
        data = b'not a safetensors file'
    with open(path, 'wb') as f:
        f.write(data)
    messages = []
    monkeypatch.setattr(fc, 'print_log', lambda msg, **kw: messages.append(msg))
    corrupt, forwards = cached.feature_cache.corrupt, cached.num_forwards
    again = cached(x, prompts=[PROMPT], words=[WORDS])
    assert cached.feature_cache.corrupt == corrupt + 1
    assert cached.num_forwards == forwards + 1
    assert len(messages) == 1 and path in messages[0]
    _assert_same(good, again)
    # the recomputed entry replaced the damaged file
    assert cached(x, prompts=[PROMPT], words=[WORDS]) is not None
    assert cached.feature_cache.corrupt == corrupt + 1 and cached.num_forwards == forwards + 1
    assert not [n for n in os.listdir(osp.dirname(path)) if is_temp_name(n)]


def test_bad_settings_raise(tiny_sd_folder, tmp_path):
    with pytest.raises(ValueError, match='noise_seed'):
        _backbone(tiny_sd_folder, tmp_path, noise_seed=None)
    with pytest.raises(ValueError, match='dtype'):
        _backbone(tiny_sd_folder, tmp_path, feature_cache=dict(dir=str(tmp_path), dtype='int8'))
    with pytest.raises(ValueError, match='folder'):
        _backbone(tiny_sd_folder, tmp_path, feature_cache=dict(dir=''))


class _Recorder(Hook):
    """Per training iteration: the loss and the backbone's forward count."""

    def __init__(self):
        self.losses, self.forwards = [], []

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self.losses.append(float(outputs['loss'].detach()))
        self.forwards.append(runner.model.backbone.num_forwards)


def _train(tmp_path, folder, root, iters, cache=None):
    cfg = Config.fromfile(CONFIG)
    cfg.work_dir = str(tmp_path / f'work_{cache["dtype"] if cache else "plain"}')
    cfg.model.backbone.pretrained = folder
    if cache:
        cfg.model.backbone.feature_cache = cache
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.data_root = root
    cfg.train_dataloader.batch_size = 2
    cfg.train_cfg.max_iters = iters
    cfg.train_cfg.val_interval = iters + 1
    cfg.default_hooks.checkpoint.interval = iters + 1
    cfg.default_hooks.checkpoint.save_last = False
    runner = Runner.from_cfg(cfg)
    recorder = _Recorder()
    runner.register_hook(recorder)
    runner.train()
    return recorder, runner.model.backbone


def test_training_reads_later_epochs_from_disk_with_the_same_losses(tmp_path, tiny_sd_folder):
    # 2 images, batch 2: every iteration is one epoch
    root = make_toy_seg_dataset(str(tmp_path / 'data'), num=2, size=64)
    plain, _ = _train(tmp_path, tiny_sd_folder, root, iters=3)
    assert plain.forwards == [1, 2, 3]
    runs = {}
    for dtype in ('fp32', 'fp16'):
        cache = dict(dir=str(tmp_path / f'cache_{dtype}'), dtype=dtype)
        runs[dtype], backbone = _train(tmp_path, tiny_sd_folder, root, iters=3, cache=cache)
        assert runs[dtype].forwards == [1, 1, 1]  # epochs 2 and 3 run no backbone forward
        # the final validation (same 2 images, same pipeline) reads from disk too
        assert backbone.cache_stats == dict(hits=2 + 2 + 2, misses=2, corrupt=0, writes=2,
                                            forwards=1, images_computed=2)
    print('\nlosses uncached:', plain.losses, '\nlosses fp32 cache:', runs['fp32'].losses,
          '\nlosses fp16 cache:', runs['fp16'].losses)
    # fp32 storage is bit-exact: the cache itself changes nothing
    assert runs['fp32'].losses == plain.losses
    # fp16 storage (the default) rounds features by <= 2**-11 relative
    torch.testing.assert_close(torch.tensor(runs['fp16'].losses), torch.tensor(plain.losses),
                               rtol=2e-3, atol=1e-4)
