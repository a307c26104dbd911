"""tools/dist_train.sh, tools/dist_test.sh and tools/dist_generate.sh with 2 CPU processes
(torchrun, gloo) against one process.

Training: 1 process at batch 2B and 2 ranks at batch B see the same global batches
(rank r gets samples r, r+2, ... of the single process's batch: InfiniteSampler with a fixed
seed) and DDP averages the two ranks' gradients, so the loss averaged over ranks
(``loss_recorder.GlobalLossRecorder``) follows the single-process loss. How closely depends
on the model:

* the downstream mixing model (projects/demo_world/configs/seg_synth_100.py) is deterministic once
  its
  random augmentations, dropout and class weights are off and GroupNorm replaces BatchNorm
  (BN statistics over B samples per rank are not those over 2B; SyncBN needs CUDA), so the
  losses differ by float rounding only: summation order in the all-reduce vs one batch, which
  Adam then magnifies where it divides tiny gradients by their tiny running norm. Measured at lr
  2e-3 (held constant): 3e-8 relative at iteration 1, up to 7.5e-6 by iteration 6,
  4e-5 at iteration 8. Asserted for 6 iterations: 1e-4.
* the Mask2Former P-Decoder samples its loss points at random (mmdet's point-sampled mask
  and dice losses), and the draws depend on how many masks a process holds, so 1 and 2
  processes draw different points. Measured: re-seeding only those draws moves the loss of
  a single-process run by 0.14-0.59 % in these iterations; 1 vs 2 processes differ by
  0.28-0.58 %. Asserted: 2 %.

Generation: 2 ranks equal 1 process byte for byte is tested in
tests/test_generation/test_engine.py (test_torchrun_two_ranks_equal_one_process); here one
rank of a 2-rank run is SIGKILLed and the resubmitted run (--resume) must still give the
one-process bytes.
"""
import json
import os
import os.path as osp
import re
import signal
import subprocess
import sys
import time

import pytest
from mmengine.config import Config

from tests.test_distributed.common import (GENERATE_CFG, NUM_SAMPLES, ROOT, failure,
                                           generate_options, read_jsonl, run, tool_env, tree_hashes,
                                           val_metrics)

pytestmark = pytest.mark.slow

RECORDER = 'tests.test_distributed.loss_recorder'


def _with_recorder(cfg: Config, work_dir: str, path: str) -> str:
    """Add the loss recorder to ``cfg``, point it at ``work_dir`` and write it to ``path``."""
    cfg.work_dir = work_dir
    # keep the config's own imports (the demo world's datasets live in a project)
    imports = list(cfg.get('custom_imports', {}).get('imports', ['mmdatasetdm']))
    cfg.custom_imports = dict(imports=imports + [RECORDER], allow_failed_imports=False)
    cfg.custom_hooks = [dict(type='GlobalLossRecorder', out_file=osp.join(work_dir, 'loss.jsonl'))]
    cfg.train_dataloader.sampler.seed = 0
    os.makedirs(work_dir, exist_ok=True)
    cfg.dump(path)
    return path


def _train_one_and_two(tmp_path, make_cfg, batch, port):
    """Train ``make_cfg(batch)`` in one process at 2 * ``batch`` and with 2 ranks at ``batch``;
    return both work dirs and their loss records."""
    runs = {}
    for name, nproc, per_rank in (('one', 1, 2 * batch), ('two', 2, batch)):
        work = str(tmp_path / name)
        config = _with_recorder(make_cfg(per_rank), work, str(tmp_path / f'{name}.py'))
        if nproc == 1:
            out = run([sys.executable, 'tools/train.py', config])
        else:
            out = run(['bash', 'tools/dist_train.sh', config, '2'], PORT=port)
        assert out.returncode == 0, failure(out)
        runs[name] = (work, read_jsonl(osp.join(work, 'loss.jsonl')), out)
    return runs


def _assert_same_batches_and_synced_ranks(one, two, iters):
    assert [line['iter'] for line in one] == [line['iter'] for line in two] == list(range(iters))
    for single, double in zip(one, two):
        batch = single['samples'][0]
        # rank r trained on samples r, r + 2, ... of the single process's batch
        assert double['samples'] == [batch[0::2], batch[1::2]]
        # DDP: both ranks hold the same weights after every step
        assert double['weights'][0] == double['weights'][1]


