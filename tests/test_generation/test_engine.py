"""The generation engine end to end on the tiny SD model and a tiny semantic P-Decoder."""
import os
import os.path as osp
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from mmdatasetdm.fileio import read_manifest, read_semantic, tree_sha256
from tests.test_generation.conftest import (GENERATE_CFG, PDECODER_CFG, ROOT, generate_cfg,
                                            make_engine)


def _hashes(folder):
    """SHA-256 of every file of a generated dataset, the per-rank shards excepted."""
    return tree_sha256(folder, exclude=('shards', ))


def test_one_rank_and_two_ranks_write_the_same_dataset(tmp_path, semantic_checkpoint,
                                                       tiny_sd_folder):
    cfg = generate_cfg(semantic_checkpoint, tiny_sd_folder)
    engine = make_engine(cfg, num=5)
    single = str(tmp_path / 'single')
    stats = engine.run(single, progress=False)
    assert stats == dict(generated=5, accepted=5, skipped=0)
    summary = engine.merge(single)
    assert summary['num_samples'] == summary['num_accepted'] == 5

    lines = read_manifest(osp.join(single, 'manifest.jsonl'))
    assert [line['index'] for line in lines] == [0, 1, 2, 3, 4]
    first = lines[0]
    assert first['scheduler'] == 'DDIMScheduler' and first['steps'] == 4
    assert first['guidance'] == 3.0 and first['timestep'] == engine.sampler.capture_timestep()
    assert first['decoder'] == engine.decoder.weights_hash
    assert first['decoder_timestep'] == engine.decoder.backbone.extractor.timestep
    assert len({line['seed'] for line in lines}) == 5  # seeds from (base seed, index)
    assert all(line['classes'] and set(line['classes']) <= {'cone', 'ball'} for line in lines)
    labels = read_semantic(osp.join(single, first['files']['semantic']))
    assert labels.shape == (64, 64) and set(np.unique(labels)) <= {0, 1, 2, 255}

    double = str(tmp_path / 'double')
    assert engine.batches(0, 2) == [[0, 1], [4]] and engine.batches(1, 2) == [[2, 3]]
    engine.run(double, rank=1, world_size=2, progress=False)
    engine.run(double, rank=0, world_size=2, progress=False)
    engine.merge(double)
    assert _hashes(single) == _hashes(double)


@pytest.mark.parametrize('decoder_timestep,sampling,expected', [
    (1, dict(), 1),                            # DatasetDM with SD: the last step, t=1
    (500, dict(), 501),                        # the step nearest the decoder's timestep
    (500, dict(capture_step=-1), 1),           # an explicit step wins
    (500, dict(capture_timestep=260), 251),
])
def test_features_are_read_at_the_decoders_timestep(semantic_checkpoint, tiny_sd_folder,
                                                    decoder_timestep, sampling, expected):
    cfg = generate_cfg(semantic_checkpoint, tiny_sd_folder)
    cfg.decoder.cfg_options['model.backbone.timestep'] = decoder_timestep
    cfg.sampling.update(sampling)
    engine = make_engine(cfg, num=1)
    assert engine.sampler.capture_timestep() == expected
    assert [int(t) for t in engine.sampler.pipeline.scheduler.timesteps] == [751, 501, 251, 1]


