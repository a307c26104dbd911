"""tools/slurm_generate.sh, slurm_train.sh and slurm_test.sh under a real Slurm scheduler: a
one-node cluster on this machine (scripts/slurm_cluster.sh: Debian's munged, slurmctld and
slurmd on the loopback interface, 2 CPUs, no GPUs), 2 tasks per job.

The generation job makes a synthetic set with the tiny P-Decoder; the training job, queued
behind it with ``--dependency=afterok`` (through SRUN_ARGS), trains the demo's mixing config
(projects/demo_world/configs/seg_synth_100.py) on a small demo world plus that set.

Skips when the cluster cannot start (packages missing: bash scripts/install_slurm.sh) unless
$CI is true: CI installs the packages (.ci/run), so there it fails instead.
"""
import json
import os
import os.path as osp
import socket
import subprocess
import sys
import time

import pytest

from tests.test_distributed.common import (GENERATE_CFG, NUM_SAMPLES, ROOT, generate_options,
                                           read_jsonl, tool_env, tree_hashes, val_metrics)

pytestmark = pytest.mark.slow

CLUSTER = osp.join(ROOT, 'scripts', 'slurm_cluster.sh')
MIXING_CFG = 'projects/demo_world/configs/seg_synth_100.py'
# GPUS = tasks on a node without GPUs; one CPU each (the node has 2).
JOB_ENV = dict(GPUS=2, GPUS_PER_NODE=2, CPUS_PER_TASK=1)


def _on_ci() -> bool:
    return os.environ.get('CI', '').lower() in ('true', '1', 'yes')