def test_pdecoder_two_ranks_follow_one_process(tmp_path, toy_seg, tiny_sd_folder):
    """The tiny semantic P-Decoder (frozen tiny SD backbone), 3 iterations, global batch 4."""
    from tests.pdecoder_cfg import tiny_pdecoder_cfg

    def make_cfg(batch):
        cfg = tiny_pdecoder_cfg('pdecoder/semantic_tiny.py', toy_seg, None, tiny_sd_folder, 3)
        cfg.train_dataloader.batch_size = batch
        cfg.val_dataloader.batch_size = cfg.test_dataloader.batch_size = 2
        return cfg

    runs = _train_one_and_two(tmp_path, make_cfg, batch=2, port=29571)
    (work1, one, _), (work2, two, out2) = runs['one'], runs['two']
    assert '[rank 0/2]' not in out2.stdout  # train.py, not generate.py
    _assert_same_batches_and_synced_ranks(one, two, 3)
    assert len({s for line in one for s in line['samples'][0]}) == 8  # the batches vary
    for single, double in zip(one, two):
        assert double['losses'].keys() == single['losses'].keys()
        assert double['losses']['loss'] == pytest.approx(single['losses']['loss'], rel=0.02)
    for work in (work1, work2):
        assert osp.isfile(osp.join(work, 'iter_3.pth'))
        # validated once, at iteration 3, on all 8 images (after 3 iterations the two arms'
        # Mask2Former predictions still differ too much for their mIoUs to be compared: the
        # losses above are the comparison)
        [metrics] = val_metrics(work)
        assert metrics['step'] == 3 and 'mIoU' in metrics


def _mixing_cfg(world, synth, batch, iters):
    """projects/demo_world/configs/seg_synth_100.py on a small world and synthetic set, made
    deterministic:
    no random augmentation, no dropout, GroupNorm instead of BatchNorm."""
    cfg = Config.fromfile(osp.join(ROOT, 'projects', 'demo_world', 'configs', 'seg_synth_100.py'))
    plain = [dict(type='LoadImageFromFile'), dict(type='LoadAnnotations'),
             dict(type='PackSegInputs')]
    real, synthetic = cfg.train_dataloader.dataset.datasets
    assert real.type == 'RepeatDataset' and synthetic.type == 'mmdatasetdm.SyntheticSegDataset'
    real.dataset.update(data_root=world, pipeline=plain)
    synthetic.update(data_root=synth, pipeline=plain)
    for key in ('val_dataloader', 'test_dataloader'):
        cfg[key].dataset.data_root = world
        cfg[key].batch_size = 1
    group_norm = dict(type='GN', num_groups=8, requires_grad=True)
    cfg.model.backbone.norm_cfg = group_norm
    # unweighted classes: with class weights each rank divides by its own sum of pixel
    # weights, so the mean over ranks is not the one-process weighted mean (2.7e-4 relative
    # at iteration 0 here); plain cross-entropy over fully labelled images divides by the
    # same pixel count on every rank
    cfg.model.decode_head.update(norm_cfg=group_norm, dropout_ratio=0.0)
    # (assigned, not update()d: ConfigDict.update merges nested dicts and would keep the weights)
    cfg.model.decode_head.loss_decode = dict(type='CrossEntropyLoss', use_sigmoid=False,
                                             loss_weight=1.0, avg_non_ignore=True)
    cfg.train_dataloader.batch_size = batch
    cfg.param_scheduler = []  # a constant lr from the first step: the model learns something
    cfg.optim_wrapper.optimizer.lr = 2e-3  # the lr of the measured tolerances (docstring)
    cfg.train_cfg.update(max_iters=iters, val_interval=iters)
    cfg.default_hooks.checkpoint.interval = iters
    return cfg


def test_mixing_two_ranks_equal_one_process(tmp_path, demo_world, reference_dataset):
    """The downstream mixing run (demo world train_100 x 4 + a generated set), 6 iterations,
    global batch 4: losses agree to float rounding (see the module docstring); the
    validation metrics too, up to test pixels whose top two logits are nearly tied."""
    iters = 6
    runs = _train_one_and_two(tmp_path, lambda b: _mixing_cfg(demo_world, reference_dataset,
                                                              b, iters), batch=2, port=29572)
    (work1, one, _), (work2, two, _) = runs['one'], runs['two']
    _assert_same_batches_and_synced_ranks(one, two, iters)
    seen = {s for line in one for s in line['samples'][0]}
    assert any(s.startswith(osp.abspath(reference_dataset)) for s in seen)  # synthetic samples
    assert any(s.startswith(osp.abspath(demo_world)) for s in seen)  # and real ones
    for single, double in zip(one, two):
        for name, value in single['losses'].items():
            assert double['losses'][name] == pytest.approx(value, rel=1e-4), (single, double)
    [m1], [m2] = val_metrics(work1), val_metrics(work2)
    for key in ('aAcc', 'mIoU', 'mAcc'):
        assert abs(m1[key] - m2[key]) <= 0.5, (m1, m2)

    # The 2-rank validation equals a one-process evaluation of the same checkpoint exactly.
    ckpt = osp.join(work2, f'iter_{iters}.pth')
    metrics_file = str(tmp_path / 'test_metrics.json')
    out = run([sys.executable, 'tools/test.py', str(tmp_path / 'two.py'), ckpt, '--work-dir',
               str(tmp_path / 'test'), '--out', metrics_file])
    assert out.returncode == 0, failure(out)
    with open(metrics_file) as f:
        tested = json.load(f)
    for key in ('aAcc', 'mIoU', 'mAcc'):
        assert tested[key] == m2[key]
    # and so does tools/dist_test.sh with 2 ranks (each scores half of the test images)
    dist_file = str(tmp_path / 'dist_test_metrics.json')
    out = run(['bash', 'tools/dist_test.sh', str(tmp_path / 'two.py'), ckpt, '2', '--work-dir',
               str(tmp_path / 'dist_test'), '--out', dist_file], PORT=29574)
    assert out.returncode == 0, failure(out)
    with open(dist_file) as f:
        dist_tested = json.load(f)
    for key in ('aAcc', 'mIoU', 'mAcc'):
        assert dist_tested[key] == m2[key]


