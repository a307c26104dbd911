"""The dataset card of a generated set: facts, README.md, gallery.png, rewrites and tools."""
import json
import os
import os.path as osp
import subprocess
import sys
from collections import Counter

import numpy as np
import pytest
import yaml
from PIL import Image

from mmdatasetdm.fileio import (read_dataset_meta, read_depth, read_json, read_manifest,
                                read_semantic)
from mmdatasetdm.generation.card import (card_summary, dataset_card_facts, generated_roots,
                                         generation_command, recorded_command, size_category,
                                         write_dataset_card)
from mmdatasetdm.generation.writers import KeypointMeta, ShardWriter, merge_shards
from tests.test_generation.conftest import (GENERATE_CFG, PDECODER_CFG, ROOT, generate_cfg,
                                            make_engine)
from tests.test_generation.test_engine_tasks import TASKS, task_engine
from tests.tool_module import load_tool

CARD_FILES = ('dataset.json', 'README.md', 'gallery.png')
COMMAND = ['tools/generate.py', 'configs/generate/semantic_tiny.py', '--num', '4']


def _bytes(root, names=CARD_FILES):
    return {n: open(osp.join(root, n), 'rb').read() for n in names if osp.isfile(osp.join(root, n))}


def _front_matter(readme):
    assert readme.startswith('---\n')
    return yaml.safe_load(readme.split('---\n')[1])


def _counts_from_manifest(lines):
    reasons = Counter(line['reason'] for line in lines if not line['accepted'])
    return dict(total=len(lines), accepted=sum(line['accepted'] for line in lines),
                rejected=sum(reasons.values()), rejected_by_reason=dict(reasons))


def _table_row(readme, *cells):
    return ('| ' + ' | '.join(str(c) for c in cells) + ' |') in readme.splitlines()


@pytest.fixture(scope='module')
def semantic_set(tmp_path_factory, semantic_checkpoint, tiny_sd_folder):
    """4 samples of the tiny semantic decoder; prompts whose class the untrained decoder
    does not label are rejected (the prompted class must be present)."""
    cfg = generate_cfg(semantic_checkpoint, tiny_sd_folder,
                       **{'filters.require_prompted': True})
    engine = make_engine(cfg, num=4)
    out = str(tmp_path_factory.mktemp('card') / 'semantic')
    engine.run(out, progress=False, command=COMMAND + ['--out', out, '--launcher', 'none'])
    engine.merge(out, card=True)
    return engine, out


def test_semantic_card_facts_match_the_manifest_masks_and_dataset_json(semantic_set):
    engine, out = semantic_set
    meta = read_dataset_meta(out)
    card = meta['card']
    lines = read_manifest(out)
    assert card == json.loads(json.dumps(dataset_card_facts(out)))  # stored = recomputed
    counts = _counts_from_manifest(lines)
    assert card['counts'] == counts
    assert counts['accepted'] >= 1 and counts['rejected'] >= 1  # both kinds are covered
    # images per class and pixel shares, recomputed from the written masks
    accepted = [line for line in lines if line['accepted']]
    images, pixels = Counter(), Counter()
    for line in accepted:
        labels = read_semantic(osp.join(out, line['files']['semantic']))
        for c in np.unique(labels[labels != 255]).tolist():
            images[c] += 1
            pixels[c] += float((labels == c).mean())
    semantic = card['annotations']['semantic']
    assert semantic['source'] == 'manifest.jsonl' and semantic['images'] == len(accepted)
    assert [(c['id'], c['name']) for c in semantic['classes']] == list(enumerate(meta['classes']))
    assert {c['id']: c['images'] for c in semantic['classes']} == {
        i: images[i] for i in range(len(meta['classes']))}
    for row in semantic['classes']:
        assert row['pixel_fraction'] == pytest.approx(pixels[row['id']] / len(accepted), abs=1e-5)
    prompted = Counter(c for line in lines for c in line['classes'])
    assert {c['name']: c['samples'] for c in card['prompted_classes']} == dict(prompted)
    # identities and settings are dataset.json's
    config = meta['config']
    assert card['diffusion_model'] == config['diffusion_model'] == \
        engine.identity['diffusion_model']
    assert card['decoder'] == config['decoder'] == engine.decoder.weights_hash
    assert card['prompts'] == dict(source='TemplatePrompts', path=None, seed=0,
                                   content=config['prompt_content'], config=config['prompts'])
    assert card['sampler'] == dict(scheduler='DDIMScheduler', steps=4, guidance_scale=3.0,
                                   capture_timestep=engine.sampler.capture_timestep(),
                                   decoder_timestep=meta['run_info']['decoder_timestep'],
                                   negative_prompt=None, height=None, width=None, batch_size=2)
    assert card['filters'] == config['filters'] and card['filters']['require_prompted'] is True
    assert card['versions'] == config['versions']
    assert card['command'] == COMMAND  # without the output folder and the launcher
    assert recorded_command(out) == COMMAND + ['--out', out, '--launcher', 'none']
    assert card['image'] == dict(format='png', height=64, width=64, jpeg_quality=None)
    assert card['gallery'] == dict(file='gallery.png',
                                   indices=[line['index'] for line in accepted])


