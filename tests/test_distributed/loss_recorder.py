"""A hook for the distributed tests: per training iteration, the loss averaged over all
ranks (the quantity DDP's averaged gradient belongs to), the samples each rank trained on
and a checksum of each rank's trainable weights after the step, appended by rank 0 to a
JSON-lines file.

mmengine logs rank 0's own loss only, so a 2-rank run's log cannot be compared with a
1-rank run's; this hook gives the comparable number. Configs load it with
``custom_imports=dict(imports=['tests.test_distributed.loss_recorder'])`` and
``custom_hooks=[dict(type='GlobalLossRecorder', out_file=...)]``.
"""
import json
import os.path as osp

import torch
import torch.distributed as dist
from mmengine.hooks import Hook
from mmengine.registry import HOOKS


@HOOKS.register_module()
class GlobalLossRecorder(Hook):
    """Write ``{"iter", "losses": {name: mean over ranks}, "samples": [[paths of rank r]],
    "weights": [sum of rank r's trainable parameters]}`` per iteration.

    Args:
        out_file (str): the JSON-lines file (rank 0 truncates it before training).
    """

    priority = 'VERY_LOW'

    def __init__(self, out_file: str):
        self.out_file = out_file

    @staticmethod
    def _rank_world():
        if dist.is_available() and dist.is_initialized():
            return dist.get_rank(), dist.get_world_size()
        return 0, 1

    def before_train(self, runner) -> None:
        if self._rank_world()[0] == 0:
            open(self.out_file, 'w').close()

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        rank, world = self._rank_world()
        names = sorted(k for k in outputs if 'loss' in k)
        values = torch.tensor([float(outputs[k]) for k in names], dtype=torch.float64)
        samples = [osp.abspath(s.img_path) for s in data_batch['data_samples']]
        weights = sum(p.detach().double().sum().item()
                      for p in runner.model.parameters() if p.requires_grad)
        gathered = [(samples, weights)]
        if world > 1:
            dist.all_reduce(values)
            values /= world
            gathered = [None] * world
            dist.all_gather_object(gathered, (samples, weights))
        if rank == 0:
            line = dict(iter=runner.iter, losses=dict(zip(names, values.tolist())),
                        samples=[g[0] for g in gathered], weights=[g[1] for g in gathered])
            with open(self.out_file, 'a') as f:
                f.write(json.dumps(line) + '\n')
