"""Online generation: a training run reading samples while the generator writes them."""
import json
import os.path as osp

import pytest
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.runner import Runner

from mmdatasetdm.fileio import read_manifest
from mmdatasetdm.fileio.synthetic_format import part_file, shard_dir
from mmdatasetdm.generation.stream import (CONSUMER_STATE, GENERATOR_STATE, StreamIndex, read_state,
                                           run_stream)
from tests.demo_world import build_dataset
from tests.test_generation.conftest import (ROOT, generate_cfg, make_engine,  # noqa: F401
                                            semantic_checkpoint)

ONLINE_CFG = osp.join(ROOT, 'projects', 'demo_world', 'configs', 'seg_synth_online_100.py')
WINDOW = 8  # generation batches of 2; the sampler shuffles blocks of 4
STREAM = 12  # 6 iterations x 4 items, half of them streamed
ITERS = 6
TINY_CLASSES = ('background', 'cone', 'ball')


def _min_prompted_fraction(line):
    ids = {name: i for i, name in enumerate(TINY_CLASSES)}
    fractions = line['scores'].get('class_fractions', {})
    return min(fractions.get(str(ids[c]), 0.0) for c in line['classes'] if c in ids)


@pytest.fixture(scope='module')
def generation(tmp_path_factory, semantic_checkpoint, tiny_sd_folder):  # noqa: F811
    """A generation config that rejects about a third of its samples, and a fixed set made
    with it (the reference of what a stream holds)."""
    tmp = tmp_path_factory.mktemp('online')
    cfg = generate_cfg(semantic_checkpoint, tiny_sd_folder)
    probe = str(tmp / 'probe')
    engine = make_engine(cfg, num=32)
    engine.run(probe, progress=False)
    engine.merge(probe)
    values = sorted({_min_prompted_fraction(line) for line in read_manifest(probe)})
    cut = len(values) // 3
    cfg.filters.min_class_fraction = (values[cut - 1] + values[cut]) / 2
    cfg.filters.require_prompted = False
    fixed = str(tmp / 'fixed')
    engine = make_engine(cfg, num=32)
    engine.run(fixed, progress=False)
    engine.merge(fixed)
    path = str(tmp / 'generate.py')
    cfg.dump(path)
    lines = read_manifest(fixed)
    accepted = [line for line in lines if line['accepted']]
    assert len(accepted) >= STREAM and len(accepted) < len(lines)  # some are rejected
    return dict(config=path, cfg=cfg, accepted=accepted, tmp=tmp)


def online_cfg(world, stream_dir, work_dir, gen_config, iters=ITERS):
    cfg = Config.fromfile(ONLINE_CFG)
    cfg.work_dir = str(work_dir)
    train = cfg.train_dataloader
    train.batch_size = 4
    real, synthetic = train.dataset.datasets
    real.data_root = world
    synthetic.update(stream_dir=str(stream_dir), num_samples=STREAM, window=WINDOW, timeout=120)
    for key in ('val_dataloader', 'test_dataloader'):
        cfg[key].dataset.data_root = world
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=iters, val_interval=1000)
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.test_cfg = cfg.test_dataloader = cfg.test_evaluator = None
    cfg.param_scheduler = []
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', by_epoch=False, interval=2)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)
    cfg.custom_hooks = [dict(type='mmdatasetdm.OnlineGenerationHook', config=gen_config,
                             idle_timeout=300, stop_timeout=60)]
    return cfg


def provenance(work_dir):
    with open(osp.join(work_dir, 'stream_provenance.jsonl')) as f:
        lines = [json.loads(line) for line in f]
    return lines[0], lines[1:]


class CrashAt(Hook):
    """Stops a run with an error after iteration ``at`` (between two checkpoints)."""

    def __init__(self, at):
        self.at = at

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if batch_idx == self.at:
            raise KeyboardInterrupt(f'killed after iteration {batch_idx + 1}')


@pytest.fixture(scope='module')
def online_run(generation, tiny_world):
    """An uninterrupted online run of 6 iterations."""
    tmp = generation['tmp']
    cfg = online_cfg(tiny_world, tmp / 'stream_a', tmp / 'work_a', generation['config'])
    Runner.from_cfg(cfg).train()
    return dict(stream=str(tmp / 'stream_a'), work=str(tmp / 'work_a'))


