"""The checkpointed training loop of the tiny SD stages: exact resume, EMA, logging.

Every stage checkpoints (weights, optimizer, step, RNG state; loaded with
``weights_only=True``) and resumes exactly: a resumed run produces the same
loss sequence as an uninterrupted one. All randomness of a stage flows from
one ``torch.Generator`` whose state is saved with the checkpoint.
"""
import copy
import logging
import math
import os.path as osp
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional

import torch
from torch import nn

from mmdatasetdm.fileio import atomic_path

logger = logging.getLogger(__name__)


@dataclass
class StageConfig:
    """Optimisation settings of one training stage.

    Args:
        steps (int): optimiser steps.
        batch_size (int): images per step.
        lr (float): peak learning rate (AdamW).
        warmup (int): linear warm-up steps.
        min_lr_ratio (float): the cosine decay ends at ``lr * min_lr_ratio``.
        weight_decay (float): AdamW weight decay.
        grad_clip (float): max gradient norm (0 disables clipping).
        ckpt_every (int): checkpoint every this many steps (and at the end).
        log_every (int): log a line every this many steps.
        seed (int): seed of the stage's generator.
    """

    steps: int = 1000
    batch_size: int = 32
    lr: float = 1e-3
    warmup: int = 100
    min_lr_ratio: float = 0.1
    weight_decay: float = 0.0
    grad_clip: float = 1.0
    ckpt_every: int = 100
    log_every: int = 20
    seed: int = 0

    def lr_at(self, step: int) -> float:
        """Learning rate of step ``step`` (0-based): warm-up, then cosine."""
        if step < self.warmup:
            return self.lr * (step + 1) / self.warmup
        span = max(1, self.steps - self.warmup)
        progress = min(1.0, (step - self.warmup) / span)
        cosine = 0.5 * (1 + math.cos(math.pi * progress))
        return self.lr * (self.min_lr_ratio + (1 - self.min_lr_ratio) * cosine)


@dataclass
class StageResult:
    """What a stage returns.

    Args:
        losses (list[float]): the loss of every step run in this call.
        step (int): the stage's step count after this call.
        seconds (float): wall time of the steps run in this call.
    """

    losses: List[float] = field(default_factory=list)
    step: int = 0
    seconds: float = 0.0


def save_checkpoint(path: str, state: Dict) -> None:
    """Write ``state`` atomically (temp file + rename) with ``torch.save``."""
    with atomic_path(path) as temp:
        torch.save(state, temp)


def load_checkpoint(path: str) -> Dict:
    """Read a checkpoint written by :func:`save_checkpoint` (no unpickling)."""
    return torch.load(path, map_location='cpu', weights_only=True)


def run_stage(name: str,
              modules: Dict[str, nn.Module],
              optimizer: torch.optim.Optimizer,
              cfg: StageConfig,
              step_fn: Callable[[torch.Generator], torch.Tensor],
              ckpt_path: Optional[str],
              resume: bool,
              max_steps: Optional[int] = None,
              ema: Optional[Dict[str, nn.Module]] = None,
              ema_decay: float = 0.0,
              extra_state: Optional[Dict] = None) -> StageResult:
    """Run optimiser steps with checkpoints and exact resume.

    Args:
        name (str): stage name for logs.
        modules (dict): the trained modules (their ``state_dict`` is saved).
        optimizer: over the modules' parameters.
        cfg (StageConfig): steps, lr schedule, checkpoint and log intervals.
        step_fn: ``step_fn(generator) -> loss`` computes one batch's loss;
            all of its randomness must come from ``generator``.
        ckpt_path (str, optional): checkpoint file (None: no checkpoints).
        resume (bool): continue from ``ckpt_path`` when it exists.
        max_steps (int, optional): stop after this many steps in this call
            (the stage continues on the next resume).
        ema (dict, optional): EMA copies of (some of) ``modules``, same keys.
        ema_decay (float): EMA decay.
        extra_state (dict, optional): tensors saved with the checkpoint.

    Returns:
        StageResult
    """
    generator = torch.Generator().manual_seed(cfg.seed)
    step = 0
    if resume and ckpt_path and osp.isfile(ckpt_path):
        state = load_checkpoint(ckpt_path)
        for key, module in modules.items():
            module.load_state_dict(state['modules'][key])
        for key, module in (ema or {}).items():
            module.load_state_dict(state['ema'][key])
        optimizer.load_state_dict(state['optimizer'])
        generator.set_state(state['generator'])
        torch.random.set_rng_state(state['torch_rng'])
        step = int(state['step'])
        logger.info('%s: resumed from %s at step %d/%d', name, ckpt_path, step, cfg.steps)

    def checkpoint():
        if ckpt_path is None:
            return
        state = dict(modules={k: m.state_dict() for k, m in modules.items()},
                     ema={k: m.state_dict() for k, m in (ema or {}).items()},
                     optimizer=optimizer.state_dict(), generator=generator.get_state(),
                     torch_rng=torch.random.get_rng_state(), step=step, total_steps=cfg.steps,
                     **(extra_state or {}))
        save_checkpoint(ckpt_path, state)

    result = StageResult(step=step)
    params = [p for group in optimizer.param_groups for p in group['params']]
    for module in modules.values():
        module.train()
    end = cfg.steps if max_steps is None else min(cfg.steps, step + max_steps)
    start_time = time.perf_counter()
    window_start, window_losses = start_time, []
    while step < end:
        lr = cfg.lr_at(step)
        for group in optimizer.param_groups:
            group['lr'] = lr
        loss = step_fn(generator)
        if not torch.isfinite(loss):
            raise FloatingPointError(f'{name}: loss is {loss.item()} at step {step}')
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)
        optimizer.step()
        if ema:
            # warm-up as diffusers' EMAModel: early weights do not linger
            decay = min(ema_decay, (1 + step) / (10 + step))
            with torch.no_grad():
                for key, shadow in ema.items():
                    for s, p in zip(shadow.parameters(), modules[key].parameters()):
                        s.lerp_(p.detach(), 1 - decay)
        step += 1
        result.losses.append(loss.item())
        window_losses.append(loss.item())
        if step % cfg.log_every == 0 or step == end:
            now = time.perf_counter()
            rate = len(window_losses) / max(now - window_start, 1e-9)
            eta = (cfg.steps - step) / max(rate, 1e-9)
            logger.info('%s: step %d/%d loss %.5f lr %.2e %.2f it/s eta %.0f min', name, step,
                        cfg.steps, sum(window_losses) / len(window_losses), lr, rate, eta / 60)
            window_start, window_losses = now, []
        if step % cfg.ckpt_every == 0 or step == end:
            checkpoint()
    result.step = step
    result.seconds = time.perf_counter() - start_time
    for module in modules.values():
        module.eval()
    return result


def ema_copy(module: nn.Module) -> nn.Module:
    """A frozen copy of ``module`` to hold its exponential moving average."""
    shadow = copy.deepcopy(module)
    shadow.requires_grad_(False)
    shadow.eval()
    return shadow
