"""Helpers of the mixing-config tests: stock config files, scope-free comparison, a
two-iteration schedule."""
import os.path as osp


def stock_config(package, path):
    """The file of a config shipped inside an installed toolbox (what ``package::path`` names)."""
    module = __import__(package)
    return osp.join(osp.dirname(module.__file__), '.mim', 'configs', path)


def without_scope(value):
    """A config dict without the ``_scope_`` keys that ``pkg::`` inheritance adds."""
    if isinstance(value, dict):
        return {k: without_scope(v) for k, v in value.items() if k != '_scope_'}
    if isinstance(value, (list, tuple)):
        return type(value)(without_scope(v) for v in value)
    return value


def short_schedule(cfg, work_dir, batch_size=4, iters=2):
    """Train ``iters`` iterations (constant LR), validate and checkpoint at the end, no
    workers."""
    cfg.work_dir = str(work_dir)
    cfg.train_dataloader.batch_size = batch_size
    cfg.train_dataloader.num_workers = cfg.val_dataloader.num_workers = 0
    cfg.train_dataloader.persistent_workers = cfg.val_dataloader.persistent_workers = False
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=iters, val_interval=iters)
    cfg.param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False, begin=0,
                                end=iters)]
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', by_epoch=False, interval=iters)
    cfg.default_hooks.logger = dict(type='LoggerHook', interval=1)


def point_at_world(cfg, world, synthetic=None):
    """Point a demo config's loaders at ``world`` and its synthetic part at ``synthetic``.

    The mixed configs list ``[real, synthetic]``; the real part is wrapped in a
    ``RepeatDataset`` (mmseg/mmdet) or not (mmpose's ``CombinedDataset``).
    """
    train = cfg.train_dataloader.dataset
    if synthetic is None:
        train.data_root = world
    else:
        real = train.datasets[0]
        real.get('dataset', real).data_root = world
        train.datasets[1].data_root = synthetic
    for key in ('val_dataloader', 'test_dataloader', 'test_shifted_dataloader'):
        cfg[key].dataset.data_root = world


def evaluate(runner, dataloader, evaluator) -> dict:
    """The metrics of the runner's model on one dataloader (a test loop without hooks, so it
    also runs before training)."""
    import torch
    from mmengine.runner import TestLoop
    loop = TestLoop(runner, dataloader, evaluator)
    runner.model.eval()
    with torch.no_grad():
        for batch in loop.dataloader:
            loop.evaluator.process(data_samples=runner.model.test_step(batch), data_batch=batch)
    return loop.evaluator.evaluate(len(loop.dataloader.dataset))


def train_and_score(runner, loops):
    """Score a runner's model at its initial weights, train it, score it again.

    Args:
        runner: an mmengine Runner, not yet trained.
        loops (dict): name -> ``(dataloader cfg, evaluator cfg)``.

    Returns:
        tuple[dict, dict]: name -> metrics, before and after training.
    """
    # what runner.train() does first (a second call does not re-initialise)
    runner._init_model_weights()
    before = {name: evaluate(runner, *loop) for name, loop in loops.items()}
    runner.train()
    after = {name: evaluate(runner, *loop) for name, loop in loops.items()}
    return before, after


def losses(runner) -> list:
    """The total training loss of every iteration of the runner's last ``train()``."""
    values, _ = runner.message_hub.get_scalar('train/loss').data
    return [float(v) for v in values]
