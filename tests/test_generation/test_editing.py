"""Label-consistent editing: the edit list, the labelled editor, the summary and tools/edit.py."""
import json
import os.path as osp
import subprocess
import sys

import numpy as np
import pytest

from mmdatasetdm.fileio import read_semantic
from mmdatasetdm.generation.editing import Edit, EditResult, LabelledEditor, read_edits, summarize
from tests.test_generation.conftest import GENERATE_CFG, ROOT, generate_cfg, make_engine

CLASSES = ['background', 'cone', 'ball']


def _write(path, *records):
    path.write_text(''.join((r if isinstance(r, str) else json.dumps(r)) + '\n'
                            for r in records))
    return str(path)


GOOD = dict(source='a photo of a red cone', target='a photo of a blue cone', seed=1,
            kind='attribute', **{'class': 'cone'})
SWAP = dict(source='a photo of a red cone', target='a photo of a red ball', seed=2, kind='swap',
            **{'from': 'cone', 'to': 'ball'})


def test_read_edits(tmp_path):
    edits = read_edits(_write(tmp_path / 'ok.jsonl', GOOD, '', SWAP), CLASSES)
    assert edits == [Edit(GOOD['source'], GOOD['target'], 1, 'attribute', cls='cone'),
                     Edit(SWAP['source'], SWAP['target'], 2, 'swap', from_cls='cone',
                          to_cls='ball')]
    bad = [('{"source": ', 'line 1 is not valid JSON'.replace('line 1', 'bad.jsonl:1')),
           (dict(GOOD, seed=-1), '"seed" must be a non-negative integer, got -1'),
           (dict(GOOD, kind='move'), '"kind" must be one of [\'attribute\', \'swap\']'),
           (dict(GOOD, target=''), '"target" must be a non-empty prompt'),
           ({k: v for k, v in SWAP.items() if k != 'to'}, 'a swap edit needs "to"'),
           (dict(GOOD, **{'class': 'dog'}), '"class" is \'dog\', not a class of the decoder')]
    for record, message in bad:
        path = _write(tmp_path / 'bad.jsonl', record)
        with pytest.raises(ValueError) as err:
            read_edits(path, CLASSES)
        assert message in str(err.value) and 'bad.jsonl:1' in str(err.value), str(err.value)
    with pytest.raises(ValueError, match='holds no edit'):
        read_edits(_write(tmp_path / 'empty.jsonl', ''), CLASSES)


def _result(kind, iou=None, fraction=None, layout=None):
    edit = Edit('a', 'b', 0, kind, cls='cone' if kind == 'attribute' else None)
    return EditResult(edit, np.zeros((2, 1, 1, 3)), np.zeros((2, 1, 1)), iou, fraction,
                      layout_iou=layout)


def test_summary_counts_what_was_measured():
    results = [_result('attribute', 1.0, layout=0.8), _result('attribute', 0.5, layout=0.6),
               _result('attribute'), _result('swap', fraction=0.75),
               _result('swap', fraction=0.25, layout=0.5)]
    summary = summarize(results)
    assert summary['attribute_layout_iou'] == pytest.approx(0.7)
    assert summary['swap_layout_iou'] == 0.5
    a, s = summary['attribute'], summary['swap']
    assert (a['edits'], a['measured'], a['mean_iou'], a['median_iou']) == (3, 2, 0.75, 0.75)
    assert a['share_iou_at_least'] == dict(threshold=0.9, share=0.5)
    assert (s['edits'], s['measured'], s['mean_relabelled']) == (2, 2, 0.5)
    assert s['share_relabelled'] == dict(threshold=0.5, share=0.5)


@pytest.fixture(scope='module')
def editor(semantic_checkpoint, tiny_sd_folder):
    return LabelledEditor(make_engine(generate_cfg(semantic_checkpoint, tiny_sd_folder), num=1))


def test_an_identical_edit_keeps_image_and_labels(editor):
    prompt = 'a photo of a red cone'
    result = editor(Edit(prompt, prompt, 3, 'attribute', cls='cone'))
    assert np.array_equal(result.images[0], result.images[1])
    assert np.array_equal(result.labels[0], result.labels[1])
    area = int((result.labels[0] == editor.classes.index('cone')).sum())
    assert result.source_area == area
    assert result.iou == (1.0 if area else None)
    objects = (result.labels[0] != 0) & (result.labels[0] != 255)
    assert result.layout_iou == (1.0 if objects.any() else None)
    swap = editor(Edit(prompt, 'a photo of a red ball', 3, 'swap', from_cls='cone',
                       to_cls='ball'))
    # the same seed and source prompt: the same source image and labels
    assert np.array_equal(swap.images[0], result.images[0])
    assert np.array_equal(swap.labels[0], result.labels[0])
    region = swap.labels[0] == editor.classes.index('cone')
    if region.any():
        assert swap.swap_fraction == pytest.approx(
            float((swap.labels[1][region] == editor.classes.index('ball')).mean()))


def test_editing_needs_a_semantic_decoder():
    class Engine:
        task = 'depth'
    with pytest.raises(ValueError, match='this engine\'s decoder does depth'):
        LabelledEditor(Engine())


def _edit_cli(args):
    env = dict(__import__('os').environ, PYTHONPATH=ROOT)
    return subprocess.run([sys.executable, 'tools/edit.py'] + args, cwd=ROOT, env=env,
                          capture_output=True, text=True)


def test_edit_cli_writes_pairs_and_refuses_foreign_folders(tmp_path, semantic_checkpoint,
                                                           tiny_sd_folder):
    edits = _write(tmp_path / 'edits.jsonl', GOOD, SWAP)
    out = tmp_path / 'out'
    opts = ['--cfg-options', f'decoder.checkpoint={semantic_checkpoint}',
            f'decoder.cfg_options.model.backbone.pretrained={tiny_sd_folder}',
            'decoder.config=configs/pdecoder/semantic_tiny.py']
    run = _edit_cli([GENERATE_CFG, edits, '--out', str(out)] + opts)
    assert run.returncode == 0, run.stderr[-3000:]
    lines = [json.loads(x) for x in (out / 'edits.jsonl').read_text().splitlines()]
    assert [(x['index'], x['kind']) for x in lines] == [(0, 'attribute'), (1, 'swap')]
    for line in lines:
        for name, rel in line['files'].items():
            assert osp.isfile(out / rel), rel
        labels = read_semantic(str(out / line['files']['source_labels']))
        assert line['source_area'] == int((labels == CLASSES.index(
            line['class'] or line['from'])).sum())
    summary = json.loads((out / 'summary.json').read_text())
    assert summary['num_edits'] == 2 and summary['classes'] == CLASSES
    assert summary['window'] == dict(cross_steps=0.8, self_steps=0.4)
    assert (out / 'gallery.png').is_file()
    assert 'attribute edits:' in run.stdout and 'swap edits:' in run.stdout
    # a second run needs --overwrite; a folder with other files is refused
    again = _edit_cli([GENERATE_CFG, edits, '--out', str(out)] + opts)
    assert again.returncode != 0 and 'pass --overwrite' in again.stderr
    (out / 'notes.txt').write_text('mine')
    again = _edit_cli([GENERATE_CFG, edits, '--out', str(out), '--overwrite'] + opts)
    assert again.returncode != 0 and "['notes.txt']" in again.stderr
    assert (out / 'notes.txt').read_text() == 'mine' and (out / 'summary.json').is_file()