def test_semantic_readme_and_gallery(semantic_set):
    _, out = semantic_set
    card = read_dataset_meta(out)['card']
    with open(osp.join(out, 'README.md'), encoding='utf-8') as f:
        readme = f.read()
    front = _front_matter(readme)
    assert front['pretty_name'] == card['pretty_name'] == \
        'DatasetDM synthetic semantic segmentation: cone, ball'
    assert front['license'] == 'other' and front['task_categories'] == ['image-segmentation']
    assert front['size_categories'] == ['n<1K']
    for section in ('## Summary', '## How it was made', '## Counts and rejections',
                    '## Class distribution', '## Files and format', '## How to load it',
                    '## Gallery', '## Limitations'):
        assert f'\n{section}\n' in readme
    counts = card['counts']
    assert _table_row(readme, 'accepted', counts['accepted'],
                      f'{100 * counts["accepted"] / counts["total"]:.1f}%')
    for reason, n in counts['rejected_by_reason'].items():
        assert _table_row(readme, f'rejected: `{reason}`', n, f'{100 * n / counts["total"]:.1f}%')
    assert _table_row(readme, 'total', counts['total'], '100.0%')
    for row in card['annotations']['semantic']['classes']:
        assert _table_row(readme, row['id'], row['name'], row['images'],
                          f'{100 * row["pixel_fraction"]:.1f}%')
    assert f'`{card["diffusion_model"]}`' in readme and f'`{card["decoder"]}`' in readme
    assert 'python tools/generate.py configs/generate/semantic_tiny.py --num 4' in readme
    assert "type='mmdatasetdm.SyntheticSegDataset'" in readme
    with Image.open(osp.join(out, 'gallery.png')) as image:
        image.load()
        gallery = np.asarray(image.convert('RGB'))
    # one row of 128-pixel tiles (image + mask), two caption lines, then the legend
    tiles = len(card['gallery']['indices'])
    assert gallery.shape[1] == min(tiles, 4) * 256 + (min(tiles, 4) + 1) * 2
    assert gallery.shape[0] > 2 + 128 + 2 * 14 + 2
    legend = gallery[2 + 128 + 2 * 14 + 2:]
    present = [c['id'] for c in card['annotations']['semantic']['classes'] if c['images']]
    from mmdatasetdm.visualization.overlay import default_palette
    for class_id in present:  # each drawn class's colour is a swatch in the legend
        assert (legend == default_palette(255)[class_id]).all(axis=-1).sum() >= 64


