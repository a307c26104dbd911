"""Generation refuses to mix runs or overwrite data, and says why in a few lines.

Each test here failed before the run identity, the output-folder check and the
other guards existed (rc 0 and mixed or overwritten data, or an error that named
no file)."""
import json
import os
import os.path as osp
import shutil
import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch

from mmdatasetdm.fileio import atomic_path, read_json, read_manifest
from mmdatasetdm.generation import PromptSampler
from tests.test_generation.conftest import (GENERATE_CFG, PDECODER_CFG, ROOT, generate_cfg,
                                            make_engine)


def _run(cfg, out, num=2, resume=False):
    engine = make_engine(cfg, num=num)
    engine.run(out, resume=resume, progress=False)
    return engine


# ------------------------------------------------------------------ run identity

def test_fingerprint_is_the_weights_not_the_folder(tmp_path, tiny_sd_folder):
    from mmdatasetdm.diffusion import load_components
    copy = str(tmp_path / 'copy')
    shutil.copytree(tiny_sd_folder, copy)
    os.utime(osp.join(copy, 'unet', 'config.json'), (0, 0))  # other path, other file times
    a, b = load_components(tiny_sd_folder), load_components(copy)
    assert a.fingerprint() == b.fingerprint()
    with torch.no_grad():
        next(b.unet.parameters()).view(-1)[0] += 1e-3
    assert a.fingerprint() != b.fingerprint()


def test_resume_with_another_diffusion_model_in_the_same_folder_is_refused(
        tmp_path, semantic_checkpoint, tiny_sd_folder):
    from mmdatasetdm.diffusion import load_components
    model = str(tmp_path / 'sd')
    shutil.copytree(tiny_sd_folder, model)
    out = str(tmp_path / 'out')
    engine = _run(generate_cfg(semantic_checkpoint, model), out)
    engine.merge(out)
    assert read_json(osp.join(out, 'dataset.json'))['config']['diffusion_model'] == \
        engine.decoder.backbone.components.fingerprint()
    # the same folder path, one UNet weight changed
    changed = load_components(model)
    with torch.no_grad():
        next(changed.unet.parameters()).view(-1)[0] += 1e-2
    changed.save_pretrained(model)
    # the merged set says it came from another model ...
    with pytest.raises(FileExistsError) as err:
        _run(generate_cfg(semantic_checkpoint, model), out, num=2, resume=True)
    assert 'dataset.json is from another run' in str(err.value)
    assert 'diffusion_model:' in str(err.value) and len(str(err.value).splitlines()) <= 4
    # ... and so does each shard, in a few lines that name the field (not two whole configs)
    for name in ('dataset.json', 'manifest.jsonl', 'images', 'semantic'):
        path = osp.join(out, name)
        shutil.rmtree(path) if osp.isdir(path) else os.remove(path)
    with pytest.raises(ValueError) as err:
        _run(generate_cfg(semantic_checkpoint, model), out, num=2, resume=True)
    message = str(err.value)
    assert 'config.diffusion_model:' in message and 'holds a shard of another run' in message
    assert len(message.splitlines()) <= 4 and len(message) < 800, message


def test_resume_after_editing_the_prompt_file_is_refused(tmp_path, semantic_checkpoint,
                                                         tiny_sd_folder):
    prompts = tmp_path / 'prompts.txt'
    prompts.write_text('a red cone on grass\na blue ball on sand\n')
    cfg = generate_cfg(semantic_checkpoint, tiny_sd_folder)
    cfg.prompts.source = dict(type='PromptFile', path=str(prompts), classes=['cone', 'ball'])
    out = str(tmp_path / 'out')
    _run(cfg, out)
    prompts.write_text('a red cone on grass\na green ball on a road\n')
    with pytest.raises(ValueError, match=r'config\.prompt_content\.file_sha256: '):
        _run(cfg, out, resume=True)


