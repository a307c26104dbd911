# DatasetDM's depth P-Decoder on NYU-50: 50 labelled NYU Depth v2 training frames and a
# local SD-1.5 diffusers folder, in mmseg's NYU layout (tools of mmseg convert NYU to it):
#   data/nyu/images/{train_50,test}/*.jpg, data/nyu/annotations/{train_50,test}/*.png
#   (16-bit PNG depth in millimetres: depth_scale 1000; train_50 = the 50 chosen frames,
#   copied or linked from train/, since mmseg's NYUDataset lists a folder)
#   checkpoints/stable-diffusion-v1-5/
_base_ = ['mmseg::_base_/default_runtime.py', '../_base_/models/pdecoder_depth_sd15.py']
default_scope = 'mmseg'
max_depth = 10.0
depth_scale = 1000  # stored PNG value per metre (millimetres)
crop_size = (448, 576)  # multiples of SD's size_divisor 64 inside NYU's 480x640
meta_keys = ('img_path', 'depth_map_path', 'ori_shape', 'img_shape', 'pad_shape',
             'scale_factor', 'flip', 'flip_direction', 'category_id')
model = dict(
    backbone=dict(pretrained='checkpoints/stable-diffusion-v1-5', class_names=('room', )),
    decode_head=dict(max_depth=max_depth))

dataset_type = 'NYUDataset'
data_root = 'data/nyu'
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadDepthAnnotation', depth_rescale_factor=1 / depth_scale),
    dict(type='RandomDepthMix', prob=0.25),
    dict(type='RandomFlip', prob=0.5),
    dict(type='RandomCrop', crop_size=crop_size),
    dict(type='PackSegInputs', meta_keys=meta_keys),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadDepthAnnotation', depth_rescale_factor=1 / depth_scale),
    dict(type='PackSegInputs', meta_keys=meta_keys),
]
train_dataloader = dict(
    batch_size=4, num_workers=4, persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root,
                 data_prefix=dict(img_path='images/train_50',
                                  depth_map_path='annotations/train_50'),
                 pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1, num_workers=2, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, test_mode=True,
                 data_prefix=dict(img_path='images/test', depth_map_path='annotations/test'),
                 pipeline=test_pipeline))
test_dataloader = val_dataloader
# mmseg 1.2.2: `depth_metrics=[...]` raises TypeError, so every metric is computed
val_evaluator = dict(type='DepthMetric', min_depth_eval=1e-3, max_depth_eval=max_depth,
                     crop_type='nyu_crop')
test_evaluator = val_evaluator

max_iters = 10000
optim_wrapper = dict(type='OptimWrapper',
                     optimizer=dict(type='AdamW', lr=1e-4, weight_decay=0.01),
                     clip_grad=dict(max_norm=1.0, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=500),
    dict(type='PolyLR', eta_min=0, power=0.9, begin=500, end=max_iters, by_epoch=False)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=1000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=1000, max_keep_ckpts=3,
                    save_best='abs_rel', rule='less'))
log_processor = dict(by_epoch=False)
