# A tiny pose P-Decoder that runs on CPU in seconds: the same code as pose_coco_800.py
# with a tiny SD-architecture model and narrow layers, on a small COCO-keypoints set
# (images/ + annotations/keypoints.json) of a 5-keypoint stick figure.
#   tools/train.py configs/pdecoder/pose_tiny.py --cfg-options \
#       model.backbone.pretrained=work_dirs/tiny_sd data_root=DIR ...
_base_ = ['../_base_/models/pdecoder_pose_sd15.py', '../_base_/default_runtime.py',
          '../_base_/schedules/pdecoder_tiny_200it.py']
default_scope = 'mmpose'
embed = 32
# the toy skeleton (tests/toy_data.py draws it); COCO's 17 keypoints are the base default
dataset_info = dict(
    dataset_name='toy_pose',
    keypoint_info={
        0: dict(name='head', id=0, color=[255, 0, 0], type='upper', swap=''),
        1: dict(name='left_hand', id=1, color=[0, 255, 0], type='upper', swap='right_hand'),
        2: dict(name='right_hand', id=2, color=[0, 0, 255], type='upper', swap='left_hand'),
        3: dict(name='left_foot', id=3, color=[255, 255, 0], type='lower', swap='right_foot'),
        4: dict(name='right_foot', id=4, color=[0, 255, 255], type='lower', swap='left_foot'),
    },
    skeleton_info={
        0: dict(link=('head', 'left_hand'), id=0, color=[255, 128, 0]),
        1: dict(link=('head', 'right_hand'), id=1, color=[255, 128, 0]),
        2: dict(link=('head', 'left_foot'), id=2, color=[255, 128, 0]),
        3: dict(link=('head', 'right_foot'), id=3, color=[255, 128, 0]),
    },
    joint_weights=[1.0] * 5,
    sigmas=[0.025] * 5)
num_keypoints = 5
codec = dict(type='MSRAHeatmap', input_size=(128, 128), heatmap_size=(32, 32), sigma=2)
model = dict(
    backbone=dict(pretrained=None, dtype='fp32'),
    neck=dict(out_channels=embed,
              norm_cfg=dict(type='GN', num_groups=8)),
    head=dict(in_channels=embed, out_channels=num_keypoints,
              conv_out_channels=(embed, ), decoder=codec),
    # the toy keypoints are told apart by colour, not by side: no flip test
    test_cfg=dict(flip_test=False))

dataset_type = 'CocoDataset'
data_mode = 'topdown'
data_root = 'data/toy_pose/'
train_pipeline = [
    dict(type='LoadImage'),
    dict(type='GetBBoxCenterScale'),
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
dataset = dict(type=dataset_type, data_root=data_root, data_mode=data_mode,
               metainfo=dataset_info, ann_file='annotations/keypoints.json',
               data_prefix=dict(img='images/'), pipeline=train_pipeline)
train_dataloader = dict(batch_size=4, num_workers=0, persistent_workers=False,
                        sampler=dict(type='InfiniteSampler', shuffle=True), dataset=dataset)
val_dataloader = dict(batch_size=4, num_workers=0, persistent_workers=False, drop_last=False,
                      sampler=dict(type='DefaultSampler', shuffle=False, round_up=False),
                      dataset=dict(dataset, test_mode=True, pipeline=val_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='CocoMetric', ann_file=data_root + 'annotations/keypoints.json')
test_evaluator = val_evaluator

visualizer = dict(type='PoseLocalVisualizer', vis_backends=[dict(type='LocalVisBackend')],
                  name='visualizer')