def test_the_model_sees_the_fixed_sets_accepted_samples_in_stream_order(generation, online_run):
    header, iters = provenance(online_run['work'])
    assert header['window'] == WINDOW and header['block'] == WINDOW // 2
    assert [line['iter'] for line in iters] == list(range(ITERS))
    seen = sorted(s for line in iters for s in line['stream'])
    # every streamed position read once; position k is the k-th accepted sample of the fixed set
    assert [s[0] for s in seen] == list(range(STREAM))
    expected = [[k, line['index'], line['prompt']]
                for k, line in enumerate(generation['accepted'][:STREAM])]
    assert seen == expected
    # half of every batch is real (ConcatDataset indices below the stream's offset)
    num_real = len([i for line in iters for i in line['indices'] if i < header['offset']])
    assert num_real == ITERS * 4 - STREAM
    # positions move in blocks of 4: iteration i reads stream positions of blocks <= i
    for line in iters:
        assert all(s[0] // 4 <= line['iter'] for s in line['stream'])


def test_the_generator_stays_within_the_window_and_old_files_are_deleted(generation, online_run):
    _, iters = provenance(online_run['work'])
    for line in iters:
        assert line['available'] <= line['requested'] + WINDOW
        assert line['consumed'] <= line['requested']
    consumer = read_state(online_run['stream'], CONSUMER_STATE)
    assert consumer['finished'] and consumer['consumed'] == STREAM
    # the last checkpoint (iteration 4) resumes from position 8; the window keeps 8 behind 12
    assert consumer['pruned_below'] == 4
    index = StreamIndex(online_run['stream'])
    available = index.refresh()
    assert STREAM <= available <= STREAM + WINDOW
    assert read_state(online_run['stream'], GENERATOR_STATE)['state'] in ('finished', 'stopped')
    folder = shard_dir(online_run['stream'], 0)
    for k, (sample_index, _, part) in enumerate(index.samples):
        assert osp.isfile(part_file(folder, sample_index))  # the provenance stays
        files = [osp.isfile(osp.join(folder, rel)) for rel in part['manifest']['files'].values()]
        assert files == [k >= 4] * 2, k  # image and mask gone before position 4 only


def test_the_stream_has_a_dataset_card_with_the_final_position(generation, online_run):
    """Written by the generator when it stops and again by the hook at the end of training
    (the consumer's final position); its facts are those of the part files."""
    from collections import Counter

    from mmdatasetdm.fileio import read_dataset_meta
    from mmdatasetdm.generation.card import read_card
    stream = online_run['stream']
    index = StreamIndex(stream)
    index.refresh()
    lines = [json.loads(open(part_file(shard_dir(stream, 0), i)).read())['manifest']
             for i in range(index.next_index)]
    card = read_dataset_meta(stream)['card']
    assert card == read_card(stream)
    rejected = Counter(line['reason'] for line in lines if not line['accepted'])
    assert card['counts'] == dict(total=len(lines), accepted=len(index), rejected=sum(
        rejected.values()), rejected_by_reason=dict(sorted(rejected.items())))
    assert card['stream']['consumed'] == STREAM and card['stream']['consumer_finished']
    assert card['stream']['state'] in ('finished', 'stopped')
    assert card['stream']['window'] == WINDOW
    # the generator the hook started, quoted without its folder and stream-only options
    command = card['command']
    assert command[:3] == ['-m', 'mmdatasetdm.generation.stream', generation['config']]
    assert '--out' not in command and '--window' not in command
    assert command[command.index('--num') + 1] == str(STREAM)
    # the files of positions 0-3 were deleted (see the window test): the rest are on disk
    assert card['stream']['files_kept'] == len(index) - 4
    assert card['stream']['first_kept'] == index.samples[4][0]
    kept = [i for i, _, _ in index.samples[4:]]
    assert card['gallery']['indices'] == kept[-8:]
    images = Counter(int(k) for line in lines if line['accepted']
                     for k, v in line['scores']['class_fractions'].items() if v > 0)
    assert {c['id']: c['images'] for c in card['annotations']['semantic']['classes']} == {
        i: images[i] for i in range(len(card['annotations']['semantic']['classes']))}
    assert osp.isfile(osp.join(stream, 'README.md')) and osp.isfile(osp.join(stream, 'gallery.png'))


def test_a_resumed_run_sees_the_same_samples(generation, online_run, tiny_world):
    tmp = generation['tmp']
    work = tmp / 'work_b'
    cfg = online_cfg(tiny_world, tmp / 'stream_b', work, generation['config'])
    runner = Runner.from_cfg(cfg)
    runner.register_hook(CrashAt(at=4))  # after iteration 5 of 6; the last checkpoint is 4
    with pytest.raises(KeyboardInterrupt):
        runner.train()
    _, crashed = provenance(str(work))
    assert [line['iter'] for line in crashed] == [0, 1, 2, 3, 4]
    cfg = online_cfg(tiny_world, tmp / 'stream_b', work, generation['config'])
    cfg.resume = True
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.iter == ITERS
    _, resumed = provenance(str(work))
    _, uninterrupted = provenance(online_run['work'])
    keys = ('iter', 'indices', 'stream')
    assert [{k: line[k] for k in keys} for line in resumed] == \
        [{k: line[k] for k in keys} for line in uninterrupted]


def test_a_stream_consumed_by_another_run_is_refused(generation, online_run, tiny_world):
    tmp = generation['tmp']
    cfg = online_cfg(tiny_world, online_run['stream'], tmp / 'work_c', generation['config'])
    with pytest.raises(RuntimeError, match='deleted the files before position 4'):
        Runner.from_cfg(cfg).train()


def test_a_generator_of_another_run_is_refused_and_the_reader_says_so(generation, online_run):
    cfg = generation['cfg'].copy()
    cfg.prompts.seed = 1  # another run: other prompts and seeds
    engine = make_engine(cfg, num=None)
    # the stream's dataset.json (its card's file) or its shard names the run it belongs to
    with pytest.raises((FileExistsError, ValueError), match='another run'):
        run_stream(engine, online_run['stream'], window=WINDOW, num_samples=STREAM + 4,
                   log=None)
    state = read_state(online_run['stream'], GENERATOR_STATE)
    assert state['state'] == 'failed' and 'prompts.seed: 0 -> 1' in state['error']
    dataset = _stream_dataset(online_run['stream'], timeout=30)
    assert dataset.get_data_info(5)['stream_index'] == generation['accepted'][5]['index']
    with pytest.raises(RuntimeError, match='failed .*sample 13 never arrives.*another run'):
        dataset[13]


def _stream_dataset(stream_dir, timeout):
    return build_dataset(dict(
        type='mmdatasetdm.StreamingSyntheticDataset', stream_dir=str(stream_dir), num_samples=16,
        window=WINDOW, timeout=timeout, poll_interval=0.05,
        dataset=dict(type='mmdatasetdm.SyntheticSegDataset',
                     metainfo=dict(classes=TINY_CLASSES, palette=[[0, 0, 0]] * 3),
                     pipeline=[dict(type='LoadImageFromFile')])), 'mmseg')


def test_a_sample_that_never_arrives_times_out_with_the_folder_and_index(tmp_path):
    dataset = _stream_dataset(tmp_path / 'empty_stream', timeout=0.3)
    assert len(dataset) == 16
    with pytest.raises(TimeoutError, match=r'empty_stream: sample 3 \(the 3-th accepted sample\) '
                                           r'did not arrive within 0 s; 0 accepted'):
        dataset[3]
    with pytest.raises(IndexError, match='out of range'):
        dataset[16]


def test_stream_sampler_is_a_function_of_seed_and_position(tmp_path):
    from mmengine.dataset import BaseDataset, ConcatDataset

    from mmdatasetdm.datasets import StreamSampler

    class Real(BaseDataset):

        def load_data_list(self):
            return [dict(i=i) for i in range(6)]

    stream = _stream_dataset(tmp_path / 's', timeout=1)
    concat = ConcatDataset([Real(metainfo=stream.metainfo, serialize_data=False), stream])
    sampler = StreamSampler(concat, seed=3, real_ratio=0.5)
    assert sampler.block == WINDOW // 2 and sampler.total == 16 + 8 and len(sampler) == 24
    full = list(sampler)
    assert full == list(StreamSampler(concat, seed=3, real_ratio=0.5))
    assert full != list(StreamSampler(concat, seed=4, real_ratio=0.5))
    stream_part = [i - 6 for i in full if i >= 6]
    # blocks of 4 stream positions (and 2 real draws) in increasing order, shuffled inside
    assert [sorted(stream_part[b:b + 4]) for b in range(0, 16, 4)] == \
        [list(range(b, b + 4)) for b in range(0, 16, 4)]
    assert stream_part != sorted(stream_part)
    real = [i for i in full if i < 6]
    assert len(real) == 8 and sorted(set(real)) == list(range(6))  # one pass and a bit
    # a resumed sampler continues the sequence; the frontier is the lowest unread position
    calls = []
    sampler.set_start(10)
    sampler.listener = calls.append
    assert list(sampler) == full[10:]
    assert calls == [10, 12, 18]  # where blocks 1 (partly read), 2 and 3 start
    read = [i - 6 for i in full[:10] if i >= 6]
    assert sampler.stream_frontier(10) == min(set(range(17)) - set(read))
    sampler.set_epoch(1)
    with pytest.raises(RuntimeError, match='is read once'):
        list(sampler)


@pytest.mark.parametrize('task', ['depth', 'instance'])
def test_depth_and_instance_streams_read_like_the_fixed_set(task, small_world, tmp_path):
    """Position k of a stream is the fixed set's k-th accepted sample, through the same
    dataset type: the same image, depth map or instances (boxes, labels, masks) after the
    same pipeline. The set holds a rejected sample, which has no position."""
    import numpy as np
    from mmengine.registry import init_default_scope

    from mmdatasetdm.registry import DATASETS
    from tests.test_datasets.synthetic_sets import depth_from_world, instances_from_world
    if task == 'depth':
        root = depth_from_world(small_world, 'test', str(tmp_path / 'set'), num=6)
        inner = dict(type='mmdatasetdm.SyntheticDepthDataset',
                     metainfo_from='mmdatasetdm.DemoWorldDepthDataset',
                     pipeline=[dict(type='LoadImageFromFile'),
                               dict(type='LoadDepthAnnotation', depth_rescale_factor=1e-3),
                               dict(type='PackSegInputs', meta_keys=('img_path', 'category_id'))])
        scope = 'mmseg'
    else:
        root = instances_from_world(small_world, 'test', str(tmp_path / 'set'), num=6)
        inner = dict(type='mmdatasetdm.SyntheticInstanceDataset',
                     metainfo_from='mmdatasetdm.DemoWorldDetDataset',
                     pipeline=[dict(type='LoadImageFromFile'),
                               dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
                               dict(type='PackDetInputs')])
        scope = 'mmdet'
    init_default_scope(scope)
    fixed = DATASETS.build(dict(inner, data_root=root))
    accepted = [line for line in read_manifest(root) if line['accepted']]
    assert len(accepted) == len(fixed) < len(read_manifest(root))  # one sample was rejected
    # the set's shard folder is what a stream folder holds (the generator writes it the same)
    stream = DATASETS.build(dict(type='mmdatasetdm.StreamingSyntheticDataset', stream_dir=root,
                                 num_samples=len(fixed), dataset=inner, timeout=5))
    assert stream.metainfo == fixed.metainfo
    for k in range(len(fixed)):
        want, got = fixed[k], stream[k]
        name = osp.basename(accepted[k]['files']['image'])
        assert osp.basename(got['data_samples'].img_path) == name
        assert osp.basename(want['data_samples'].img_path) == name
        assert np.array_equal(got['inputs'].numpy(), want['inputs'].numpy())
        if task == 'depth':
            assert np.array_equal(got['data_samples'].gt_depth_map.data.numpy(),
                                  want['data_samples'].gt_depth_map.data.numpy())
            assert got['data_samples'].category_id == want['data_samples'].category_id
        else:
            g, w = got['data_samples'].gt_instances, want['data_samples'].gt_instances
            assert len(g) == len(w) > 0
            assert np.array_equal(g.bboxes.numpy(), w.bboxes.numpy())
            assert np.array_equal(g.labels.numpy(), w.labels.numpy())
            assert np.array_equal(g.masks.masks, w.masks.masks)
    with pytest.raises(TimeoutError, match=f'sample {len(fixed)}'):
        DATASETS.build(dict(type='mmdatasetdm.StreamingSyntheticDataset', stream_dir=root,
                            num_samples=len(fixed) + 1, dataset=inner, timeout=0.5,
                            poll_interval=0.1))[len(fixed)]


@pytest.mark.parametrize('mode', ['bottomup', 'topdown'])
def test_pose_streams_read_like_the_fixed_set(mode, small_world, tmp_path):
    """A pose stream position is one generated image: bottomup, the fixed set's image with
    all its persons; topdown, its most confident person. The generator's keypoint order
    differs from the dataset's and is matched by name, as the fixed set does."""
    import numpy as np
    from mmengine.registry import init_default_scope

    from mmdatasetdm.registry import DATASETS
    from projects.demo_world.demo_world import KEYPOINT_NAMES
    from tests.test_datasets.synthetic_sets import poses_from_world
    from tests.test_datasets.test_synthetic_pose import assert_same_keypoint_metainfo
    order = list(range(len(KEYPOINT_NAMES)))[::-1]
    root = poses_from_world(small_world, 'test', str(tmp_path / 'set'), num=8, order=order,
                            low_score_every=2)
    init_default_scope('mmpose')
    inner = dict(type='mmdatasetdm.SyntheticPoseDataset', data_mode=mode, pipeline=[],
                 metainfo_from='mmdatasetdm.DemoWorldPoseDataset')
    fixed = DATASETS.build(dict(inner, data_root=root))
    accepted = [line for line in read_manifest(root) if line['accepted']]
    by_image = {}
    for k in range(len(fixed)):
        info = fixed.get_data_info(k)
        by_image.setdefault(osp.basename(info['img_path']), []).append(info)
    with_people = [k for k, line in enumerate(accepted)
                   if osp.basename(line['files']['image']) in by_image]
    assert len(with_people) >= 4
    stream = DATASETS.build(dict(type='mmdatasetdm.StreamingSyntheticDataset', stream_dir=root,
                                 num_samples=len(accepted), dataset=inner, timeout=5))
    assert_same_keypoint_metainfo(stream.metainfo, fixed.metainfo)
    for k in with_people:
        got = stream.get_data_info(k)
        want = by_image[osp.basename(accepted[k]['files']['image'])]
        if mode == 'bottomup':
            assert len(want) == 1
            want = want[0]
        else:
            scores = [w['raw_ann_info']['score'] for w in want]
            want = want[int(np.argmax(scores))]
        # the stream reads the shard's file, the fixed set its merged copy
        assert osp.basename(got['img_path']) == osp.basename(want['img_path'])
        assert got['stream_index'] == accepted[k]['index']
        for key in ('keypoints', 'keypoints_visible', 'bbox', 'id', 'flip_indices',
                    'dataset_name'):
            np.testing.assert_array_equal(np.asarray(got[key], dtype=object),
                                          np.asarray(want[key], dtype=object), err_msg=key)
        assert stream[k]['img_path'] == got['img_path']  # through the (empty) pipeline
    if mode == 'topdown':
        # a second, more confident person in sample k's part file: the stream takes it
        import shutil
        k = with_people[0]
        copy_root = str(tmp_path / 'two_persons')
        shutil.copytree(root, copy_root)
        path = part_file(shard_dir(copy_root, 0), accepted[k]['index'])
        part = json.loads(open(path).read())
        other = dict(part['keypoints'][0], id=part['keypoints'][0]['id'] + 1000,
                     score=part['keypoints'][0]['score'] + 0.1)
        other['keypoints'] = [v + 1 if i % 3 == 0 and other['keypoints'][i + 2] > 0 else v
                              for i, v in enumerate(other['keypoints'])]
        part['keypoints'].append(other)
        with open(path, 'w') as f:
            json.dump(part, f)
        two = DATASETS.build(dict(type='mmdatasetdm.StreamingSyntheticDataset',
                                  stream_dir=copy_root, num_samples=len(accepted), dataset=inner,
                                  timeout=5))
        got, first = two.get_data_info(k), stream.get_data_info(k)
        assert got['id'] == other['id']
        visible = first['keypoints_visible'][0] > 0
        np.testing.assert_allclose(got['keypoints'][0][visible, 0],
                                   first['keypoints'][0][visible, 0] + 1)
    missing = [k for k in range(len(accepted)) if k not in with_people]
    if missing:
        with pytest.raises(Exception, match='has no pose with a labelled keypoint'):
            stream[missing[0]]


def test_a_combined_dataset_that_resamples_is_refused():
    """mmpose's CombinedDataset with sample_ratio_factor maps an index to a random sample of
    its part: a stream position could not be followed."""
    from mmdatasetdm.datasets.streaming import split_stream

    class CombinedDataset:  # the attributes mmpose's wrapper has
        resample, lens, datasets = True, [3, 2], []

    with pytest.raises(TypeError, match="sample_ratio_factor .*sampler's real_ratio"):
        split_stream(CombinedDataset())
    with pytest.raises(TypeError, match='CombinedDataset with exactly one, got list'):
        split_stream([])