def test_confidence_maps_are_the_filters_confidence(tmp_path, semantic_checkpoint,
                                                    tiny_sd_folder):
    """writer.confidence=True: each accepted mask gets the per-pixel confidence that the
    min_confidence filter thresholds, and whose mean is the manifest's mean_confidence: a run
    at a threshold ignores exactly the pixels whose map is below it."""
    from mmdatasetdm.fileio import read_confidence
    cfg = generate_cfg(semantic_checkpoint, tiny_sd_folder,
                       **{'filters.require_prompted': False, 'writer.confidence': True})
    out = str(tmp_path / 'conf')
    engine = make_engine(cfg, num=3)
    engine.run(out, progress=False)
    engine.merge(out)
    lines = read_manifest(out)
    maps = []
    for line in lines:
        assert line['files']['confidence'] == f'confidence/{line["index"]:08d}.png'
        maps.append(read_confidence(osp.join(out, line['files']['confidence'])))
        assert maps[-1].mean() == pytest.approx(line['scores']['mean_confidence'], abs=1 / 510)
    # a threshold half-way between two stored levels: every pixel's true confidence lies on
    # one side of it (a stored level is within 1/510 of the true value)
    levels = np.unique(np.concatenate([m.ravel() for m in maps]))
    assert len(levels) >= 2
    k = len(levels) // 2
    threshold = float(levels[k - 1] + levels[k]) / 2
    cfg.writer.confidence = False
    cfg.filters.min_confidence = threshold
    cut = str(tmp_path / 'cut')
    engine = make_engine(cfg, num=3)
    engine.run(cut, progress=False)
    engine.merge(cut)
    ignored_pixels = 0
    for line, other, confidence in zip(lines, read_manifest(cut), maps):
        assert 'confidence' not in other['files']
        labels = read_semantic(osp.join(out, line['files']['semantic']))
        kept = read_semantic(osp.join(cut, other['files']['semantic']))
        ignored = kept == 255
        np.testing.assert_array_equal(ignored, confidence < threshold)
        np.testing.assert_array_equal(kept[~ignored], labels[~ignored])
        ignored_pixels += int(ignored.sum())
    # exactly the pixels stored at the lower levels: some, not all (both levels occur)
    assert ignored_pixels == sum(int((m <= levels[k - 1]).sum()) for m in maps)
    assert ignored_pixels != sum(m.size for m in maps)


def test_resume_after_partial_run(tmp_path, semantic_checkpoint, tiny_sd_folder):
    cfg = generate_cfg(semantic_checkpoint, tiny_sd_folder)
    engine = make_engine(cfg, num=4)
    full = str(tmp_path / 'full')
    engine.run(full, progress=False)
    engine.merge(full)
    part = str(tmp_path / 'part')
    engine.run(part, rank=0, world_size=2, progress=False)  # batches [0, 1] only
    with pytest.raises(FileExistsError, match='already holds 2 finished samples'):
        engine.run(part, progress=False)
    stats = engine.run(part, resume=True, progress=False)
    assert stats == dict(generated=2, accepted=2, skipped=2)
    engine.merge(part)
    assert _hashes(full) == _hashes(part)


def test_bad_inputs_are_named(tmp_path, semantic_checkpoint, tiny_sd_folder):
    cfg = generate_cfg(semantic_checkpoint, tiny_sd_folder)
    with pytest.raises(
            ValueError, match=r"prompt classes \['zebra'\] are not classes of the decoder"):
        bad = generate_cfg(semantic_checkpoint, tiny_sd_folder)
        bad.prompts.source.classes = ['cone', 'zebra']
        bad.prompts.source.attributes = {}
        make_engine(bad)
    with pytest.raises(ValueError, match='is a semantic decoder but the generation config asks for '
                       "'instance'"):
        make_engine(cfg, task='instance')
    with pytest.raises(FileNotFoundError, match='checkpoint .*nope.pth does not exist'):
        make_engine(generate_cfg(str(tmp_path / 'nope.pth'), tiny_sd_folder))
    prompt_file = tmp_path / 'prompts.txt'
    prompt_file.write_text('')
    with pytest.raises(ValueError, match='is empty'):
        empty = generate_cfg(semantic_checkpoint, tiny_sd_folder)
        empty.prompts.source = dict(type='PromptFile', path=str(prompt_file),
                                    classes=['cone', 'ball'])
        make_engine(empty)
    out = str(tmp_path / 'out')
    make_engine(cfg, num=2).run(out, progress=False)
    other = generate_cfg(semantic_checkpoint, tiny_sd_folder)
    other.sampling.steps = 5
    with pytest.raises(ValueError, match='holds a shard of another run'):
        make_engine(other, num=2).run(out, resume=True, progress=False)


