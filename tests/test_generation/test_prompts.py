"""Prompt sources and the deterministic prompt sampler."""
import json
from collections import Counter

import pytest

from mmdatasetdm.generation.prompts import (ClassMatcher, ClassSampler, LanguageModelPrompts,
                                            PromptFile, PromptRecord, PromptSampler,
                                            TemplatePrompts, sample_seed)
from mmdatasetdm.registry import PROMPTS
from tests.toy_data import make_tiny_causal_lm

CLASSES = ['cat', 'dog', 'potted_plant']


def _templates(**kwargs):
    return TemplatePrompts(
        CLASSES,
        templates=['a photo of a {attr} {cls} {scene}', 'a {cls} {scene}'],
        attributes=dict(dog=['corgi', 'black'], cat=['tabby']),
        fields=dict(scene=['on grass', 'in a kitchen', '']),
        **kwargs)


def test_same_seed_same_prompts_and_independent_of_workers():
    records = list(PromptSampler(_templates(), seed=3, num_prompts=30))
    again = list(PromptSampler(_templates(), seed=3, num_prompts=30))
    assert records == again
    # Two "workers" asking for interleaved indices, in reverse order, on fresh samplers.
    worker_a, worker_b = PromptSampler(_templates(), seed=3), PromptSampler(_templates(), seed=3)
    by_workers = {i: (worker_a if i % 2 else worker_b)[i] for i in reversed(range(30))}
    assert [by_workers[i] for i in range(30)] == records
    # A different base seed gives different prompts and seeds.
    other = list(PromptSampler(_templates(), seed=4, num_prompts=30))
    assert [r.seed for r in other] != [r.seed for r in records]
    assert [r.text for r in other] != [r.text for r in records]
    # Seeds are distinct per sample (no worker duplicates) and equal sample_seed.
    assert len({r.seed for r in records}) == 30
    assert records[7].seed == sample_seed(3, 7)
    assert [r.index for r in records] == list(range(30))


def test_records_name_their_classes():
    for record in PromptSampler(_templates(), seed=0, num_prompts=12):
        assert record.target in record.classes
        assert record.classes == (record.target, )
        word = record.words[record.target][0]
        assert word in record.text
        assert '  ' not in record.text and not record.text.endswith(' ')
    record = PromptSampler(_templates(), seed=0)[0]
    assert isinstance(record, PromptRecord)
    assert json.loads(json.dumps(record.to_dict()))['prompt'] == record.text


def test_default_sampling_is_exactly_balanced():
    sampler = PromptSampler(_templates(), seed=1, num_prompts=30)
    assert sampler.class_histogram() == {'cat': 10, 'dog': 10, 'potted_plant': 10}
    # every block of len(classes) consecutive prompts holds each class once
    for start in range(0, 30, 3):
        assert sorted(sampler[i].target for i in range(start, start + 3)) == sorted(CLASSES)


def test_quotas_respected_per_block():
    sampler = PromptSampler(_templates(), seed=2, num_prompts=40,
                            class_sampling=dict(quotas=dict(cat=3, dog=1)))
    assert sampler.class_histogram() == {'cat': 30, 'dog': 10, 'potted_plant': 0}
    for start in range(0, 40, 4):
        assert Counter(sampler[i].target for i in range(start, start + 4)) == {'cat': 3, 'dog': 1}


def test_long_tail_weights_from_class_counts():
    counts = dict(cat=900, dog=100, potted_plant=100)
    # power -1 (inverse frequency) as exact quotas per block of 100
    sampler = ClassSampler(CLASSES, seed=0, class_counts=counts, power=-1.0, block_size=100)
    # weights 1/900 : 1/100 : 1/100 -> 1:9:9 of 100 -> 5.26, 47.37, 47.37 -> 5, 48, 47
    # (largest remainder)
    assert sampler.quotas == [5, 48, 47]
    assert Counter(sampler.class_at(i) for i in range(200)) == {
        'cat': 10,
        'dog': 96,
        'potted_plant': 94
    }
    # power 1 copies the real distribution; independent draws match it in expectation
    draws = ClassSampler(CLASSES, seed=0, class_counts=counts, power=1.0)
    share = Counter(draws.class_at(i) for i in range(3000))['cat'] / 3000
    assert abs(share - 900 / 1100) < 0.03
    assert [draws.class_at(i) for i in range(50)] == [
        ClassSampler(CLASSES, seed=0, class_counts=counts, power=1.0).class_at(i) for i in range(50)
    ]