def _free_port_pair() -> int:
    """A port p with p and p + 1 free on 127.0.0.1 (slurmctld and slurmd)."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(('127.0.0.1', 0))
            port = s.getsockname()[1]
        try:
            with socket.socket() as s:
                s.bind(('127.0.0.1', port + 1))
        except OSError:
            continue
        if port + 1 < 65536:
            return port
    raise RuntimeError('no two adjacent free ports')


def _cluster(action, env, timeout=180):
    return subprocess.run(['bash', CLUSTER, action], env=env, capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope='session')
def slurm(tmp_path_factory):
    """A running one-node cluster; its environment (``SLURM_CONF``) for the client commands.
    Stopped at the end; the stop is checked. Session scope: set up before the (session)
    data fixtures, so a skip costs nothing."""
    state = str(tmp_path_factory.mktemp('slurm'))
    env = dict(os.environ, SLURM_CLUSTER_DIR=state, SLURM_CLUSTER_PORT=str(_free_port_pair()),
               SLURM_CONF=osp.join(state, 'slurm.conf'))
    out = _cluster('start', env)
    if out.returncode != 0:
        _cluster('stop', env)
        logs = ''
        for name in ('slurmctld.log', 'slurmd.log', 'munged.log'):
            path = osp.join(state, 'log', name)
            if osp.isfile(path):
                with open(path) as f:
                    logs += f'--- {name}\n{f.read()[-2000:]}'
        message = f'the Slurm test cluster did not start:\n{out.stderr[-3000:]}\n{logs}'
        if _on_ci():
            pytest.fail(message)
        pytest.skip(message)
    yield env
    out = _cluster('stop', env)
    assert out.returncode == 0, out.stderr
    assert _cluster('status', env).returncode == 1  # every daemon is down


def _slurm(cmd, env):
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, f'{cmd}: {out.stderr}'
    return out.stdout


def _queue(env):
    """{job id: (name, state, reason)} of squeue."""
    lines = _slurm(['squeue', '-h', '-o', '%i|%j|%T|%r'], env).splitlines()
    return {int(i): (name, state, reason) for i, name, state, reason in
            (line.split('|') for line in lines)}


def _show_job(job_id, env):
    """``scontrol show job`` as a dict (finished jobs stay for MinJobAge=3600 s)."""
    fields = {}
    for token in _slurm(['scontrol', 'show', 'job', str(job_id)], env).split():
        key, _, value = token.partition('=')
        fields.setdefault(key, value)
    return fields


def test_slurm_generate_then_train_on_the_demo_world(slurm, tmp_path, semantic_checkpoint,
                                                     tiny_sd_folder, demo_world,
                                                     reference_dataset):
    assert _cluster('start', slurm).returncode == 0  # idempotent: already up
    synth = str(tmp_path / 'synth')
    work = str(tmp_path / 'work')
    env = tool_env(**JOB_ENV, SLURM_CONF=slurm['SLURM_CONF'])
    logs = {name: open(tmp_path / f'{name}.log', 'w') for name in ('generate', 'train')}
    generate_cmd = ['bash', 'tools/slurm_generate.sh', 'debug', 'dm-generate', GENERATE_CFG,
                    synth, '--num', str(NUM_SAMPLES)] + generate_options(semantic_checkpoint,
                                                                         tiny_sd_folder)
    train_args = ['bash', 'tools/slurm_train.sh', 'debug', 'dm-train', MIXING_CFG, work,
                  '--cfg-options',
                  f'train_dataloader.dataset.datasets.0.dataset.data_root={demo_world}',
                  f'train_dataloader.dataset.datasets.1.data_root={synth}',
                  f'val_dataloader.dataset.data_root={demo_world}',
                  f'test_dataloader.dataset.data_root={demo_world}',
                  'train_dataloader.batch_size=2', 'val_dataloader.batch_size=1',
                  'train_cfg.max_iters=4', 'train_cfg.val_interval=4',
                  'default_hooks.checkpoint.interval=2',
                  'default_hooks.checkpoint.max_keep_ckpts=2', 'default_hooks.logger.interval=1']
    procs = {}
    seen = {}  # job name -> {(state, reason) seen by squeue}
    ids = {}
    try:
        procs['generate'] = subprocess.Popen(generate_cmd, cwd=ROOT, env=env,
                                             stdout=logs['generate'], stderr=subprocess.STDOUT)
        deadline = time.time() + 600
        while time.time() < deadline:
            for job_id, (name, state, reason) in _queue(slurm).items():
                ids.setdefault(name, job_id)
                seen.setdefault(name, set()).add((state, reason))
            if 'dm-generate' in ids and 'train' not in procs:
                # queued behind the generation job, through the scripts' SRUN_ARGS
                procs['train'] = subprocess.Popen(
                    train_args, cwd=ROOT, stdout=logs['train'], stderr=subprocess.STDOUT,
                    env=dict(env, SRUN_ARGS=f'--dependency=afterok:{ids["dm-generate"]}'))
            if 'train' in procs and all(p.poll() is not None for p in procs.values()):
                break
            time.sleep(0.5)
        else:
            pytest.fail(f'the jobs did not finish in time; squeue saw {seen}')
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
        for f in logs.values():
            f.close()
        if ids:
            subprocess.run(['scancel'] + [str(i) for i in ids.values()], env=slurm,
                           capture_output=True)

    def log(name):
        with open(tmp_path / f'{name}.log') as f:
            return f.read()

    for name in ('generate', 'train'):
        assert procs[name].returncode == 0, log(name)[-4000:]
    # squeue showed both jobs: generation running, training waiting for it
    assert set(ids) == {'dm-generate', 'dm-train'}, seen
    assert ('RUNNING', 'None') in seen['dm-generate'], seen
    assert ('PENDING', 'Dependency') in seen['dm-train'], seen
    for name, job_id in ids.items():
        job = _show_job(job_id, slurm)
        assert (job['JobName'], job['JobState'], job['ExitCode']) == (name, 'COMPLETED', '0:0')
        assert (job['NumTasks'], job['NumNodes'], job['Partition']) == ('2', '1', 'debug')
    completion = _slurm(['sacct', '--completion', '-n', '-P', '-o', 'JobID,JobName,State,ExitCode',
                         '-j', ','.join(str(i) for i in ids.values())], slurm)
    assert sorted(completion.split()) == sorted(
        f'{job_id}|{name}|COMPLETED|0:0' for name, job_id in ids.items())

    # generation: two ranks' shards merged into one dataset, the one-process bytes
    assert sorted(os.listdir(osp.join(synth, 'shards'))) == ['rank00000', 'rank00001']
    assert tree_hashes(synth) == tree_hashes(reference_dataset)
    assert [line['index'] for line in read_jsonl(osp.join(synth, 'manifest.jsonl'))] == \
        list(range(NUM_SAMPLES))
    gen_log = log('generate')
    assert '[rank 0/2]' in gen_log and '[rank 1/2]' in gen_log

    # training: 2 slurm ranks, checkpoints at iterations 2 and 4, a validation metric at 4
    train_log = log('train')
    assert 'Distributed launcher: slurm' in train_log
    assert 'Iter(val) [2/2]' in train_log  # 4 test images, batch 1, split over 2 ranks
    assert osp.isfile(osp.join(work, 'iter_2.pth')) and osp.isfile(osp.join(work, 'iter_4.pth'))
    [metrics] = val_metrics(work)
    assert metrics['step'] == 4, train_log[-4000:]

    # testing: tools/slurm_test.sh scores the last checkpoint on 2 slurm ranks exactly as
    # tools/test.py does in one process (the training run's own validation differs a little:
    # each rank kept its own BatchNorm statistics, the checkpoint holds rank 0's)
    scores = {}
    for name, launch in (('slurm', ['bash', 'tools/slurm_test.sh', 'debug', 'dm-test']),
                         ('one', [sys.executable, 'tools/test.py'])):
        out_file = str(tmp_path / f'test_{name}.json')
        tested = subprocess.run(
            launch + [osp.join(work, 'seg_synth_100.py'), osp.join(work, 'iter_4.pth'),
                      '--work-dir', str(tmp_path / f'test_{name}'), '--out', out_file,
                      '--cfg-options', 'test_dataloader.batch_size=1'],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
        assert tested.returncode == 0, (tested.stdout + tested.stderr)[-4000:]
        with open(out_file) as f:
            scores[name] = json.load(f)
        launcher = 'slurm' if name == 'slurm' else 'none'
        assert f'Distributed launcher: {launcher}' in tested.stdout + tested.stderr
    for key in ('aAcc', 'mIoU', 'mAcc'):
        assert scores['slurm'][key] == scores['one'][key]
