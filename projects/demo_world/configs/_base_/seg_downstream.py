# The downstream segmentor of the demo: a narrow mmseg UNet + FCNHead for the
# 64x64 demo-world images, trained from scratch (no pretrained weights exist
# offline) with stock mmseg transforms, scored with IoUMetric (mIoU).
#
# About 0.46 M parameters (0.35-0.5 s per iteration at batch 8 on one busy CPU
# core). The child configs only choose the training split (seg_real_100.py,
# seg_real_large.py); the main job adds synthetic data to the same model and
# schedule. Measured numbers: projects/demo_world/docs/headroom.md.
#
# Point it at a world with --cfg-options, e.g.
#   python tools/train.py projects/demo_world/configs/seg_real_100.py --cfg-options \
#       train_dataloader.dataset.data_root=DIR val_dataloader.dataset.data_root=DIR \
#       test_dataloader.dataset.data_root=DIR
# and score the shifted domain with
#   python tools/test.py projects/demo_world/configs/seg_real_100.py CKPT --cfg-options \
#       test_dataloader.dataset.data_root=DIR test_dataloader.dataset.split=test_shifted
# (projects/demo_world/tools/headroom.py does all of this: --world DIR).
_base_ = ['./downstream_runtime.py']
default_scope = 'mmseg'

# ---------------------------------------------------------------- data
dataset_type = 'mmdatasetdm.DemoWorldSegDataset'
data_root = 'data/demo_world'
crop_size = (64, 64)
num_classes = 6  # background, person, car, cone, tree, ball

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomResize', scale=crop_size, ratio_range=(0.75, 1.5), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs'),
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
    dataset=dict(type=dataset_type, data_root=data_root, split='test', pipeline=test_pipeline))
test_dataloader = val_dataloader
# The shifted-domain test split, for tools that score both test splits
# (the Runner itself only knows test_dataloader; tools/test.py users switch
# with --cfg-options test_dataloader.dataset.split=test_shifted).
test_shifted_dataloader = dict(
    val_dataloader,
    dataset=dict(type=dataset_type, data_root=data_root, split='test_shifted',
                 pipeline=test_pipeline))
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator

# ---------------------------------------------------------------- model
norm_cfg = dict(type='BN', requires_grad=True)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    size=crop_size,
    pad_val=0,
    seg_pad_val=255)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    pretrained=None,
    backbone=dict(
        type='UNet',
        in_channels=3,
        base_channels=16,
        num_stages=4,  # 64 -> 8 pixels at the bottleneck
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
        type='FCNHead',
        in_channels=16,
        in_index=3,  # the full-resolution decoder output
        channels=32,
        num_convs=1,
        concat_input=False,
        dropout_ratio=0.1,
        num_classes=num_classes,
        norm_cfg=norm_cfg,
        align_corners=False,
        # The labelled demo world is long-tailed (cones are 0.16% of the pixels
        # of train_100, balls 0.9%), so the loss weighs classes by median
        # frequency balancing, square-rooted: sqrt(median(f) / f_c) with f_c
        # the pixel share of class c in train_100 (the labels every arm has;
        # `python tools/analysis_tools/class_weights.py
        # projects/demo_world/configs/seg_real_100.py` prints them).
        # (mmseg's CrossEntropyLoss fails on ignored pixels once class_weight
        # is set; this subclass passes the average factor itself).
        loss_decode=dict(
            type='mmdatasetdm.ClassWeightedCrossEntropyLoss',
            loss_weight=1.0,
            class_weight=[0.4, 1.4, 0.8, 8.1, 0.8, 3.5])),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))

# ---------------------------------------------------------------- schedule
# Iteration-based and identical for every training set, so "100 real" and
# "100 real + synthetic" (or "large") see the same number of gradient steps
# (equal iterations, not equal epochs: 3000 x 8 = 240 epochs of train_100 but
# 12 of train_large). The learning rate was chosen on train_large images, never
# on a test split; the measurements behind it and the schedule's cost in
# headroom are in projects/demo_world/docs/headroom.md.
max_iters = 3000
warmup_iters = 200
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=4e-3, betas=(0.9, 0.999), weight_decay=1e-2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=warmup_iters),
    dict(type='PolyLR', eta_min=1e-5, power=0.9, by_epoch=False, begin=warmup_iters,
         end=max_iters),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

# ---------------------------------------------------------------- runtime
default_hooks = dict(checkpoint=dict(interval=500),
                     visualization=dict(type='SegVisualizationHook'))
visualizer = dict(type='SegLocalVisualizer', vis_backends=_base_.vis_backends)