def test_class_sampler_errors():
    with pytest.raises(ValueError, match='unknown classes'):
        ClassSampler(CLASSES, quotas=dict(zebra=1))
    with pytest.raises(ValueError, match='at most one'):
        ClassSampler(CLASSES, quotas=dict(cat=1), weights=dict(cat=1))
    with pytest.raises(ValueError, match='all 0'):
        ClassSampler(CLASSES, quotas=dict(cat=0))
    with pytest.raises(ValueError, match='non-negative'):
        sample_seed(-1, 0)


def test_matcher_words_plurals_synonyms_and_boundaries():
    matcher = ClassMatcher(['cat', 'dog', 'plant', 'potted_plant', 'bus'],
                           synonyms=dict(dog=['puppy']))
    assert matcher.find('Two dogs and a Puppy near a potted plant') == {
        'dog': ['dogs', 'Puppy'], 'potted_plant': ['potted plant']}
    assert matcher.find('a category of buses') == {'bus': ['buses']}
    assert matcher.find('a plant') == {'plant': ['plant']}
    with pytest.raises(ValueError, match='names two classes'):
        ClassMatcher(['cat', 'dog'], synonyms=dict(dog=['cat']))


def test_prompt_file_reads_lines_and_balances(tmp_path):
    path = tmp_path / 'prompts.txt'
    path.write_text('# written by an LLM\n'
                    'A fluffy cat sleeping on a sofa\n'
                    '\n'
                    'Two dogs playing in the snow\n'
                    'A potted plant on a sunny windowsill\n'
                    'A cat watching a dog\n')
    source = PromptFile(str(path), CLASSES)
    assert source.prompts[3] == 'A cat watching a dog'
    assert source.by_class == {'cat': [0, 3], 'dog': [1, 3], 'potted_plant': [2]}
    records = list(PromptSampler(source, seed=0, num_prompts=9))
    assert Counter(r.target for r in records) == {'cat': 3, 'dog': 3, 'potted_plant': 3}
    for r in records:
        assert r.target in r.classes
    # read in file order when not sampling per class
    ordered = PromptSampler(source, seed=0, num_prompts=5, class_sampling=None)
    assert [r.text for r in ordered] == source.prompts + source.prompts[:1]
    assert ordered[3].classes == ('cat', 'dog') and ordered[3].target is None


def test_prompt_file_errors_name_file_and_line(tmp_path):
    bad = tmp_path / 'bad.txt'
    bad.write_text('a cat on a mat\n\na zebra in a field\n')
    with pytest.raises(ValueError, match=rf'{bad}:3: .*zebra.*names no known class'):
        PromptFile(str(bad), CLASSES)
    empty = tmp_path / 'empty.txt'
    empty.write_text('')
    with pytest.raises(ValueError, match=rf'prompt file {empty} is empty'):
        PromptFile(str(empty), CLASSES)
    comments = tmp_path / 'comments.txt'
    comments.write_text('# only a comment\n\n')
    with pytest.raises(ValueError, match='is empty'):
        PromptFile(str(comments), CLASSES)
    with pytest.raises(FileNotFoundError, match='missing.txt'):
        PromptFile(str(tmp_path / 'missing.txt'), CLASSES)
    # a class the sampler asks for but no line names
    only_cats = tmp_path / 'cats.txt'
    only_cats.write_text('a cat\n')
    with pytest.raises(ValueError, match=r"no prompt naming the class 'dog'"):
        PromptSampler(PromptFile(str(only_cats), CLASSES), seed=0)[1]


def test_template_errors():
    with pytest.raises(ValueError, match='no {cls} slot'):
        TemplatePrompts(CLASSES, templates=['a photo of a thing'])
    with pytest.raises(ValueError, match=r"slots \['scene'\]"):
        TemplatePrompts(CLASSES, templates=['a {cls} {scene}'])
    with pytest.raises(ValueError, match='unknown classes'):
        TemplatePrompts(CLASSES, attributes=dict(zebra=['striped']))


