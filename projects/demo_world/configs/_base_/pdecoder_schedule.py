# The demo P-Decoders' schedule: 1000 iterations of AdamW with poly decay, one validation at
# the end, checkpoints every 500 iterations (what 2 CPU cores train in a few minutes with the
# feature cache), on the project's default runtime.
_base_ = ['../../../../configs/_base_/default_runtime.py']
optim_wrapper = dict(type='OptimWrapper',
                     optimizer=dict(type='AdamW', lr=1e-3, weight_decay=1e-4),
                     clip_grad=dict(max_norm=1.0, norm_type=2))
param_scheduler = [dict(type='PolyLR', eta_min=1e-5, power=0.9, begin=0, end=1000,
                        by_epoch=False)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=1000, val_interval=1000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(logger=dict(interval=50), checkpoint=dict(interval=500))
