"""The thin CLIs: tools/train.py and tools/test.py on the tiny semantic P-Decoder."""
import glob
import json
import os
import os.path as osp
import re
import subprocess
import sys
from types import SimpleNamespace

import pytest

from mmdatasetdm.generation.annotations import REJECT_REASONS
from tests.toy_data import make_toy_seg_dataset

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..'))
CONFIG = 'configs/pdecoder/semantic_tiny.py'


def _run(args, **kw):
    env = dict(os.environ, PYTHONPATH=ROOT)
    return subprocess.run([sys.executable] + args, cwd=ROOT, env=env, capture_output=True,
                          text=True, **kw)


def test_train_resume_and_test_from_the_command_line(tmp_path, tiny_sd_folder):
    data = make_toy_seg_dataset(str(tmp_path / 'data'), num=4, size=64)
    work = str(tmp_path / 'work')
    opts = [
        '--cfg-options', f'model.backbone.pretrained={tiny_sd_folder}',
        f'train_dataloader.dataset.data_root={data}', f'val_dataloader.dataset.data_root={data}',
        f'test_dataloader.dataset.data_root={data}', 'train_cfg.max_iters=2',
        'train_cfg.val_interval=2', 'default_hooks.checkpoint.interval=2'
    ]
    out = _run(['tools/train.py', CONFIG, '--work-dir', work] + opts)
    assert out.returncode == 0, out.stderr[-3000:]
    assert osp.isfile(osp.join(work, 'iter_2.pth'))
    assert 'mIoU' in out.stdout + out.stderr

    out = _run(['tools/train.py', CONFIG, '--work-dir', work, '--resume'] + opts[:-3] +
               ['train_cfg.max_iters=4', 'train_cfg.val_interval=4',
                'default_hooks.checkpoint.interval=4'])
    assert out.returncode == 0, out.stderr[-3000:]
    assert 'Load checkpoint from' in out.stdout + out.stderr
    assert osp.isfile(osp.join(work, 'iter_4.pth'))

    metrics_file = str(tmp_path / 'metrics.json')
    out = _run(['tools/test.py', CONFIG, osp.join(work, 'iter_4.pth'), '--work-dir', work,
                '--out', metrics_file] + opts[:5])
    assert out.returncode == 0, out.stderr[-3000:]
    with open(metrics_file) as f:
        metrics = json.load(f)
    # tools/test.py scores the checkpoint as the resumed run's own validation did (its
    # val and test sets are the same images)
    validated = [json.loads(line) for line in open(
        sorted(glob.glob(osp.join(work, '*', 'vis_data', 'scalars.json')))[-1])
        if 'mIoU' in line]
    assert validated[-1]['step'] == 4
    for key in ('aAcc', 'mIoU', 'mAcc'):
        assert metrics[key] == validated[-1][key]


def _quick_demo(task, sd, tmp_path):
    out = _run(['projects/demo_world/tools/run_demo.py', '--task', task, '--quick', '--sd', sd,
                '--work-dir', str(tmp_path / 'work'), '--world', str(tmp_path / 'world'),
                '--synth', str(tmp_path / 'synth')])
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    # --quick generates 8 samples with permissive filters; a 20-iteration decoder on random
    # weights may still predict nothing for some, and every rejection must be accounted for
    found = re.search(r'(\d+) accepted synthetic samples of (\d+)(?: \(rejected: (.*)\))?',
                      out.stdout)
    assert found, out.stdout[-3000:]
    accepted, total = int(found.group(1)), int(found.group(2))
    assert total == 8 and 1 <= accepted <= 8
    rejected = [part.split(' ', 1) for part in (found.group(3) or '').split(', ') if part]
    assert accepted + sum(int(n) for n, _ in rejected) == total
    assert all(reason in REJECT_REASONS for _, reason in rejected)
    for arm in ('real_only', 'real_synthetic'):
        for split in ('test', 'test_shifted'):
            assert any(line.startswith(arm) and split in line for line in out.stdout.splitlines())
    with open(tmp_path / 'work' / 'results.json') as f:
        results = json.load(f)
    assert set(results) == {'real_only', 'real_synthetic'}
    assert all(set(results[arm]) == {'test', 'test_shifted'} for arm in results)
    assert osp.isfile(tmp_path / 'work' / 'synthetic_gallery.png')
    assert osp.isfile(tmp_path / 'work' / 'training_curves.png')
    return results