def test_build_from_config_registry():
    sampler = PROMPTS.build(
        dict(
            type='mmdatasetdm.PromptSampler',
            seed=5,
            num_prompts=6,
            source=dict(
                type='mmdatasetdm.TemplatePrompts',
                classes=CLASSES,
                templates=['a photo of a {cls}'],
                class_names=dict(potted_plant='houseplant')),
            class_sampling=dict(quotas=dict(cat=1, potted_plant=1))))
    assert len(sampler) == 6
    texts = sorted({r.text for r in sampler})
    assert texts == ['a photo of a cat', 'a photo of a houseplant']
    assert {r.text: r.classes for r in sampler}['a photo of a houseplant'] == ('potted_plant', )
    with pytest.raises(IndexError):
        sampler[6]


def test_token_positions_with_clip_tokenizer(tmp_path):
    from transformers import CLIPTokenizer

    from mmdatasetdm.diffusion.tokenizer import save_clip_tokenizer_files
    corpus = ['a photo of a cat', 'a photo of a dog', 'a potted plant on grass', 'a cat and a dog'
              ] * 4
    save_clip_tokenizer_files(corpus, str(tmp_path / 'tok'), num_merges=300)
    tokenizer = CLIPTokenizer.from_pretrained(str(tmp_path / 'tok'))
    source = TemplatePrompts(CLASSES, templates=['a photo of a {cls} on grass'])
    by_object = PromptSampler(source, seed=0, num_prompts=3, tokenizer=tokenizer)
    by_folder = PromptSampler(source, seed=0, num_prompts=3, tokenizer=str(tmp_path / 'tok'))
    records = {r.target: r for r in by_object}
    assert records['dog'].token_positions == {'dog': [5]}
    assert records['potted_plant'].token_positions == {'potted_plant': [5, 6]}
    assert [r.token_positions for r in by_folder] == [r.token_positions for r in by_object]
    # the positions point at the word's tokens in the padded prompt
    ids = tokenizer(records['potted_plant'].text, padding='max_length', max_length=77).input_ids
    assert tokenizer.convert_ids_to_tokens([ids[5], ids[6]]) == ['potted</w>', 'plant</w>']
    # a multi-class prompt from a file: every class gets its own positions
    path = tmp_path / 'p.txt'
    path.write_text('a cat and a dog on grass\n')
    record = PromptSampler(
        PromptFile(str(path), CLASSES), seed=0, class_sampling=None, tokenizer=tokenizer)[0]
    assert record.token_positions == {'cat': [2], 'dog': [5]}


def test_language_model_prompts_offline_default_is_templates():
    kwargs = dict(templates=['a photo of a {attr} {cls}'], attributes=dict(dog=['corgi']))
    lm = PromptSampler(LanguageModelPrompts(CLASSES, **kwargs), seed=0, num_prompts=6)
    tpl = PromptSampler(TemplatePrompts(CLASSES, **kwargs), seed=0, num_prompts=6)
    assert list(lm) == list(tpl)


def test_language_model_prompts_with_tiny_gpt2(tmp_path):
    model_dir = make_tiny_causal_lm(tmp_path)
    make = lambda: LanguageModelPrompts(
        CLASSES,
        model_dir=model_dir,
        pool_size=2,
        seed=1,  # noqa: E731
        max_new_tokens=6,
        templates=['a photo of a {cls}'])
    records = list(PromptSampler(make(), seed=0, num_prompts=6))
    for r in records:
        assert r.target in r.classes
        assert r.text.startswith('a photo of a ' + r.target.replace('_', ' '))
        assert len(r.text) > len('a photo of a ' +
                                 r.target.replace('_', ' '))  # the model wrote something
    # deterministic: a fresh source, asked in another order, writes the same
    fresh = PromptSampler(make(), seed=0)
    assert [fresh[i] for i in reversed(range(6))] == records[::-1]
    # the pool saved as a prompt file is readable by PromptFile
    path = make().save_prompt_file(str(tmp_path / 'llm_prompts.txt'))
    source = PromptFile(path, CLASSES)
    assert len(source.prompts) == len(CLASSES) * 2
    assert all(source.by_class[c] for c in CLASSES)
    with pytest.raises(FileNotFoundError, match='not a folder'):
        LanguageModelPrompts(CLASSES, model_dir=str(tmp_path / 'nope'))
