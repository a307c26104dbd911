"""projects/demo_world/tools/paper_tables.py: the cells, their seeds, the statistics and a
resumable quick run."""
import json
import math
import os.path as osp
import subprocess
import sys

import pytest

from tests.tool_module import load_tool

ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..', '..'))
TOOL = 'projects/demo_world/tools/paper_tables.py'


@pytest.fixture(scope='module')
def tables():
    return load_tool(TOOL)


def _plan(tables, tmp_path, *argv):
    args = tables.parse_args(['--work-dir', str(tmp_path / 'work'), '--world',
                              str(tmp_path / 'world')] + list(argv))
    return tables.build_plan(args)


def _opt(cmd, key):
    """The value of ``key=`` among a command's --cfg-options (None if absent)."""
    found = [c.split('=', 1)[1] for c in cmd if c.startswith(key + '=')]
    assert len(found) <= 1, found
    return found[0] if found else None


def test_seeds_vary_the_draw_the_prompts_and_the_training_seed(tables, tmp_path):
    plan = _plan(tables, tmp_path, '--seeds', '3', '--studies', 'rq3', '--tasks', 'semantic')
    jobs = plan.jobs
    for seed, split in enumerate(['train_100', 'train_100_seed1', 'train_100_seed2']):
        pdecoder = jobs[f'pdecoder/semantic/default/n100/seed{seed}'].cmd
        assert _opt(pdecoder, 'train_dataloader.dataset.split') == split
        assert _opt(pdecoder, 'randomness.seed') == str(seed)
        synth = jobs[f'synth/semantic/default/n100/seed{seed}/subtypes_400']
        assert _opt(synth.cmd, 'prompts.seed') == str(seed)
        assert _opt(synth.cmd, 'decoder.checkpoint') == osp.join(
            plan.work, f'pdecoder/semantic/default/n100/seed{seed}', 'iter_1000.pth')
        assert synth.deps == (f'pdecoder/semantic/default/n100/seed{seed}', )
        real = jobs[f'arm/semantic/n100/seed{seed}/real_only'].cmd
        assert _opt(real, 'train_dataloader.dataset.split') == split
        assert _opt(real, 'randomness.seed') == str(seed)
        mixed = jobs[f'arm/semantic/n100/seed{seed}/'
                     f'synth.semantic.default.n100.seed{seed}.subtypes_400'].cmd
        assert _opt(mixed, 'train_dataloader.dataset.datasets.0.dataset.split') == split
        assert _opt(mixed, 'train_dataloader.dataset.datasets.1.data_root') == osp.join(
            plan.work, f'synth/semantic/default/n100/seed{seed}/subtypes_400')
        # no model is scored on a test split during training
        for cmd in (pdecoder, real, mixed):
            assert _opt(cmd, 'val_dataloader') == 'None'
    assert plan.splits == {'train_100': 100, 'train_100_seed1': 100, 'train_100_seed2': 100}
    # 3 seeds x 2 arms x 2 splits
    assert len(plan.cells) == 12
    assert {(c.row, c.seed, c.split) for c in plan.cells} == {
        (row, seed, split) for row in ('real_only', 'real_synthetic') for seed in range(3)
        for split in ('test', 'test_shifted')}


