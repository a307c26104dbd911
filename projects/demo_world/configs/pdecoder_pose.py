# The demo's pose P-Decoder: configs/_base_/models/pdecoder_pose_sd15.py (mmpose top-down
# HeatmapHead with the MSRA codec on the HypercolumnNeck) on the shipped tiny SD model,
# trained on the people of the 100 labelled demo-world images (14 keypoints).
_base_ = ['../../../configs/_base_/models/pdecoder_pose_sd15.py',
          './_base_/demo_sd.py', './_base_/pdecoder_schedule.py']
default_scope = 'mmpose'
embed = 64
num_keypoints = 14
# 48x64 person crops -> 24x32 latents; heatmaps at stride 2 (the finest SD level)
codec = dict(type='MSRAHeatmap', input_size=(48, 64), heatmap_size=(24, 32), sigma=1.5)
model = dict(
    # the crops' only augmentation is a flip: two views per person repeat every epoch, so
    # the cache makes an iteration ~5x cheaper on a CPU
    backbone=dict(pretrained=_base_.demo_sd, dtype='fp32', class_names=('person', ),
                  timestep=_base_.demo_sd_timestep,
                  feature_cache=dict(dir='work_dirs/feature_cache/demo_pose')),
    neck=dict(out_channels=embed, out_strides=(2, ),
              attention=dict(tokens='words', words=('person', )),
              norm_cfg=dict(type='GN', num_groups=16)),
    head=dict(in_channels=embed, out_channels=num_keypoints, conv_out_channels=(embed, ),
              decoder=codec))

dataset_type = 'mmdatasetdm.DemoWorldPoseDataset'
data_root = 'data/demo_world'
data_mode = 'topdown'
# Training reads whole images (bottom-up) and picks one person each: in its own box, or,
# half the time for a one-person image, with the whole image as its box. The tiny
# generator's cross-attention does not localise people, so generation decodes the whole
# image (generate_pose.py: decoder.pose_boxes='image'); tests keep the ground-truth boxes.
train_pipeline = [
    dict(type='LoadImage'),
    dict(type='mmdatasetdm.PickPerson', whole_image_prob=0.5),
    dict(type='GetBBoxCenterScale'),
    dict(type='RandomFlip', direction='horizontal'),
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
train_dataloader = dict(batch_size=16, num_workers=0, persistent_workers=False,
                        sampler=dict(type='InfiniteSampler', shuffle=True),
                        dataset=dict(type=dataset_type, data_root=data_root, split='train_100',
                                     data_mode='bottomup', pipeline=train_pipeline))
val_dataloader = dict(batch_size=32, num_workers=0, persistent_workers=False, drop_last=False,
                      sampler=dict(type='DefaultSampler', shuffle=False, round_up=False),
                      dataset=dict(type=dataset_type, data_root=data_root, split='test',
                                   data_mode=data_mode, test_mode=True, pipeline=val_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='CocoMetric')
test_evaluator = val_evaluator

visualizer = dict(type='PoseLocalVisualizer', vis_backends=[dict(type='LocalVisBackend')],
                  name='visualizer')
