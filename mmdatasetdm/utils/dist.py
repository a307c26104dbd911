"""Start ``torch.distributed`` for our tools, on CPUs (gloo) as well as GPUs.

mmengine 0.10.7's ``init_dist`` calls ``torch.cuda.set_device`` whatever the
backend, so CPU-only multi-process runs fail as shipped. Our tools call
:func:`setup_distributed` instead: it reads the launcher's environment
(torchrun's ``RANK``/``WORLD_SIZE``/``MASTER_*``, or Slurm's ``SLURM_*``),
picks NCCL when GPUs are present and gloo otherwise, and initialises the
default process group. mmengine then sees an initialised group and uses it.
"""
import gc
import ipaddress
import os
import socket
import subprocess
import sys
from typing import Optional, Tuple

import torch
import torch.distributed as dist


def get_dist_info() -> Tuple[int, int]:
    """(rank, world_size) of the current process; (0, 1) without a process group."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _slurm_environment(port: Optional[int]):
    """Translate Slurm's variables into torch.distributed's.

    Without ``$MASTER_PORT`` or ``port`` the port is derived from the job id, so that two
    jobs sharing a node do not both listen on 29500.
    """
    proc_id = int(os.environ['SLURM_PROCID'])
    ntasks = int(os.environ['SLURM_NTASKS'])
    node_list = os.environ['SLURM_NODELIST']
    if 'MASTER_ADDR' not in os.environ:
        addr = subprocess.getoutput(f'scontrol show hostname {node_list} | head -n1').strip()
        os.environ['MASTER_ADDR'] = addr or '127.0.0.1'
    if port is None:
        port = 20000 + int(os.environ.get('SLURM_JOB_ID', 9500)) % 10000
    os.environ.setdefault('MASTER_PORT', str(port))
    os.environ['WORLD_SIZE'] = str(ntasks)
    os.environ['RANK'] = str(proc_id)
    os.environ['LOCAL_RANK'] = os.environ.get('SLURM_LOCALID', str(proc_id % max(
        1, torch.cuda.device_count() or 1)))


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(socket.gethostbyname(host)).is_loopback
    except (OSError, ValueError):
        return False


def _gloo_on_loopback() -> None:
    """Single-node gloo over the loopback interface.

    gloo's default device binds to the address the machine's hostname resolves to; where
    that is an external interface (or nothing), a one-node run would leave, or fail to use,
    the loopback network. With a loopback ``$MASTER_ADDR`` all ranks are on this machine,
    so ``$GLOO_SOCKET_IFNAME`` defaults to ``lo`` (Linux; an explicit value wins).
    """
    if ('GLOO_SOCKET_IFNAME' not in os.environ and sys.platform.startswith('linux')
            and os.path.isdir('/sys/class/net/lo')
            and _is_loopback(os.environ.get('MASTER_ADDR', ''))):
        os.environ['GLOO_SOCKET_IFNAME'] = 'lo'


def setup_distributed(launcher: str = 'none', backend: str = None,
                      port: Optional[int] = None) -> Tuple[int, int]:
    """Initialise the default process group for ``launcher``.

    Args:
        launcher (str): ``'none'`` (one process), ``'pytorch'`` (torchrun)
            or ``'slurm'`` (srun).
        backend (str, optional): force a backend; default NCCL with GPUs,
            gloo without.
        port (int, optional): master port under Slurm when ``$MASTER_PORT`` is unset;
            default 20000 + (job id mod 10000).

    Returns:
        tuple[int, int]: (rank, world_size).
    """
    if launcher == 'none':
        return get_dist_info()
    if launcher not in ('pytorch', 'slurm'):
        raise ValueError(f"launcher must be 'none', 'pytorch' or 'slurm', got {launcher!r}")
    if dist.is_initialized():
        return get_dist_info()
    if launcher == 'slurm':
        _slurm_environment(port)
    for key in ('RANK', 'WORLD_SIZE', 'MASTER_ADDR', 'MASTER_PORT'):
        if key not in os.environ:
            raise RuntimeError(f'--launcher {launcher} needs ${key} (start the tool with torchrun '
                               'or srun, or use --launcher none)')
    use_cuda = torch.cuda.is_available()
    backend = backend or ('nccl' if use_cuda else 'gloo')
    if backend == 'gloo':
        _gloo_on_loopback()
    if use_cuda:
        torch.cuda.set_device(int(os.environ.get('LOCAL_RANK', 0)) % torch.cuda.device_count())
    dist.init_process_group(backend=backend)
    return get_dist_info()


def teardown_distributed() -> None:
    """Wait for every rank, then destroy the default process group (no-op without one).

    A rank that leaves its gloo group to the interpreter's shutdown while its peer is still
    working can abort (``terminate called without an active exception``; seen with 2 Slurm
    tasks after a finished training), which the launcher reports as a failed job. Objects
    that hold the group's pending work (a DDP model's reducer) must be gone first, or
    their C++ side is freed during interpreter finalisation, which aborts the same way:
    callers drop their runner before calling this, and it collects garbage before the
    barrier.
    """
    if dist.is_available() and dist.is_initialized():
        gc.collect()
        dist.barrier()
        dist.destroy_process_group()


def adapt_runner_config(cfg, world_size: int) -> None:
    """Make a runner config work in the current process group.

    On CPUs, mmengine's default DDP wrapper passes ``device_ids=[LOCAL_RANK]``,
    which DDP refuses for CPU modules; the wrapper gets ``device_ids=None``.
    """
    if world_size > 1 and not torch.cuda.is_available():
        cfg.model_wrapper_cfg = dict(type='MMDistributedDataParallel', device_ids=None)
