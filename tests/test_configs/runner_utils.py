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


def short_schedule(cfg, work_dir, batch_size=4):
    """Train 2 iterations (constant LR), validate and checkpoint at the end, no workers."""
    cfg.work_dir = str(work_dir)
    cfg.train_dataloader.batch_size = batch_size
    cfg.train_dataloader.num_workers = cfg.val_dataloader.num_workers = 0
    cfg.train_dataloader.persistent_workers = cfg.val_dataloader.persistent_workers = False
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=2, val_interval=2)
    cfg.param_scheduler = [dict(type='ConstantLR', factor=1.0, by_epoch=False, begin=0, end=2)]
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', by_epoch=False, interval=2)
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