def test_studies_share_jobs_and_sweeps_change_one_factor(tables, tmp_path):
    plan = _plan(tables, tmp_path, '--seeds', '1', '--tasks', 'semantic')
    keys = list(plan.jobs)
    assert len(keys) == len(set(keys))
    # rq1, rq3 and rq4 use the same seed-0 P-Decoder and real-only arm: one job each
    assert sum(k == 'pdecoder/semantic/default/n100/seed0' for k in keys) == 1
    cells = [c for c in plan.cells if c.row == 'real_only' and c.seed == 0 and c.split == 'test'
             and c.params.get('labels', 100) == 100 and c.study != 'zs']
    assert {c.study for c in cells} == {'rq1', 'rq2', 'rq3', 'rq4', 'levers'}
    assert len({c.job for c in cells}) == 1
    # the zero-shot real-only arm hides classes: another job
    zs = [c for c in plan.cells if c.study == 'zs' and c.row == 'real_only' and c.seed == 0]
    assert zs and zs[0].job == 'arm/semantic/n100/seed0/real_only_zs/score_test'
    # the label sweep writes its own splits; the 5000-label reference reads train_large
    assert plan.splits['train_10_seed0'] == 10 and plan.splits['train_500_seed0'] == 500
    assert plan.splits['train_large'] == 5000
    # rq4: the timestep variant changes the P-Decoder and the decoder the generator builds
    t1 = plan.jobs['pdecoder/semantic/t1/n100/seed0'].cmd
    assert _opt(t1, 'model.backbone.timestep') == '1'
    gen = plan.jobs['synth/semantic/t1/n100/seed0/subtypes_400'].cmd
    assert _opt(gen, 'decoder.cfg_options.model.backbone.timestep') == '1'
    no_attention = plan.jobs['synth/semantic/no_attention/n100/seed0/subtypes_400'].cmd
    assert _opt(no_attention, 'decoder.cfg_options.model.decode_head.pixel_decoder.attention') \
        == 'None'
    names = plan.jobs['synth/semantic/default/n100/seed0/names_400'].cmd
    assert names[2] == 'projects/demo_world/configs/generate_semantic_names.py'
    assert _opt(names, 'prompts.source.templates') is None
    llm = plan.jobs['synth/semantic/default/n100/seed0/llm_400'].cmd
    assert llm[2] == 'projects/demo_world/configs/generate_semantic_llm.py'
    assert [c.params for c in plan.cells if c.row == 'mixed prompts=llm' and c.study == 'rq4'] \
        == [dict(factor='prompts', value='llm')] * 2
    assert '6400' in plan.jobs['synth/semantic/default/n100/seed0/subtypes_6400'].cmd
    # --num-synthetic narrows the set-size sweep, nothing else
    narrow = _plan(tables, tmp_path, '--seeds', '1', '--tasks', 'semantic',
                   '--num-synthetic', '400', '1600')
    assert set(plan.jobs) - set(narrow.jobs) == {
        'synth/semantic/default/n100/seed0/subtypes_6400',
        'arm/semantic/n100/seed0/synth.semantic.default.n100.seed0.subtypes_6400',
        'arm/semantic/n100/seed0/synth.semantic.default.n100.seed0.subtypes_6400/score_test',
        'arm/semantic/n100/seed0/synth.semantic.default.n100.seed0.subtypes_6400/'
        'score_test_shifted'}
    assert set(narrow.jobs) < set(plan.jobs)
    # the jobs come in priority order: semantic rq3 before the sweeps
    assert keys.index('arm/semantic/n100/seed0/real_only') < keys.index(
        'pdecoder/semantic/default/n10/seed0')


def test_rows_narrow_a_study_to_the_named_rows_over_more_seeds(tables, tmp_path):
    plan = _plan(tables, tmp_path, '--sweep-seeds', '3', '--studies', 'levers', '--tasks',
                 'semantic', '--rows', 'mixed prompts=llm', 'real_only')
    assert {(c.row, c.seed, c.split) for c in plan.cells} == {
        (row, seed, split) for row in ('mixed prompts=llm', 'real_only') for seed in range(3)
        for split in ('val', 'test', 'test_shifted')}
    # what those cells need, and nothing of the other levers
    needed = tables.jobs_to_run(plan, {})
    assert 'synth/semantic/default/n100/seed2/llm_400' in needed
    assert 'pdecoder/semantic/default/n100/seed2' in needed
    assert not any('balanced' in k or 'agreement' in k or 'finetune' in k for k in needed)
    with pytest.raises(SystemExit, match=r"\['mixed prompts=gpt'\]: no such row"):
        _plan(tables, tmp_path, '--studies', 'levers', '--tasks', 'semantic', '--rows',
              'mixed prompts=gpt')


def test_statistics():
    tables = load_tool(TOOL)
    s = tables.stats([1.0, 2.0, 3.0])
    assert s['n'] == 3 and s['mean'] == 2.0 and s['std'] == 1.0
    # t(0.975, 2) = 4.3027: half width 4.3027 / sqrt(3)
    assert s['ci95'] == pytest.approx([2 - 2.48414, 2 + 2.48414], abs=1e-4)
    assert tables.fmt(s) == '2.00 ± 1.00 [-0.48, 4.48] (n=3)'
    assert tables.fmt(tables.stats([5.0]), 3) == '5.000 (n=1)'
    assert tables.fmt(tables.stats([])) == '—'