def test_card_is_rewritten_identically_on_merge_resume_and_by_the_cli(semantic_set,
                                                                      tmp_path):
    engine, out = semantic_set
    before = _bytes(out)
    assert set(before) == set(CARD_FILES)
    engine.merge(out, card=True)
    assert _bytes(out) == before
    # a default merge rewrites a card the folder holds (never a stale one), ...
    os.remove(osp.join(out, 'gallery.png'))
    engine.merge(out)
    assert _bytes(out) == before
    # ... and card=False removes it (it would describe another merge)
    engine.merge(out, card=False)
    assert 'card' not in read_dataset_meta(out)
    assert not osp.exists(osp.join(out, 'README.md')) and not osp.exists(
        osp.join(out, 'gallery.png'))
    engine.merge(out, card=True)
    assert _bytes(out) == before
    # a resume with another command line is not refused (the command is not identity), and
    # the card keeps naming the command that started the run
    stats = engine.run(out, resume=True, progress=False, command=['other', '--resume'])
    assert stats == dict(generated=0, accepted=0, skipped=4)
    engine.merge(out, card=True)
    assert _bytes(out) == before
    # the CLI rewrites a lost card, the command coming from the shards
    os.remove(osp.join(out, 'README.md'))
    os.remove(osp.join(out, 'gallery.png'))
    meta = read_dataset_meta(out)
    del meta['card']
    with open(osp.join(out, 'dataset.json'), 'w') as f:
        json.dump(meta, f)
    tool = load_tool('tools/misc/write_dataset_card.py')
    facts = tool.main([out])
    assert facts['command'] == COMMAND
    assert _bytes(out) == before
    # without the shards, the command comes from the card itself
    copy = str(tmp_path / 'copy')
    os.makedirs(copy)
    for name in os.listdir(out):
        if name != 'shards':
            os.symlink(osp.join(out, name), osp.join(copy, name))
    assert dataset_card_facts(copy)['command'] == COMMAND


def test_a_set_with_a_card_still_loads_and_browsing_shows_the_card(semantic_set, tmp_path,
                                                                   capsys):
    _, out = semantic_set
    meta = read_dataset_meta(out)
    accepted = sum(line['accepted'] for line in read_manifest(out))
    # readers ignore the card: the synthetic dataset type reads the set as before
    from mmengine.registry import init_default_scope
    init_default_scope('mmseg')
    from mmdatasetdm.registry import DATASETS
    dataset = DATASETS.build(dict(type='mmdatasetdm.SyntheticSegDataset', data_root=out,
                                  metainfo=dict(classes=tuple(meta['classes'])),
                                  pipeline=[]))
    assert len(dataset) == accepted
    config = tmp_path / 'browse_synthetic.py'
    config.write_text(
        "default_scope = 'mmseg'\n"
        "train_dataloader = dict(dataset=dict(type='ConcatDataset', datasets=[dict(\n"
        f"    type='mmdatasetdm.SyntheticSegDataset', data_root={out!r},\n"
        f"    metainfo=dict(classes={tuple(meta['classes'])!r}),\n"
        "    pipeline=[dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'),\n"
        "              dict(type='PackSegInputs')])]))\n")
    tool = load_tool('tools/analysis_tools/browse_dataset.py')
    result = tool.main([str(config), '--num', '1', '--not-show', '--output-dir',
                        str(tmp_path / 'grids')])
    assert result.num_samples == 1
    printed = capsys.readouterr().out
    card = meta['card']
    assert card_summary(card, out) in printed
    counts = card['counts']
    assert (f'generated set {out} (semantic): {counts["total"]} samples, {counts["accepted"]} '
            f'accepted, {counts["rejected"]} rejected') in printed
    assert 'rejected: ' + ', '.join(f'{r} {n}' for r, n in
                                    counts['rejected_by_reason'].items()) in printed
    assert 'classes (images): ' + ', '.join(
        f'{c["name"]} {c["images"]}' for c in card['annotations']['semantic']['classes']) \
        in printed
    assert generated_roots(dict(type='RepeatDataset', dataset=dict(data_root=out))) == [out]
    assert generated_roots(dict(data_root=str(tmp_path))) == []


