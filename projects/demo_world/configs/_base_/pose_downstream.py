# The demo's downstream pose estimator: mmpose's stock top-down heatmap recipe
# (TopdownPoseEstimator + HeatmapHead + MSRA heatmaps, the transforms of mmpose's COCO
# configs) shrunk for the small people of the 64x64 demo-world images: ground-truth boxes
# cropped to 48x64, the first two stages of a ResNet-18 layout at 16 base channels (stride 8)
# and two deconvolutions to 24x32 heatmaps; trained from scratch, scored with mmpose's
# CocoMetric (OKS AP with the world's sigmas) on the 14 keypoints of the world's people.
#
# The child configs only choose the training data (pose_real_100.py: the people of the 100
# labelled images; pose_synth_100.py: the same plus generated poses); model, schedule and
# seed are shared. CocoMetric has no ann_file here: mmpose then reads the COCO JSON that the
# test-mode dataset names, so pointing the configs at a world is only
#   python tools/train.py projects/demo_world/configs/pose_real_100.py --cfg-options \
#       train_dataloader.dataset.data_root=DIR val_dataloader.dataset.data_root=DIR \
#       test_dataloader.dataset.data_root=DIR
# and the shifted domain is test_dataloader.dataset.split=test_shifted (tools/test.py), or
# test_shifted_dataloader below.
_base_ = ['./downstream_runtime.py']
default_scope = 'mmpose'

# ---------------------------------------------------------------- data
dataset_type = 'mmdatasetdm.DemoWorldPoseDataset'
data_root = 'data/demo_world'
data_mode = 'topdown'
num_keypoints = 14
codec = dict(type='MSRAHeatmap', input_size=(48, 64), heatmap_size=(24, 32), sigma=1.5)

train_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='RandomFlip', direction='horizontal'),
    dict(type='RandomBBoxTransform', rotate_factor=30.0),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='GenerateTarget', encoder=codec),
    dict(type='PackPoseInputs'),
]
val_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='TopdownAffine', input_size=codec['input_size']),
    dict(type='PackPoseInputs'),
]

train_dataloader = dict(
    batch_size=32,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root, split='train_100', data_mode=data_mode,
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=64,
    num_workers=0,
    persistent_workers=False,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False, round_up=False),
    dataset=dict(type=dataset_type, data_root=data_root, split='test', data_mode=data_mode,
                 test_mode=True, pipeline=val_pipeline))
test_dataloader = val_dataloader
test_shifted_dataloader = dict(
    val_dataloader, dataset=dict(val_dataloader['dataset'], split='test_shifted'))
val_evaluator = dict(type='CocoMetric')
test_evaluator = val_evaluator

# ---------------------------------------------------------------- model
model = dict(
    type='TopdownPoseEstimator',
    data_preprocessor=dict(
        type='PoseDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True),
    backbone=dict(
        type='ResNet',
        depth=18,
        stem_channels=16,
        base_channels=16,
        num_stages=2,
        strides=(1, 2),
        dilations=(1, 1),
        out_indices=(1, ),  # stride 8, 32 channels: 6x8 maps of the 48x64 crops
        norm_eval=False),
    head=dict(
        type='HeatmapHead',
        in_channels=32,
        out_channels=num_keypoints,
        deconv_out_channels=(32, 32),
        deconv_kernel_sizes=(4, 4),
        loss=dict(type='KeypointMSELoss', use_target_weight=True),
        decoder=codec),
    test_cfg=dict(flip_test=True, flip_mode='heatmap', shift_heatmap=True))

# ---------------------------------------------------------------- schedule
# Iteration-based and identical for both arms (equal gradient steps). 1500 iterations at
# batch 32 take ~2.5 min on one CPU core (~0.1 s each); on a 100-image world they reached
# OKS AP 0.23 on `test` (far from saturated: headroom for more data).
max_iters = 1500
warmup_iters = 100
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-3, betas=(0.9, 0.999), weight_decay=1e-4))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=warmup_iters),
    dict(type='CosineAnnealingLR', eta_min=1e-5, by_epoch=False, begin=warmup_iters,
         end=max_iters, T_max=max_iters - warmup_iters),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

# ---------------------------------------------------------------- runtime
default_hooks = dict(checkpoint=dict(interval=max_iters))
log_processor = dict(type='LogProcessor', window_size=50)
visualizer = dict(type='PoseLocalVisualizer', vis_backends=_base_.vis_backends)