def test_recorded_cells_are_not_rerun_nor_dropped(tables, tmp_path):
    """Cells done in an earlier checkout (the committed report) skip the jobs only they need,
    and a report of other studies keeps them; a score job shared by several studies' cells
    (the real-only arm of rq1, rq3 and the levers) fills each of them."""
    plan = _plan(tables, tmp_path, '--seeds', '1', '--studies', 'rq1', 'rq3', '--tasks',
                 'semantic')
    scores = dict(mIoU=50.0, per_class=dict(background=90.0, person=10.0, cone=5.0, ball=1.0))

    def cell(job, study='levers', row='real_only', split='test'):
        return dict(study=study, task='semantic', row=row, seed=0, split=split, params={},
                    job=job, done=True, scores=scores, headline=dict(mIoU=50.0))

    real = 'arm/semantic/n100/seed0/real_only'
    # recorded by another study (levers) only: the same job's cells of rq1 and rq3 are done too
    recorded = {tables.cell_id(c): c for c in (cell(f'{real}/score_{s}', split=s)
                                               for s in tables.SPLITS)}
    needed = tables.jobs_to_run(plan, recorded)
    assert real not in needed and not any(k.startswith(real) for k in needed)
    mixed = 'arm/semantic/n100/seed0/synth.semantic.default.n100.seed0.subtypes_400'
    assert mixed in needed and 'pdecoder/semantic/default/n100/seed0' in needed
    # one more recorded cell from a study this plan does not name
    other = cell('pdecoder/semantic/zs/n100/seed0/score_test', study='zs', row='P-Decoder')
    recorded[tables.cell_id(other)] = other
    path = tmp_path / 'docs' / 'results' / 'paper_tables.json'
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(dict(command='earlier', cells=list(recorded.values()))))
    assert list(tables.load_recorded(str(path))) == list(recorded)
    report = tables.write_report(plan, str(tmp_path / 'docs'), 'now', recorded)
    real_cells = [c for c in report['cells'] if c['job'] == f'{real}/score_test']
    assert sorted(c['study'] for c in real_cells) == ['levers', 'rq1', 'rq3']
    assert all(c['done'] and c['scores'] == scores and c['row'] == 'real_only'
               for c in real_cells)
    by_id = {tables.cell_id(c): c for c in report['cells']}
    assert by_id[tables.cell_id(other)] == other
    assert not by_id['rq3|semantic|real_synthetic|0|test']['done']
    assert report['commands'] == ['now']  # the hand-written file above had no history
    path.write_text('[1, 2]')
    with pytest.raises(SystemExit, match='not a paper-tables report'):
        tables.load_recorded(str(path))


def test_the_quoted_command_holds_only_what_changes_cells(tables):
    assert tables.cell_options(['--seeds', '3', '--docs', 'x', '--report-only', '--jobs=4',
                                '--studies', 'zs']) == ['--seeds', '3', '--studies', 'zs']


def test_tables_go_between_the_markers(tables, tmp_path):
    path = tmp_path / 'results.md'
    path.write_text('# Results\n\nwritten by hand\n')
    tables._splice(str(path), f'{tables.MARK_BEGIN}\nfirst\n{tables.MARK_END}')
    tables._splice(str(path), f'{tables.MARK_BEGIN}\nsecond\n{tables.MARK_END}')
    text = path.read_text()
    assert text.startswith('# Results\n\nwritten by hand\n')
    assert 'second' in text and 'first' not in text
    assert text.count(tables.MARK_BEGIN) == 1 and text.count(tables.MARK_END) == 1


def _run(args):
    env = dict(__import__('os').environ, PYTHONPATH=ROOT)
    return subprocess.run([sys.executable, TOOL] + args, cwd=ROOT, env=env, capture_output=True,
                          text=True)