def _finished(parts_dir):
    """Samples a shard holds: its part files (a temp file of an unfinished write is not one)."""
    if not osp.isdir(parts_dir):
        return 0
    return sum(bool(re.fullmatch(r'\d+\.json', name)) for name in os.listdir(parts_dir))


def _children(pid):
    """Process ids whose parent is ``pid`` (Linux /proc)."""
    out = []
    for entry in os.listdir('/proc'):
        if entry.isdigit():
            try:
                with open(f'/proc/{entry}/stat') as f:
                    fields = f.read().rsplit(')', 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                out.append(int(entry))
    return out


def _env_of(pid):
    """Environment of a process; empty when it has exited since it was listed (short-lived
    children of torchrun come and go)."""
    try:
        with open(f'/proc/{pid}/environ', 'rb') as f:
            data = f.read()
    except OSError:
        return {}
    return dict(item.split(b'=', 1) for item in data.split(b'\0') if b'=' in item)


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is dead too
        with open(f'/proc/{pid}/stat') as f:
            return f.read().rsplit(')', 1)[1].split()[0] != 'Z'
    except OSError:
        return False


def test_killed_rank_then_resubmitted_gives_the_same_dataset(tmp_path, semantic_checkpoint,
                                                             tiny_sd_folder, reference_dataset):
    """SIGKILL rank 1 of a 2-rank tools/dist_generate.sh run after its first sample; torchrun
    stops rank 0 and fails; the same command with --resume completes the dataset, which
    equals the one-process run byte for byte."""
    out_dir = str(tmp_path / 'synth')
    cmd = ['bash', 'tools/dist_generate.sh', GENERATE_CFG, '2', '--num', str(NUM_SAMPLES),
           '--out', out_dir] + generate_options(semantic_checkpoint, tiny_sd_folder)
    proc = subprocess.Popen(cmd, cwd=ROOT, env=tool_env(PORT=29573), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    parts = [osp.join(out_dir, 'shards', f'rank{r:05d}', 'parts') for r in (0, 1)]
    workers = {}
    try:
        deadline = time.time() + 300
        while time.time() < deadline and proc.poll() is None:
            if len(workers) < 2:  # torchrun (the bash scripts exec it) starts the ranks
                for pid in _children(proc.pid):
                    rank = _env_of(pid).get(b'RANK')
                    if rank is not None:
                        workers[int(rank)] = pid
            if _finished(parts[1]) and 1 in workers:
                os.kill(workers[1], signal.SIGKILL)
                break
            time.sleep(0.02)
        else:
            pytest.fail(f'rank 1 wrote no sample in time:\n{proc.communicate()[0][-3000:]}')
        log, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    done = [_finished(p) for p in parts]
    assert proc.returncode != 0, log[-3000:]
    assert 'SIGKILL' in log, log[-3000:]  # torchrun names the killed worker's signal
    assert not _alive(workers[0]) and not _alive(workers[1])  # torchrun tore rank 0 down too
    assert 1 <= done[1] < NUM_SAMPLES // 2 and sum(done) < NUM_SAMPLES, done
    assert not osp.exists(osp.join(out_dir, 'manifest.jsonl'))

    out = run(['bash', 'tools/dist_generate.sh', GENERATE_CFG, '2', '--num', str(NUM_SAMPLES),
               '--out', out_dir, '--resume'] + generate_options(semantic_checkpoint,
                                                                tiny_sd_folder), PORT=29574)
    assert out.returncode == 0, failure(out)
    skipped = {int(m.group(1)): int(m.group(2)) for m in re.finditer(
        r'\[rank (\d)/2\] \{[^}]*"skipped": (\d+)', out.stdout)}
    assert skipped == {0: done[0], 1: done[1]}  # every finished sample was kept, not redone
    assert tree_hashes(out_dir) == tree_hashes(reference_dataset)
    assert [line['index'] for line in read_jsonl(osp.join(out_dir, 'manifest.jsonl'))] == \
        list(range(NUM_SAMPLES))