def test_identity_holds_the_decoder_weights_and_library_versions(semantic_checkpoint,
                                                                 tiny_sd_folder, tmp_path):
    from mmdatasetdm.utils import library_versions
    engine = make_engine(generate_cfg(semantic_checkpoint, tiny_sd_folder), num=1)
    assert engine.identity['versions'] == library_versions()
    assert engine.identity['versions']['diffusers'] != 'not installed'
    # a copy of the checkpoint (same weights, other file and timestamp) is the same decoder
    ckpt = torch.load(semantic_checkpoint, map_location='cpu', weights_only=True)
    ckpt['meta']['time'] = 'another time'
    torch.save(ckpt, tmp_path / 'copy.pth')
    copy = make_engine(generate_cfg(str(tmp_path / 'copy.pth'), tiny_sd_folder), num=1)
    assert copy.identity['decoder'] == engine.identity['decoder']
    ckpt['state_dict'][next(iter(ckpt['state_dict']))] += 1
    torch.save(ckpt, tmp_path / 'changed.pth')
    changed = make_engine(generate_cfg(str(tmp_path / 'changed.pth'), tiny_sd_folder), num=1)
    assert changed.identity['decoder'] != engine.identity['decoder']


# ------------------------------------------------------------------ output folder

def test_a_folder_holding_another_dataset_is_refused_then_overwritten(
        tmp_path, semantic_checkpoint, tiny_sd_folder):
    cfg = generate_cfg(semantic_checkpoint, tiny_sd_folder)
    other = str(tmp_path / 'other')
    engine = _run(cfg, other)
    engine.merge(other)
    shutil.rmtree(osp.join(other, 'shards'))  # a finished set, copied without its shards
    before = {f: open(osp.join(other, f), 'rb').read() for f in ('manifest.jsonl',
                                                                 'dataset.json')}
    with pytest.raises(FileExistsError, match='(?s)without the shards of this run.*--overwrite'):
        _run(cfg, other)
    assert {f: open(osp.join(other, f), 'rb').read() for f in before} == before  # untouched
    # a foreign file is refused too
    foreign = str(tmp_path / 'foreign')
    os.makedirs(foreign)
    open(osp.join(foreign, 'notes.txt'), 'w').write('mine')
    # an atomic write cut short (a killed trainer's consumer.json) is not a foreign file
    open(osp.join(foreign, '.consumer.json.tmp.123.abcd'), 'w').write('{')
    with pytest.raises(FileExistsError, match=r"holds \['notes.txt'\], which"):
        _run(cfg, foreign)
    # a merged set of another run (other sampling) beside its shards
    cfg.sampling.steps = 3
    stats_dir = str(tmp_path / 'merged')
    _run(generate_cfg(semantic_checkpoint, tiny_sd_folder), stats_dir)
    make_engine(generate_cfg(semantic_checkpoint, tiny_sd_folder), num=2).merge(stats_dir)
    with pytest.raises(FileExistsError, match=r'(?s)dataset\.json is from another run.*sampling'):
        _run(cfg, stats_dir, resume=True)
    # --overwrite empties the folder first: nothing stale stays beside the new set
    removed = make_engine(cfg, num=2).empty_output(other)
    assert removed == ['dataset.json', 'images', 'manifest.jsonl', 'semantic']
    _run(cfg, other)
    assert sorted(os.listdir(other)) == ['shards']


def _tool(args, **env):
    return subprocess.run([sys.executable, 'tools/generate.py', GENERATE_CFG] + args, cwd=ROOT,
                          env=dict(os.environ, PYTHONPATH=ROOT, OMP_NUM_THREADS='1', **env),
                          capture_output=True, text=True, timeout=600)


def test_cli_refuses_zero_samples_and_overwrites_on_request(tmp_path, semantic_checkpoint,
                                                            tiny_sd_folder):
    opts = ['--cfg-options', f'decoder.checkpoint={semantic_checkpoint}',
            f'decoder.cfg_options.model.backbone.pretrained={tiny_sd_folder}',
            f'decoder.config={PDECODER_CFG}', 'batch_size=1']
    out = str(tmp_path / 'out')
    for num in ('0', '-3'):
        done = _tool(['--num', num, '--out', out] + opts)
        assert done.returncode != 0 and f'must be a positive number of samples, got {num}' in \
            done.stderr, done.stderr[-2000:]
    assert not osp.exists(out)
    os.makedirs(out)
    open(osp.join(out, 'manifest.jsonl'), 'w').write('{"index": 0}\n')
    refused = _tool(['--num', '1', '--out', out] + opts)
    assert refused.returncode != 0 and 'cannot take this run' in refused.stderr
    assert open(osp.join(out, 'manifest.jsonl')).read() == '{"index": 0}\n'
    done = _tool(['--num', '1', '--out', out, '--overwrite'] + opts)
    assert done.returncode == 0, done.stderr[-3000:]
    assert '--overwrite: emptied' in done.stdout
    assert [line['index'] for line in read_manifest(out)] == [0]