@pytest.mark.slow
def test_quick_run_writes_the_tables_and_a_rerun_skips_every_cell(tmp_path, demo_architecture_sd):
    """Two seeds of semantic rq3 at 20 iterations on a random-weight demo-architecture model:
    every cell scored, the tables and the JSON written, and a second run runs nothing."""
    argv = ['--quick', '--seeds', '2', '--studies', 'rq3', '--tasks', 'semantic', '--jobs', '2',
            '--sd', demo_architecture_sd, '--work-dir', str(tmp_path / 'work'),
            '--world', str(tmp_path / 'world'), '--docs', str(tmp_path / 'docs')]
    first = _run(argv)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    assert '8 of 8 cells done' in first.stdout
    with open(tmp_path / 'docs' / 'results' / 'paper_tables.json') as f:
        report = json.load(f)
    cells = report['cells']
    assert len(cells) == 8 and all(c['done'] for c in cells)
    # each cell is the score file of its job, and the paired gain is computed from them
    by = {(c['row'], c['seed'], c['split']): c['headline']['mIoU'] for c in cells}
    gains = [by[('real_synthetic', s, 'test')] - by[('real_only', s, 'test')] for s in (0, 1)]
    mean = sum(gains) / 2
    std = math.sqrt(sum((g - mean) ** 2 for g in gains))
    text = (tmp_path / 'docs' / 'results.md').read_text()
    gain_row = next(line for line in text.splitlines() if line.startswith('| **gain**'))
    assert gain_row.split('|')[2].strip().startswith(f'{mean:.2f} ± {std:.2f}')
    # the seeds trained different models on different draws
    assert by[('real_only', 0, 'test')] != by[('real_only', 1, 'test')]
    assert (tmp_path / 'world' / 'splits' / 'train_100_seed1.txt').is_file()
    assert (tmp_path / 'docs' / 'results' / 'gain_per_class.png').is_file()
    second = _run(argv)
    assert second.returncode == 0, second.stderr[-3000:]
    assert '16 of 16 jobs done before or not needed (their cells are recorded); 0 to run' \
        in second.stdout
    with open(tmp_path / 'docs' / 'results' / 'paper_tables.json') as f:
        assert json.load(f)['cells'] == cells
    # a fresh checkout (an empty work dir) with the committed report reruns nothing either
    third = _run(argv[:-4] + ['--work-dir', str(tmp_path / 'work2')] + argv[-4:])
    assert third.returncode == 0, third.stderr[-3000:]
    assert '0 to run' in third.stdout and '8 of 8 cells done' in third.stdout
    assert not (tmp_path / 'work2' / 'pdecoder').exists()
    with open(tmp_path / 'docs' / 'results' / 'paper_tables.json') as f:
        assert json.load(f)['cells'] == cells


def test_seed_means_of_a_report():
    """The main job prints these beside its one run (projects/demo_world/tools/run_demo.py)."""
    from projects.demo_world.demo_world.scoring import seed_means

    def cell(row, seed, value, study='rq3', task='semantic', done=True):
        return dict(study=study, task=task, row=row, seed=seed, split='test', done=done,
                    headline=dict(mIoU=value))

    report = dict(cells=[cell('real_only', 0, 50.0), cell('real_only', 1, 54.0),
                         cell('real_synthetic', 0, 60.0), cell('real_only', 2, 0.0, done=False),
                         cell('real_only', 0, 99.0, study='rq1'),
                         cell('real_only', 0, 1.0, task='depth')])
    means = seed_means(report, 'semantic')
    assert set(means) == {'real_only', 'real_synthetic'}
    s = means['real_only']['test']['mIoU']
    assert (s['n'], s['mean'], s['std']) == (2, 52.0, pytest.approx(2 * 2**0.5))
    assert means['real_synthetic']['test']['mIoU']['std'] is None
    assert seed_means(dict(cells=[]), 'semantic') == {}


