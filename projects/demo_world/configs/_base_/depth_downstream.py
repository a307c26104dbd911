# The demo's downstream depth estimator: mmseg's DepthEstimator with the narrow UNet of the
# demo segmentor (seg_downstream.py) and a small dense depth head (sigmoid x max_depth,
# mmseg's SiLogLoss), trained from scratch on the 64x64 demo-world images with stock mmseg
# depth transforms, scored with mmseg's DepthMetric (d1/d2/d3, abs_rel, rmse, ...) on the
# pixels with ground-truth depth (sky has none).
#
# The child configs only choose the training data (depth_real_100.py: 100 labelled images;
# depth_synth_100.py: the same plus generated depth maps); model, schedule and seed are
# shared. Point them at a world with
#   python tools/train.py projects/demo_world/configs/depth_real_100.py --cfg-options \
#       train_dataloader.dataset.data_root=DIR val_dataloader.dataset.data_root=DIR \
#       test_dataloader.dataset.data_root=DIR
# and score the shifted domain with tools/test.py ... test_dataloader.dataset.split=test_shifted
# (or test_shifted_dataloader below).
_base_ = ['./downstream_runtime.py']
default_scope = 'mmseg'

# ---------------------------------------------------------------- data
dataset_type = 'mmdatasetdm.DemoWorldDepthDataset'
data_root = 'data/demo_world'
crop_size = (64, 64)
depth_scale = 1000  # the world's depth PNGs store millimetres (meta.json)
max_depth = 60.0  # the world's ground is clipped at 60 m

meta_keys = ('img_path', 'depth_map_path', 'ori_shape', 'img_shape', 'pad_shape',
             'scale_factor', 'flip', 'flip_direction', 'category_id')
# No scale augmentation: resizing an image changes how far things look, not their depth.
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadDepthAnnotation', depth_rescale_factor=1 / depth_scale),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs', meta_keys=meta_keys),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadDepthAnnotation', depth_rescale_factor=1 / depth_scale),
    dict(type='PackSegInputs', meta_keys=meta_keys),
]

train_dataloader = dict(
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root, split='train_100',
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=50,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, split='test', test_mode=True,
                 pipeline=test_pipeline))
test_dataloader = val_dataloader
test_shifted_dataloader = dict(
    val_dataloader, dataset=dict(val_dataloader['dataset'], split='test_shifted'))
# mmseg 1.2.2: `depth_metrics=[...]` raises TypeError, so every metric is computed.
val_evaluator = dict(type='DepthMetric', min_depth_eval=1e-3, max_depth_eval=max_depth)
test_evaluator = val_evaluator

# ---------------------------------------------------------------- model
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    type='DepthEstimator',
    data_preprocessor=dict(
        type='SegDataPreProcessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        size=crop_size,
        pad_val=0,
        seg_pad_val=0),
    pretrained=None,
    backbone=dict(
        type='UNet',
        in_channels=3,
        base_channels=16,
        num_stages=4,
        strides=(1, 1, 1, 1),
        enc_num_convs=(2, 2, 2, 2),
        dec_num_convs=(2, 2, 2),
        downsamples=(True, True, True),
        enc_dilations=(1, 1, 1, 1),
        dec_dilations=(1, 1, 1),
        norm_cfg=norm_cfg,
        act_cfg=dict(type='ReLU'),
        upsample_cfg=dict(type='InterpConv'),
        norm_eval=False),
    decode_head=dict(
        type='mmdatasetdm.HypercolumnDepthHead',
        in_channels=16,
        in_index=3,  # the full-resolution decoder output
        input_transform=None,
        channels=32,
        num_convs=1,
        max_depth=max_depth,
        norm_cfg=norm_cfg,
        loss_decode=dict(type='mmseg.SiLogLoss')),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))

# ---------------------------------------------------------------- schedule
# Iteration-based and identical for both arms (equal gradient steps). 1500 iterations at
# batch 8 take ~4.5 min on one idle CPU core (~0.18 s each); on a 100-image world they
# reached d1 0.66 / abs_rel 0.21 on `test` (headroom for more data).
max_iters = 1500
warmup_iters = 100
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-3, betas=(0.9, 0.999), weight_decay=1e-2),
    clip_grad=dict(max_norm=1.0, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=warmup_iters),
    dict(type='PolyLR', eta_min=1e-5, power=0.9, by_epoch=False, begin=warmup_iters,
         end=max_iters),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

# ---------------------------------------------------------------- runtime
default_hooks = dict(checkpoint=dict(interval=max_iters))
visualizer = dict(type='SegLocalVisualizer', vis_backends=_base_.vis_backends)