# ------------------------------------------------------------------ long prompts

def test_long_prompt_is_warned_once_and_a_cut_class_has_its_own_reason(
        tmp_path, semantic_checkpoint, tiny_sd_folder):
    cfg = generate_cfg(semantic_checkpoint, tiny_sd_folder)
    padding = ' '.join(['on grass'] * 60)  # far beyond the text encoder's 77 tokens
    cfg.prompts.source = dict(type='TemplatePrompts', classes=['cone', 'ball'],
                              templates=['a photo ' + padding + ' of a {cls}'])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        engine = make_engine(cfg, num=2)
        records = [engine.prompts[i] for i in range(2)]
    long = [w for w in caught if 'the text encoder reads the first 77' in str(w.message)]
    assert len(long) == 1 and f'has {records[0].num_tokens} tokens' in str(long[0].message)
    assert records[0].num_tokens > 77 and records[0].truncated == records[0].classes
    out = str(tmp_path / 'out')
    engine.run(out, progress=False)
    engine.merge(out)
    lines = read_manifest(out)
    assert [line['reason'] for line in lines] == ['prompted_class_truncated'] * 2
    assert lines[0]['scores']['reject_detail']['max_tokens'] == 77


def test_short_prompts_are_not_truncated(tiny_sd_folder):
    sampler = PromptSampler(dict(type='TemplatePrompts', classes=['cone']), num_prompts=1,
                            tokenizer=osp.join(tiny_sd_folder, 'tokenizer'))
    record = sampler[0]
    assert record.truncated == () and 0 < record.num_tokens < 77


# ------------------------------------------------------------------ errors name the file

def test_a_failed_write_names_its_file(tmp_path):
    target = str(tmp_path / 'images' / '00000001.png')
    with pytest.raises(OSError, match=r'No space left on device while writing .*00000001\.png'):
        with atomic_path(target) as temp:
            with open(temp, 'wb') as f:
                f.write(b'x')
            raise OSError(28, 'No space left on device')  # as a full disk raises it: no path
    assert os.listdir(tmp_path / 'images') == []  # no temporary file left behind


def test_a_bad_checkpoint_names_its_file(tmp_path, tiny_sd_folder):
    from mmdatasetdm.generation.decoder import PerceptionDecoder
    bad = tmp_path / 'broken.pth'
    bad.write_bytes(b'not a checkpoint')
    with pytest.raises(RuntimeError, match=r'P-Decoder checkpoint .*broken\.pth cannot be loaded'):
        PerceptionDecoder(PDECODER_CFG, str(bad),
                          cfg_options={'model.backbone.pretrained': tiny_sd_folder})


def test_manifest_paths_must_stay_inside_the_dataset(tmp_path):
    root = tmp_path / 'set'
    root.mkdir()
    line = dict(index=0, accepted=True, files=dict(image='../../../../etc/hostname'))
    (root / 'manifest.jsonl').write_text(json.dumps(line) + '\n')
    with pytest.raises(ValueError, match=r"manifest.jsonl:1 .*'\.\./\.\./\.\./\.\./etc/hostname', "
                       'which is not a path inside'):
        read_manifest(str(root))
    line['files']['image'] = '/etc/hostname'
    (root / 'manifest.jsonl').write_text(json.dumps(line) + '\n')
    with pytest.raises(ValueError, match='not a path inside'):
        read_manifest(str(root))


def test_attention_boxes_find_each_person(monkeypatch):
    from mmdatasetdm.generation.decoder import attention_boxes
    maps = torch.zeros(4, 8, 8)
    maps[2, 1:3, 1:3] = 1.0  # person token 2: two separate blobs
    maps[2, 5:8, 4:7] = 0.9
    maps[3, 0, 0] = 5.0  # another word, elsewhere
    boxes = attention_boxes({8: maps}, [2], (64, 64))
    assert boxes.shape == (2, 4)
    assert boxes[0].tolist() == pytest.approx([28, 36, 60, 64], abs=6)  # the larger blob
    assert boxes[1].tolist() == pytest.approx([4, 4, 28, 28], abs=6)
    assert attention_boxes({8: maps}, [], (64, 64)).shape == (0, 4)
    assert np.all(attention_boxes({8: torch.zeros(4, 8, 8)}, [2], (64, 64)) == 0)
