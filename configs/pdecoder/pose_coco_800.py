# DatasetDM's pose P-Decoder on COCO-pose-800: 800 labelled COCO train2017 images with
# person keypoints (a subset written by the few-shot tool, mmdatasetdm.datasets.fewshot
# make_coco_subset) and a local SD-1.5 diffusers folder; 256x192 crops, COCO's 17 keypoints.
#   data/coco/train2017/, data/coco/val2017/,
#   data/coco/annotations/person_keypoints_{train2017_800,val2017}.json
#   checkpoints/stable-diffusion-v1-5/
# Validation uses ground-truth person boxes; set val_dataloader.dataset.bbox_file to a
# detector's results for the standard detected-box protocol.
_base_ = ['mmpose::_base_/default_runtime.py', '../_base_/models/pdecoder_pose_sd15.py']
default_scope = 'mmpose'
codec = dict(type='MSRAHeatmap', input_size=(192, 256), heatmap_size=(48, 64), sigma=2)
model = dict(backbone=dict(pretrained='checkpoints/stable-diffusion-v1-5'),
             head=dict(decoder=codec))

dataset_type = 'CocoDataset'
data_mode = 'topdown'
data_root = 'data/coco/'
train_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
    dict(type='RandomFlip', direction='horizontal'),
    dict(type='RandomHalfBody'),
    dict(type='RandomBBoxTransform'),
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
    batch_size=32, num_workers=4, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root, data_mode=data_mode,
                 ann_file='annotations/person_keypoints_train2017_800.json',
                 data_prefix=dict(img='train2017/'), pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=32, num_workers=2, persistent_workers=True, drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False, round_up=False),
    dataset=dict(type=dataset_type, data_root=data_root, data_mode=data_mode,
                 ann_file='annotations/person_keypoints_val2017.json',
                 data_prefix=dict(img='val2017/'), test_mode=True, pipeline=val_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='CocoMetric',
                     ann_file=data_root + 'annotations/person_keypoints_val2017.json')
test_evaluator = val_evaluator

# mmpose's top-down heatmap schedule (HRNet 256x192), on the P-Decoder's parameters only
max_epochs = 210
optim_wrapper = dict(optimizer=dict(type='Adam', lr=5e-4))
param_scheduler = [
    dict(type='LinearLR', begin=0, end=500, start_factor=0.001, by_epoch=False),
    dict(type='MultiStepLR', begin=0, end=max_epochs, milestones=[170, 200], gamma=0.1,
         by_epoch=True)]
train_cfg = dict(by_epoch=True, max_epochs=max_epochs, val_interval=10)
default_hooks = dict(checkpoint=dict(save_best='coco/AP', rule='greater', max_keep_ckpts=3))
auto_scale_lr = dict(base_batch_size=32)