@pytest.mark.parametrize('task', sorted(TASKS))
def test_card_of_each_task(task, tmp_path, tiny_sd_folder):
    engine = task_engine(task, tmp_path, tiny_sd_folder, 3, filters=dict(
        min_score=0.0, min_keypoint_score=0.0, require_prompted=False))
    out = str(tmp_path / 'synth')
    engine.run(out, progress=False)
    engine.merge(out, card=True)
    meta = read_dataset_meta(out)
    card, lines = meta['card'], read_manifest(out)
    accepted = [line for line in lines if line['accepted']]
    assert card['task'] == task and card['counts'] == _counts_from_manifest(lines)
    assert card['decoder'] == meta['config']['decoder'] == engine.decoder.weights_hash
    assert card['diffusion_model'] == meta['config']['diffusion_model']
    assert card['command'] is None  # not started by tools/generate.py
    # the card of the same samples read as a stream (from the part files) holds the same facts
    from mmdatasetdm.generation.card import stream_card_facts
    assert _without(stream_card_facts(out)) == _without(card)
    with open(osp.join(out, 'README.md'), encoding='utf-8') as f:
        readme = f.read()
    expected = dict(semantic=['image-segmentation'], depth=['depth-estimation'],
                    instance=['object-detection', 'image-segmentation'],
                    pose=['keypoint-detection'])[task]
    assert _front_matter(readme)['task_categories'] == expected
    assert _table_row(readme, 'total', len(lines), '100.0%')
    dataset_type = dict(instance='Instance', pose='Pose', depth='Depth')[task]
    assert f"type='mmdatasetdm.Synthetic{dataset_type}Dataset'" in readme
    assert osp.isfile(osp.join(out, 'gallery.png')) == bool(accepted)
    if accepted:
        with Image.open(osp.join(out, 'gallery.png')) as image:
            image.verify()
    annotations = card['annotations']
    if task == 'depth':
        depths = [read_depth(osp.join(out, line['files']['depth']), line['depth_scale'])
                  for line in accepted]
        depth = annotations['depth']
        assert depth['source'] == 'manifest.jsonl' and depth['images'] == len(accepted) == 3
        assert depth['min'] == pytest.approx(min(d.min() for d in depths), abs=1e-3)
        assert depth['max'] == pytest.approx(max(d.max() for d in depths), abs=1e-3)
        assert depth['mean_max'] == pytest.approx(np.mean([d.max() for d in depths]), abs=1e-3)
    elif task == 'instance':
        coco = read_json(osp.join(out, 'instances.json'))
        per_category = Counter(a['category_id'] for a in coco['annotations'])
        assert annotations['instance']['categories'] == [
            dict(id=c['id'], name=c['name'], instances=per_category[c['id']],
                 images=len({a['image_id'] for a in coco['annotations']
                             if a['category_id'] == c['id']}))
            for c in coco['categories']]
        assert annotations['instance']['images'] == len(accepted)
    else:
        coco = read_json(osp.join(out, 'keypoints.json'))
        visible = sum(v > 0 for a in coco['annotations'] for v in a['keypoints'][2::3])
        pose = annotations['pose']
        assert pose['persons'] == len(coco['annotations']) >= len(accepted) == 3
        assert pose['visible_keypoints'] == visible > 0  # min_keypoint_score=0: all labelled
        assert [k['name'] for k in pose['keypoints']] == coco['categories'][0]['keypoints']


def _all_kinds_set(root):
    """A set written by the writer alone (no run identity): semantic masks and depth maps
    without recorded scores, instances and poses; sample 2 rejected."""
    writer = ShardWriter(osp.join(root, 'shards', 'rank00000'), num_classes=3,
                         classes=['background', 'person', 'cone'],
                         categories=[dict(id=1, name='person'), dict(id=3, name='cone')],
                         keypoint_meta=KeypointMeta(names=('head', 'hand', 'foot'),
                                                    skeleton=((0, 1), (0, 2))))
    for index in range(4):
        semantic = np.zeros((32, 48), np.uint8)
        semantic[5:15, 5:20] = 1
        if index != 1:
            semantic[20:30, 30:40] = 2
        masks = np.stack([semantic == 1, semantic == 2])
        keep = masks.any(axis=(1, 2))
        writer.write_sample(
            index, 'a photo of a person and a cone', seed=index, accepted=index != 2,
            reason=None if index != 2 else 'low_score',
            image=np.full((32, 48, 3), 40 * index, np.uint8), semantic=semantic,
            depth=np.tile(np.linspace(1.0 + index, 5.0, 48), (32, 1)),
            instances=dict(masks=masks[keep], labels=np.array([0, 1])[keep],
                           scores=np.array([0.9, 0.8])[keep]),
            keypoints=dict(keypoints=np.array([[[10, 6, 2], [6, 12, 2], [18, 14, 0]]], float),
                           scores=[0.9]))
    merge_shards([writer.dir], root, card=True)
    return root