@pytest.mark.slow
def test_cli_killed_with_sigkill_then_resumed(tmp_path, semantic_checkpoint, tiny_sd_folder):
    """SIGKILL halfway, then --resume: the same files as an uninterrupted run."""
    opts = ['--cfg-options', f'decoder.checkpoint={semantic_checkpoint}',
            f'decoder.cfg_options.model.backbone.pretrained={tiny_sd_folder}',
            f'decoder.config={PDECODER_CFG}', 'batch_size=1']
    env = dict(os.environ, PYTHONPATH=ROOT)
    full = str(tmp_path / 'full')
    subprocess.run([sys.executable, 'tools/generate.py', GENERATE_CFG, '--num', '6', '--out', full]
                   + opts, cwd=ROOT, env=env, check=True, capture_output=True)
    killed = str(tmp_path / 'killed')
    proc = subprocess.Popen([sys.executable, 'tools/generate.py', GENERATE_CFG, '--num', '6',
                             '--out', killed] + opts, cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    parts = osp.join(killed, 'shards', 'rank00000', 'parts')
    deadline = time.time() + 300
    while time.time() < deadline:
        if osp.isdir(parts) and len(os.listdir(parts)) >= 2:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done = len(os.listdir(parts))
    assert 2 <= done < 6, done
    assert not osp.exists(osp.join(killed, 'manifest.jsonl'))
    out = subprocess.run([sys.executable, 'tools/generate.py', GENERATE_CFG, '--num', '6', '--out',
                          killed, '--resume'] + opts, cwd=ROOT, env=env, check=True,
                         capture_output=True, text=True)
    assert f'"skipped": {done}' in out.stdout
    assert _hashes(full) == _hashes(killed)
    lines = read_manifest(osp.join(killed, 'manifest.jsonl'))
    assert [line['index'] for line in lines] == list(range(6))


@pytest.mark.slow
def test_torchrun_two_ranks_equal_one_process(tmp_path, semantic_checkpoint, tiny_sd_folder):
    """tools/dist_generate.sh with 2 gloo ranks writes the bytes of a 1-process run,
    and the merged COCO-free semantic dataset has one manifest."""
    opts = ['--cfg-options', f'decoder.checkpoint={semantic_checkpoint}',
            f'decoder.cfg_options.model.backbone.pretrained={tiny_sd_folder}',
            f'decoder.config={PDECODER_CFG}']
    env = dict(os.environ, PYTHONPATH=ROOT, PYTHON=sys.executable, PORT='29561',
               OMP_NUM_THREADS='1')
    single = str(tmp_path / 'single')
    subprocess.run([sys.executable, 'tools/generate.py', GENERATE_CFG, '--num', '5', '--out',
                    single] + opts, cwd=ROOT, env=env, check=True, capture_output=True)
    double = str(tmp_path / 'double')
    out = subprocess.run(['bash', 'tools/dist_generate.sh', GENERATE_CFG, '2', '--num', '5',
                          '--out', double] + opts, cwd=ROOT, env=env, capture_output=True,
                         text=True)
    assert out.returncode == 0, out.stderr[-3000:]
    assert '[rank 0/2]' in out.stdout and '[rank 1/2]' in out.stdout
    assert sorted(os.listdir(osp.join(double, 'shards'))) == ['rank00000', 'rank00001']
    assert _hashes(single) == _hashes(double)


def test_auto_dtype_follows_the_decoder_device(monkeypatch, semantic_checkpoint, tiny_sd_folder):
    """A P-Decoder config's dtype='auto' means fp16 on a GPU: a decoder run on the CPU of a
    machine that has GPUs (tools/generate.py --device cpu) builds its frozen model in fp32, and
    without the training config's feature cache."""
    import torch

    from mmdatasetdm.generation.decoder import PerceptionDecoder
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: True)  # a GPU host
    decoder = PerceptionDecoder(
        config=PDECODER_CFG, checkpoint=semantic_checkpoint,
        cfg_options={'model.backbone.pretrained': tiny_sd_folder, 'model.backbone.dtype': 'auto',
                     'model.backbone.feature_cache.dir': '/nonexistent/cache'},
        device='cpu')
    assert decoder.backbone.components.unet.dtype == torch.float32
    # generated images never repeat: the training config's feature cache is not used
    assert decoder.backbone.feature_cache is None