def test_zero_shot_cells_and_metrics(tables, tmp_path):
    from projects.demo_world.demo_world.scoring import zero_shot_metrics
    plan = _plan(tables, tmp_path, '--seeds', '2', '--studies', 'zs', '--tasks', 'semantic')
    pdecoder = plan.jobs['pdecoder/semantic/zs/n100/seed1'].cmd
    assert 'projects/demo_world/configs/pdecoder_semantic_zs.py' in pdecoder
    assert _opt(pdecoder, 'train_dataloader.dataset.split') == 'train_100_seed1'
    gen = plan.jobs['synth/semantic/zs/n100/seed1/subtypes_400'].cmd
    assert 'projects/demo_world/configs/generate_semantic_zs.py' in gen
    real = plan.jobs['arm/semantic/n100/seed1/real_only_zs'].cmd
    assert 'projects/demo_world/configs/seg_real_100_zs.py' in real
    mixed = plan.jobs['arm/semantic/n100/seed1/synth.semantic.zs.n100.seed1.subtypes_400'].cmd
    assert 'projects/demo_world/configs/seg_synth_100_zs.py' in mixed
    assert {(c.row, c.seed) for c in plan.cells} == {
        (r, s) for r in ('P-Decoder', 'real_only', 'real_synthetic') for s in (0, 1)}
    per_class = dict(background=90.0, person=40.0, car=70.0, cone=10.0, tree=80.0,
                     ball=float('nan'))
    m = zero_shot_metrics(per_class, ('cone', 'ball'))
    assert m['seen'] == 70.0 and m['unseen'] == 10.0
    assert m['harmonic'] == pytest.approx(2 * 70 * 10 / 80)
    assert zero_shot_metrics(dict(a=0.0, b=0.0), ('b', ))['harmonic'] == 0.0
    with pytest.raises(KeyError, match=r"unseen classes \['dog'\] have no IoU"):
        zero_shot_metrics(per_class, ('dog', ))


@pytest.mark.slow
def test_quick_zero_shot_run(tmp_path, demo_architecture_sd):
    """The zero-shot study end to end at 20 iterations: the hidden-class configs train, the
    generated set records its seen and unseen classes, and the table is written."""
    argv = ['--quick', '--seeds', '1', '--studies', 'zs', '--tasks', 'semantic',
            '--sd', demo_architecture_sd, '--work-dir', str(tmp_path / 'work'),
            '--world', str(tmp_path / 'world'), '--docs', str(tmp_path / 'docs')]
    run = _run(argv)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert '6 of 6 cells done' in run.stdout
    manifest = tmp_path / 'work' / 'synth/semantic/zs/n100/seed0/subtypes_8/manifest.jsonl'
    first = json.loads(manifest.read_text().splitlines()[0])
    assert first['unseen_classes'] == ['cone', 'ball']
    assert first['seen_classes'] == ['background', 'person', 'car', 'tree']
    text = (tmp_path / 'docs' / 'results.md').read_text()
    assert '### Zero-shot — cone and ball hidden from every real label' in text
    assert text.count('(n=1)') == 4 * 6  # 3 models and the gain, 6 columns


