"""The demo world's caption language model and the prompt file it wrote (RQ4's LLM row)."""
import json
import os
import os.path as osp
import re

import pytest
from mmengine.config import Config

from mmdatasetdm.generation import PromptSampler
from mmdatasetdm.generation.prompts import LanguageModelPrompts, PromptFile
from projects.demo_world.demo_world.appearance import CLASS_COLOR_NAMES, GROUND_PHRASES, SKY_PHRASES
from projects.demo_world.demo_world.caption import _NUMBERS
from projects.demo_world.demo_world.metainfo import OBJECT_CLASSES
from tests.tool_module import ROOT, load_tool

CONFIGS = osp.join(ROOT, 'projects/demo_world/configs')
OPENINGS = osp.join(CONFIGS, 'generate_semantic_openings.py')
TAIL = ' on sand at dusk'


def _write_captions(world, split, captions):
    os.makedirs(osp.join(world, 'captions'), exist_ok=True)
    with open(osp.join(world, 'captions', f'{split}.jsonl'), 'w') as f:
        for i, caption in enumerate(captions):
            f.write(json.dumps(dict(image_id=i, file_name=f'{i:08d}.png', caption=caption,
                                    alt_captions=['a photo of a tree'])) + '\n')


def _openings(pool):
    kwargs = load_tool('tools/misc/write_prompt_file.py').template_source(
        Config.fromfile(OPENINGS), OPENINGS)
    source = LanguageModelPrompts(pool_size=pool, seed=0, **kwargs)
    return [source.description(c, j) for c in source.classes for j in range(pool)]


def test_the_model_continues_each_opening_as_its_captions_do(tmp_path, capsys):
    # every caption is an opening of generate_semantic_openings.py and the same tail: a model
    # that learned them continues every opening with that tail and nothing else
    world, out = str(tmp_path / 'world'), str(tmp_path / 'lm')
    captions = [o + TAIL for o in _openings(30)]
    _write_captions(world, 'train_large', captions)
    _write_captions(world, 'val', captions[:20])
    train = load_tool('projects/demo_world/tools/train_caption_lm.py')
    assert train.main(['--world', world, '--out', out, '--steps', '300', '--batch', '32',
                       '--width', '32', '--layers', '1']) == 0
    assert f'{len(captions)} captions' in capsys.readouterr().out  # alt captions left out
    record = json.load(open(osp.join(out, 'caption_lm.json')))
    assert record['captions'] == len(captions) and record['alt_captions'] is False
    # ~3.5 nats of each caption are the drawn colour and class, the other tokens are certain:
    # ~0.35 per token at best, ~3.7 (log of the vocabulary) untrained
    assert record['val_loss'] < 0.45
    assert sorted(os.listdir(tmp_path)) == ['lm', 'world']  # no temporary folder left

    prompts = str(tmp_path / 'prompts.txt')
    write = load_tool('tools/misc/write_prompt_file.py')
    assert write.main([OPENINGS, '--model-dir', out, '--out', prompts, '--pool-size', '2']) == 0
    lines = [x for x in open(prompts).read().splitlines() if not x.startswith('#')]
    assert lines == [o + TAIL for o in _openings(2)]

    # nothing is overwritten; a missing split is named
    before = sorted(os.listdir(out))
    with pytest.raises(SystemExit, match='exists'):
        train.main(['--world', world, '--out', out, '--steps', '1'])
    assert sorted(os.listdir(out)) == before
    with pytest.raises(SystemExit, match=re.escape(osp.join('captions', 'nope.jsonl'))):
        train.main(['--world', world, '--out', str(tmp_path / 'other'), '--splits', 'nope'])


def test_the_demo_prompt_file_is_written_in_the_worlds_words():
    cfg = Config.fromfile(osp.join(CONFIGS, 'generate_semantic_llm.py'))
    source = cfg.prompts.source
    path = osp.join(ROOT, source.path)
    text = open(path, encoding='utf-8').read()
    head = [x for x in text.splitlines() if x.startswith('#')]
    assert any('write_prompt_file.py projects/demo_world/configs/generate_semantic_openings.py'
               in h and '--model-dir work_dirs/demo/caption_lm' in h for h in head)
    prompts = PromptFile(path, source.classes, synonyms=source.synonyms)
    assert tuple(prompts.classes) == tuple(OBJECT_CLASSES)
    assert len(prompts.prompts) == 500
    assert min(len(prompts.by_class[c]) for c in prompts.classes) >= 100
    # each line opens with one of the openings the model continued
    openings = set(_openings(100))
    assert all(any(p == o or p.startswith(o + ' ') or p.startswith(o + ',') for o in openings)
               for p in prompts.prompts)
    # the model wrote whole scenes: other objects, grounds, skies
    assert sum(len(prompts.matcher.find(p)) > 1
               for p in prompts.prompts) > 250
    assert sum(any(g in p for g in GROUND_PHRASES.values()) for p in prompts.prompts) > 450
    # ... in the words the generator was trained on, nothing else
    words = {'a', 'an', 'and', 'photo', 'of', 'in', 'people', 'many'} | set(_NUMBERS.values())
    words |= set(OBJECT_CLASSES) | {c + 's' for c in OBJECT_CLASSES}
    words |= {w for names in CLASS_COLOR_NAMES.values() for w in names}
    words |= {w for p in list(GROUND_PHRASES.values()) + list(SKY_PHRASES.values())
              for w in p.split()}
    used = {w for p in prompts.prompts for w in p.replace(',', ' ').split()}
    assert used <= words, used - words
    # the config samples balanced classes from it, each record naming its class
    records = list(PromptSampler(**cfg.prompts, num_prompts=400))
    assert all(r.target in r.classes for r in records)
    assert {c: sum(r.target == c for r in records) for c in OBJECT_CLASSES} == dict.fromkeys(
        OBJECT_CLASSES, 80)
