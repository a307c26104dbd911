# The demo's downstream instance segmenter: mmdet's stock Mask R-CNN (its model config,
# inherited) shrunk for the 64x64 demo-world images (ResNet-18 layout at 16 base channels,
# a 32-channel FPN, small RoI heads), trained from scratch (no pretrained weights offline)
# with stock mmdet transforms, scored with mmdet's CocoMetric (bbox and segm mAP).
#
# The child configs only choose the training data (inst_real_100.py: 100 labelled images;
# inst_synth_100.py: the same plus a synthetic set); model, schedule and seed are shared.
# Point them at a world (CocoMetric reads the split's COCO JSON, so its path moves too):
#   python tools/train.py projects/demo_world/configs/inst_real_100.py --cfg-options \
#       train_dataloader.dataset.data_root=DIR val_dataloader.dataset.data_root=DIR \
#       test_dataloader.dataset.data_root=DIR \
#       val_evaluator.ann_file=DIR/annotations/instances_test.json \
#       test_evaluator.ann_file=DIR/annotations/instances_test.json
# and score the shifted domain with tools/test.py ... test_dataloader.dataset.split=test_shifted
#   test_evaluator.ann_file=DIR/annotations/instances_test_shifted.json
# (test_shifted_dataloader / test_shifted_evaluator below hold that pair).
_base_ = ['mmdet::_base_/models/mask-rcnn_r50_fpn.py', './downstream_runtime.py']
default_scope = 'mmdet'

# ---------------------------------------------------------------- data
dataset_type = 'mmdatasetdm.DemoWorldDetDataset'
data_root = 'data/demo_world'
image_scale = (128, 128)  # the 64x64 images upsampled 2x: objects of 6-58 px become 12-116
num_classes = 5  # person, car, cone, tree, ball

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='RandomResize', scale=image_scale, ratio_range=(0.8, 1.25), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=image_scale, keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='PackDetInputs',
         meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]

train_dataloader = dict(
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root, split='train_100',
                 filter_cfg=dict(filter_empty_gt=True), pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, split='test', test_mode=True,
                 pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='CocoMetric', ann_file=data_root + '/annotations/instances_test.json',
                     metric=['bbox', 'segm'], format_only=False)
test_evaluator = val_evaluator
# The shifted-domain test split and its evaluator (the Runner only knows test_dataloader).
test_shifted_dataloader = dict(
    val_dataloader, dataset=dict(val_dataloader['dataset'], split='test_shifted'))
test_shifted_evaluator = dict(
    val_evaluator, ann_file=data_root + '/annotations/instances_test_shifted.json')

# ---------------------------------------------------------------- model
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    backbone=dict(depth=18, base_channels=16, frozen_stages=-1, norm_cfg=norm_cfg,
                  norm_eval=False, init_cfg=None),
    neck=dict(in_channels=[16, 32, 64, 128], out_channels=32),
    rpn_head=dict(in_channels=32, feat_channels=32,
                  anchor_generator=dict(scales=[4])),  # 16-256 px anchors at strides 4-64
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=32),
        bbox_head=dict(in_channels=32, fc_out_channels=128, num_classes=num_classes),
        mask_roi_extractor=dict(out_channels=32),
        mask_head=dict(num_convs=2, in_channels=32, conv_out_channels=32,
                       num_classes=num_classes)),
    train_cfg=dict(
        rpn_proposal=dict(nms_pre=600, max_per_img=300),
        rcnn=dict(sampler=dict(num=128))),
    test_cfg=dict(
        rpn=dict(nms_pre=300, max_per_img=100),
        rcnn=dict(max_per_img=30)))

# ---------------------------------------------------------------- schedule
# Iteration-based and identical for both arms (equal gradient steps). 600 iterations at
# batch 8 take ~5 min on one idle CPU core (0.5 s each); on a 100-image world they reached
# bbox mAP 0.14 / segm mAP 0.09 on `test` with the loss still falling (headroom for data).
max_iters = 600
warmup_iters = 50
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-3, betas=(0.9, 0.999), weight_decay=1e-4),
    clip_grad=dict(max_norm=10.0, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=warmup_iters),
    dict(type='CosineAnnealingLR', eta_min=1e-5, by_epoch=False, begin=warmup_iters,
         end=max_iters, T_max=max_iters - warmup_iters),
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

# ---------------------------------------------------------------- runtime
default_hooks = dict(checkpoint=dict(interval=max_iters),
                     visualization=dict(type='DetVisualizationHook'))
log_processor = dict(type='LogProcessor', window_size=50)
visualizer = dict(type='DetLocalVisualizer', vis_backends=_base_.vis_backends)
