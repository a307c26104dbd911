"""mmdatasetdm.utils.dist without starting processes: Slurm's variables, the master port,
gloo's interface (the 2-process runs are in test_torchrun.py and test_slurm.py)."""
import os

import pytest

from mmdatasetdm.utils import dist as dist_utils

SLURM_TASK = dict(SLURM_PROCID='1', SLURM_NTASKS='2', SLURM_NODELIST='localhost',
                  SLURM_LOCALID='1', SLURM_JOB_ID='12345', MASTER_ADDR='127.0.0.1')


@pytest.fixture
def environ(monkeypatch):
    """A private os.environ (the functions under test write to it)."""
    env = {}
    monkeypatch.setattr(os, 'environ', env)
    return env


def test_slurm_task_becomes_a_torch_rank(environ):
    environ.update(SLURM_TASK)
    dist_utils._slurm_environment(None)
    assert (environ['RANK'], environ['WORLD_SIZE'], environ['LOCAL_RANK']) == ('1', '2', '1')
    # two jobs on one node get different ports: 20000 + job id mod 10000
    assert environ['MASTER_PORT'] == '22345'


@pytest.mark.parametrize('given, expected', [(dict(MASTER_PORT='29999'), '29999'),
                                             (dict(), '29600')])
def test_slurm_master_port_set_by_the_user_wins(environ, given, expected):
    environ.update(SLURM_TASK, **given)
    dist_utils._slurm_environment(29600)
    assert environ['MASTER_PORT'] == expected


@pytest.mark.parametrize('addr, ifname', [('127.0.0.1', 'lo'), ('localhost', 'lo'),
                                          ('192.0.2.7', None), ('', None)])
def test_gloo_uses_loopback_only_for_a_loopback_master(environ, addr, ifname):
    environ['MASTER_ADDR'] = addr
    dist_utils._gloo_on_loopback()
    assert environ.get('GLOO_SOCKET_IFNAME') == ifname


def test_gloo_interface_given_by_the_user_is_kept(environ):
    environ.update(MASTER_ADDR='127.0.0.1', GLOO_SOCKET_IFNAME='eth7')
    dist_utils._gloo_on_loopback()
    assert environ['GLOO_SOCKET_IFNAME'] == 'eth7'


def test_launcher_without_its_environment_is_named(environ):
    with pytest.raises(RuntimeError, match=r'--launcher pytorch needs \$RANK'):
        dist_utils.setup_distributed('pytorch')
    with pytest.raises(ValueError, match="launcher must be 'none', 'pytorch' or 'slurm'"):
        dist_utils.setup_distributed('mpi')


def test_teardown_without_a_process_group_is_a_no_op():
    import torch.distributed as dist
    assert not dist.is_initialized()
    dist_utils.teardown_distributed()
    assert not dist.is_initialized()


@pytest.mark.parametrize('gpus, backend, device', [(0, 'gloo', None), (4, 'nccl', 3)])
def test_backend_follows_the_visible_gpus(environ, monkeypatch, gpus, backend, device):
    """NCCL and one GPU per local rank where GPUs are visible (rank 7 of a 4-GPU node takes
    GPU 3), gloo on the loopback interface without; decided as on a GPU machine by answering
    torch's device queries."""
    import torch
    environ.update(RANK='7', WORLD_SIZE='8', LOCAL_RANK='7', MASTER_ADDR='127.0.0.1',
                   MASTER_PORT='29500')
    calls = {}
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: gpus > 0)
    monkeypatch.setattr(torch.cuda, 'device_count', lambda: gpus)
    monkeypatch.setattr(torch.cuda, 'set_device', lambda index: calls.setdefault('device', index))
    monkeypatch.setattr(dist_utils.dist, 'is_initialized', lambda: False)
    monkeypatch.setattr(dist_utils.dist, 'init_process_group',
                        lambda backend: calls.setdefault('backend', backend))
    monkeypatch.setattr(dist_utils, 'get_dist_info', lambda: (7, 8))
    assert dist_utils.setup_distributed('pytorch') == (7, 8)
    assert calls.get('backend') == backend and calls.get('device') == device
    assert ('GLOO_SOCKET_IFNAME' in environ) == (backend == 'gloo')