def test_levers_share_the_default_arms_and_are_scored_on_val(tables, tmp_path):
    plan = _plan(tables, tmp_path, '--studies', 'rq3', 'levers', '--tasks', 'semantic',
                 '--seeds', '1')
    real = 'arm/semantic/n100/seed0/real_only'
    synth = 'synth/semantic/default/n100/seed0/subtypes_400'
    conf = synth + '_conf'
    assert _opt(plan.jobs[conf].cmd, 'writer.confidence') == 'True'
    assert _opt(plan.jobs[synth].cmd, 'writer.confidence') is None
    for t in tables.CONFIDENCE_THRESHOLDS:
        key = f'arm/semantic/n100/seed0/{conf.replace("/", ".")}.confidence{t}'
        cmd = plan.jobs[key].cmd
        assert _opt(cmd, 'train_dataloader.dataset.datasets.1.min_pixel_confidence') == str(t)
        assert _opt(cmd, 'train_dataloader.dataset.datasets.1.data_root') == osp.join(
            plan.work, conf)
        assert plan.jobs[key].deps == (conf, )
    long = plan.jobs['pdecoder/semantic/iters3000/n100/seed0']
    assert long.done.endswith('iter_3000.pth')
    assert _opt(long.cmd, 'param_scheduler.0.end') == '3000'
    assert _opt(plan.jobs['synth/semantic/iters3000/n100/seed0/subtypes_400'].cmd,
                'decoder.checkpoint') == long.done
    # the recipe lever: the default mixed arm's checkpoint fine-tuned with the real-only config
    mixed = f'arm/semantic/n100/seed0/{synth.replace("/", ".")}'
    for recipe, iters in (('full', 3000), ('short', 1000)):
        job = plan.jobs[f'{real}.finetune_{recipe}']
        assert job.deps == (mixed, ) and job.done.endswith(f'iter_{iters}.pth')
        assert _opt(job.cmd, 'load_from') == plan.jobs[mixed].done
        assert job.cmd[2] == 'projects/demo_world/configs/seg_real_100.py'
        assert '--resume' in job.cmd  # tools/train.py loads load_from until a checkpoint exists
    assert _opt(plan.jobs[f'{real}.finetune_short'].cmd, 'param_scheduler.1.end') == '1000'
    # the agreement filter: the real-only model's predictions on the default set, then two arms
    predict = 'predict/semantic/default/n100/seed0/subtypes_400/real_only'
    assert plan.jobs[predict].deps == (synth, real)
    assert plan.jobs[predict].cmd[2:6] == ['predict', osp.join(plan.work, synth),
                                           'projects/demo_world/configs/seg_real_100.py',
                                           plan.jobs[real].done]
    for suffix, keep in (('agreement', 'True'), ('agreement_all', 'False')):
        job = plan.jobs[f'{mixed}.{suffix}']
        assert job.deps == (synth, predict)
        assert _opt(job.cmd, 'train_dataloader.dataset.datasets.1.agreement_root') == \
            osp.join(plan.work, predict)
        assert _opt(job.cmd, 'train_dataloader.dataset.datasets.1.agreement_keeps_prompted') \
            == keep
    # class quotas by acceptance: its own set, from its own config
    balanced = plan.jobs['synth/semantic/default/n100/seed0/balanced_400']
    assert balanced.cmd[2] == 'projects/demo_world/configs/generate_semantic_balanced.py'
    assert f'arm/semantic/n100/seed0/{balanced.key.replace("/", ".")}' in plan.jobs
    # the language model's prompts: RQ4's set and arm, scored on val too
    assert {c.job for c in plan.cells if c.row == 'mixed prompts=llm'} == {
        f'arm/semantic/n100/seed0/synth.semantic.default.n100.seed0.llm_400/score_{s}'
        for s in ('val', 'test', 'test_shifted')}
    lever_cells = [c for c in plan.cells if c.study == 'levers']
    # 11 rows x (val, test, test_shifted); the real-only and default mixed models are rq3's
    assert len(lever_cells) == 33 and {c.split for c in lever_cells} == {'val', 'test',
                                                                         'test_shifted'}
    assert f'{real}/score_val' in plan.jobs and plan.eval_splits == {'val'}
    rq3_jobs = {c.job.rsplit('/', 1)[0] for c in plan.cells if c.study == 'rq3'}
    assert {c.job.rsplit('/', 1)[0] for c in lever_cells if c.row in ('real_only', 'mixed')} \
        == rq3_jobs


@pytest.mark.slow
def test_quick_levers_run(tmp_path, demo_architecture_sd):
    """The levers study end to end at 20 iterations: a set with confidence maps, mixed arms
    that ignore its uncertain pixels, all scored on the new val split."""
    argv = ['--quick', '--sweep-seeds', '1', '--studies', 'levers', '--tasks', 'semantic',
            '--sd', demo_architecture_sd, '--work-dir', str(tmp_path / 'work'),
            '--world', str(tmp_path / 'world'), '--docs', str(tmp_path / 'docs')]
    run = _run(argv)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert '33 of 33 cells done' in run.stdout
    assert (tmp_path / 'world' / 'splits' / 'val.txt').is_file()
    manifest = (tmp_path / 'work' / 'synth/semantic/default/n100/seed0/subtypes_8_conf'
                / 'manifest.jsonl')
    first = json.loads(manifest.read_text().splitlines()[0])
    assert first['files']['confidence'] == 'confidence/00000000.png'
    text = (tmp_path / 'docs' / 'results.md').read_text()
    assert '### Levers of label quality' in text
    # 8 mixed + 2 fine-tuned rows, mIoU and gain on 3 splits
    assert text.count('(n=1)') == 10 * 6
