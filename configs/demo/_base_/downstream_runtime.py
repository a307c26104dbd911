# The runtime every demo downstream base shares (seg/inst/depth/pose_downstream.py): iteration-
# based logging, one kept checkpoint, gloo, seed 0. Each base adds its checkpoint interval, its
# toolbox's visualization hook and visualizer (with no fixed `name`, so two runs in one process,
# e.g. tools/benchmarks/headroom.py, do not share one visualizer).
default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    param_scheduler=dict(type='ParamSchedulerHook'),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, max_keep_ckpts=1),
    sampler_seed=dict(type='DistSamplerSeedHook'))
env_cfg = dict(cudnn_benchmark=False, mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
               dist_cfg=dict(backend='gloo'))
log_processor = dict(by_epoch=False)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0)
vis_backends = [dict(type='LocalVisBackend')]