def test_card_without_recorded_scores_reads_masks_depth_and_coco(tmp_path):
    root = _all_kinds_set(str(tmp_path / 'set'))
    card = read_dataset_meta(root)['card']
    assert card['task'] == 'instance'  # no run info: told by its COCO categories
    assert card['counts'] == dict(total=4, accepted=3, rejected=1,
                                  rejected_by_reason={'low_score': 1})
    semantic = card['annotations']['semantic']
    assert semantic['source'] == 'masks'
    assert [(c['name'], c['images']) for c in semantic['classes']] == [
        ('background', 3), ('person', 3), ('cone', 2)]
    assert semantic['classes'][1]['pixel_fraction'] == pytest.approx(150 / (32 * 48), abs=1e-6)
    assert card['annotations']['instance']['categories'] == [
        dict(id=1, name='person', images=3, instances=3),
        dict(id=3, name='cone', images=2, instances=2)]
    pose = card['annotations']['pose']
    assert (pose['persons'], pose['visible_keypoints']) == (3, 6)
    assert [k['visible'] for k in pose['keypoints']] == [3, 3, 0]
    depth = card['annotations']['depth']
    assert depth['source'] == 'depth maps' and (depth['min'], depth['max']) == (1.0, 5.0)
    assert depth['mean_min'] == pytest.approx((1 + 2 + 4) / 3, abs=1e-3)
    assert card['diffusion_model'] is None and card['command'] is None
    with open(osp.join(root, 'README.md'), encoding='utf-8') as f:
        readme = f.read()
    assert _table_row(readme, 1, 'person', 3, 3) and _table_row(readme, 'hand', 3)
    assert _table_row(readme, 'rejected: `low_score`', 1, '25.0%')
    assert 'was not recorded' in readme
    with Image.open(osp.join(root, 'gallery.png')) as image:
        assert image.size[0] == 3 * (5 * 48 * 4) + 4 * 2  # 3 tiles of 5 panels, x4 to 128 px
    # without a gallery, one left from before is removed
    write_dataset_card(root, gallery=False)
    assert not osp.exists(osp.join(root, 'gallery.png'))
    assert read_dataset_meta(root)['card']['gallery'] is None


def test_the_card_holds_the_options_that_make_the_samples():
    typed = ['/repo/tools/generate.py', 'c.py', '--launcher', 'pytorch', '--out', 'd', '--resume',
             '--num', '3', '--out=e', '--no-card', '--overwrite', '--no-merge', '--device', 'cuda',
             '--cfg-options', 'a=1', 'b=x']
    assert generation_command(typed) == ['tools/generate.py', 'c.py', '--num', '3', '--device',
                                         'cuda', '--cfg-options', 'a=1', 'b=x']
    # the stream generator the online hook starts: no absolute path, no stream-only options
    stream = ['/site/x/mmdatasetdm/generation/stream.py', 'g.py', '--out', '/abs/stream',
              '--window', '64', '--num', '600', '--device', 'cpu', '--idle-timeout', '1800.0']
    assert generation_command(stream) == ['-m', 'mmdatasetdm.generation.stream', 'g.py', '--num',
                                          '600', '--device', 'cpu']
    from mmdatasetdm.generation.card import command_line
    assert command_line(generation_command(stream)) == \
        'python -m mmdatasetdm.generation.stream g.py --num 600 --device cpu'


def test_size_categories():
    assert [size_category(n) for n in (0, 999, 1000, 40000, 10 ** 6)] == [
        'n<1K', 'n<1K', '1K<n<10K', '10K<n<100K', '1M<n<10M']