@pytest.mark.slow
def test_main_job_smoke_run(tmp_path, demo_architecture_sd):
    """projects/demo_world/tools/run_demo.py --quick: every stage of the main job on a
    demo-architecture SD
    model (random weights), ending in the real-only vs mixed IoUMetric table."""
    results = _quick_demo('semantic', demo_architecture_sd, tmp_path)
    assert set(results['real_only']['test']['per_class']) == {
        'background', 'person', 'car', 'cone', 'tree', 'ball'}
    # Both arms learn in the 20 quick iterations: measured (1 thread) 15.98 and 16.71 mIoU on
    # `test` (background IoU 62.8 and 67.6); the same segmentor untrained scores about 3
    # (tests/test_projects/test_demo_world/test_seg_downstream.py measures 2.8).
    for arm in results.values():
        assert arm['test']['mIoU'] >= 8, results
        assert arm['test']['per_class']['background'] >= 40, results


def test_main_job_refuses_a_world_of_another_version(tmp_path, demo_architecture_sd):
    """A world written by an older generator is not silently reused."""
    world = tmp_path / 'world'
    world.mkdir()
    (world / 'meta.json').write_text(json.dumps(dict(format_version=2)))
    out = _run(['projects/demo_world/tools/run_demo.py', '--quick', '--sd', demo_architecture_sd,
                '--work-dir', str(tmp_path / 'work'), '--world', str(world)])
    assert out.returncode != 0
    assert (f'{world}/meta.json: format_version is 2, but this code writes demo worlds of '
            'version 4') in out.stderr
    assert json.loads((world / 'meta.json').read_text()) == dict(format_version=2)


# the metric each task's table must carry (the toolbox's stock evaluator)
TASK_METRICS = dict(instance='coco/segm_mAP', depth='rmse', pose='coco/AP')


@pytest.mark.slow
@pytest.mark.parametrize('task', sorted(TASK_METRICS))
def test_task_demo_smoke_run(task, tmp_path, demo_architecture_sd):
    """projects/demo_world/tools/run_demo.py --task <task> --quick: P-Decoder, generation, both
    arms and the
    stock metric of the task on test and test_shifted."""
    results = _quick_demo(task, demo_architecture_sd, tmp_path)
    key = TASK_METRICS[task]
    for arm in results.values():
        for split in arm.values():
            assert key in split, sorted(split)
    # the table's numbers are the stock evaluation of the arm's checkpoint: tools/test.py
    # scores it the same (20 iterations learn too little to assert learning here; the task
    # configs' learning is asserted in tests/test_configs/test_<task>_mixing.py)
    short = dict(instance='inst', depth='depth', pose='pose')[task]
    config = f'projects/demo_world/configs/{short}_real_100.py'
    world = str(tmp_path / 'world')
    opts = [f'test_dataloader.dataset.data_root={world}']
    if task == 'instance':
        opts.append(f'test_evaluator.ann_file={world}/annotations/instances_test.json')
    out_file = str(tmp_path / 'tested.json')
    out = _run(['tools/test.py', config, str(tmp_path / 'work' / 'real_only' / 'iter_20.pth'),
                '--work-dir', str(tmp_path / 'tested'), '--out', out_file, '--cfg-options']
               + opts)
    assert out.returncode == 0, out.stderr[-3000:]
    with open(out_file) as f:
        tested = json.load(f)
    assert tested[key] == pytest.approx(results['real_only']['test'][key], abs=1e-9)


def test_resume_of_a_fine_tune_starts_from_load_from_then_resumes_its_own(tmp_path):
    """``--resume`` with a config ``load_from``: the weights are loaded (not resumed, which
    would restore their iteration count and end the run) until the work dir holds a
    checkpoint of its own; from then on that one is resumed."""
    from tests.tool_module import load_tool
    train = load_tool('tools/train.py')
    work, weights = tmp_path / 'work', str(tmp_path / 'pretrained.pth')

    def build(*opts):
        args = SimpleNamespace(config=osp.join(ROOT, CONFIG), work_dir=str(work),
                               resume='auto', amp=False, launcher='none',
                               cfg_options=dict(o.split('=', 1) for o in opts) or None)
        cfg = train.build_config(args)
        return cfg.resume, cfg.load_from

    assert build(f'load_from={weights}') == (False, weights)
    work.mkdir()
    (work / 'iter_500.pth').write_bytes(b'')
    (work / 'last_checkpoint').write_text(str(work / 'iter_500.pth'))
    assert build(f'load_from={weights}') == (True, None)
    assert build() == (True, None)  # a plain run resumes (or starts) as before