def test_generate_tool_records_its_command_and_writes_the_card(tmp_path, semantic_checkpoint,
                                                               tiny_sd_folder):
    out = str(tmp_path / 'out')
    args = ['tools/generate.py', GENERATE_CFG, '--num', '2', '--out', out, '--cfg-options',
            f'decoder.checkpoint={semantic_checkpoint}',
            f'decoder.cfg_options.model.backbone.pretrained={tiny_sd_folder}',
            f'decoder.config={PDECODER_CFG}']
    env = dict(os.environ, PYTHONPATH=ROOT, OMP_NUM_THREADS='1')
    done = subprocess.run([sys.executable] + args, cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert f'dataset card: {osp.join(out, "README.md")}' in done.stdout
    card = read_dataset_meta(out)['card']
    assert recorded_command(out) == args
    assert card['command'] == args[:4] + args[6:] and card['counts']['total'] == 2
    before = _bytes(out)
    # --resume with another command line: not refused, and the same card
    resumed = subprocess.run([sys.executable] + args + ['--resume'], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert _bytes(out) == before


def _without(card, keys=('files', 'gallery', 'stream')):
    return {k: v for k, v in card.items() if k not in keys}


def test_a_stream_folders_card_is_the_merged_sets_card_from_its_part_files(tmp_path):
    """A stream folder is never merged and loses its sample files: its card is computed
    from the part files, and holds the facts the merged set's card holds."""
    import shutil

    from mmdatasetdm.generation.card import (is_stream_folder, read_card, stream_card_facts,
                                             write_stream_card)
    from mmdatasetdm.generation.stream import CONSUMER_STATE, GENERATOR_STATE, write_state
    merged = _all_kinds_set(str(tmp_path / 'set'))
    stream = str(tmp_path / 'stream')
    shutil.copytree(osp.join(merged, 'shards'), osp.join(stream, 'shards'))
    assert not is_stream_folder(stream)  # no generator has written a state yet
    write_state(stream, GENERATOR_STATE, dict(state='finished', num_samples=3, window=4,
                                              busy_s=2.0, waited_s=1.5, samples_per_s=2.0))
    write_state(stream, CONSUMER_STATE, dict(consumed=3, finished=True))
    assert is_stream_folder(stream)
    merged_card = read_dataset_meta(merged)['card']
    # the training job deleted the files of accepted sample 0
    first = read_json(osp.join(stream, 'shards', 'rank00000', 'parts', '00000000.json'))
    for rel in first['manifest']['files'].values():
        os.remove(osp.join(stream, 'shards', 'rank00000', rel))
    facts = write_stream_card(stream)
    # counts, instances and poses (from the part files) as the merged card has them; this
    # set records no scores, so the classes and depths come from the masks and depth maps
    # still on disk
    assert facts['counts'] == merged_card['counts']
    assert facts['annotations']['semantic']['images'] == 2
    assert facts['annotations']['depth']['images'] == 2
    assert facts['annotations']['instance'] == merged_card['annotations']['instance']
    assert facts['annotations']['pose'] == merged_card['annotations']['pose']
    assert facts['prompted_classes'] == merged_card['prompted_classes']
    assert facts['stream'] == dict(state='finished', num_samples=3, window=4, accepted=3,
                                   generated=4, files_kept=2, first_kept=1, busy_s=2.0,
                                   waited_s=1.5, samples_per_s=2.0, consumed=3,
                                   consumer_finished=True)
    assert facts['gallery']['indices'] == [1, 3]  # the accepted samples still on disk
    assert read_dataset_meta(stream)['card'] == facts == read_card(stream)
    with open(osp.join(stream, 'README.md'), encoding='utf-8') as f:
        readme = f.read()
    assert '## Stream' in readme and _table_row(readme, 'generated / accepted', '4 / 3')
    assert "type='mmdatasetdm.StreamingSyntheticDataset'" in readme
    assert _table_row(readme, 'rejected: `low_score`', 1, '25.0%')
    with Image.open(osp.join(stream, 'gallery.png')) as image:
        assert image.size[0] == 2 * (5 * 48 * 4) + 3 * 2
    # a stream with every file on disk and recorded scores: the merged card's facts exactly
    shutil.rmtree(stream)
    shutil.copytree(osp.join(merged, 'shards'), osp.join(stream, 'shards'))
    write_state(stream, GENERATOR_STATE, dict(state='running'))
    assert _without(stream_card_facts(stream)) == _without(merged_card)
    # browsing a config that reads the stream shows its card
    assert generated_roots(dict(type='ConcatDataset', datasets=[
        dict(data_root=merged), dict(stream_dir=stream, dataset=dict(data_root=stream))])) == [
            merged, stream]
