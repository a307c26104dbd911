# The demo's depth P-Decoder: configs/_base_/models/pdecoder_depth_sd15.py (mmseg
# DepthEstimator + HypercolumnNeck + HypercolumnDepthHead, SiLog loss) on the shipped tiny SD
# model, trained on the 100 labelled demo-world images (16-bit depth PNGs, millimetres).
_base_ = ['../../../configs/_base_/models/pdecoder_depth_sd15.py',
          './_base_/demo_sd.py', './_base_/pdecoder_schedule.py']
default_scope = 'mmseg'
embed = 64
max_depth = 60.0  # the world's ground is clipped at 60 m
depth_scale = 1000  # PNG value per metre (the world's meta.json)
class_names = _base_.demo_object_classes
meta_keys = ('img_path', 'depth_map_path', 'ori_shape', 'img_shape', 'pad_shape',
             'scale_factor', 'flip', 'flip_direction', 'category_id', 'prompt', 'prompt_words')
model = dict(
    data_preprocessor=dict(size_divisor=32),
    backbone=dict(pretrained=_base_.demo_sd, dtype='fp32', class_names=class_names,
                  timestep=_base_.demo_sd_timestep,
                  feature_cache=dict(dir='work_dirs/feature_cache/demo_depth')),
    neck=dict(out_channels=embed, out_strides=(2, 4, 8, 16),
              attention=dict(tokens='words', words=class_names),
              norm_cfg=dict(type='GN', num_groups=16)),
    decode_head=dict(in_channels=[embed] * 4, channels=embed, max_depth=max_depth,
                     norm_cfg=dict(type='GN', num_groups=16)))

dataset_type = 'mmdatasetdm.DemoWorldDepthDataset'
data_root = 'data/demo_world'
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadDepthAnnotation', depth_rescale_factor=1 / depth_scale),
    dict(type='RandomFlip', prob=0.5),
    # the image's caption is its prompt, as a generation prompt is
    dict(type='mmdatasetdm.AddPrompt', classes=class_names, source='caption'),
    dict(type='PackSegInputs', meta_keys=meta_keys),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadDepthAnnotation', depth_rescale_factor=1 / depth_scale),
    dict(type='mmdatasetdm.AddPrompt', classes=class_names, source='caption'),
    dict(type='PackSegInputs', meta_keys=meta_keys),
]
train_dataloader = dict(batch_size=8, num_workers=0, persistent_workers=False,
                        sampler=dict(type='InfiniteSampler', shuffle=True),
                        dataset=dict(type=dataset_type, data_root=data_root, split='train_100',
                                     with_caption=True, pipeline=train_pipeline))
val_dataloader = dict(batch_size=25, num_workers=0, persistent_workers=False,
                      sampler=dict(type='DefaultSampler', shuffle=False),
                      dataset=dict(type=dataset_type, data_root=data_root, split='test',
                                   with_caption=True, test_mode=True, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='DepthMetric', min_depth_eval=1e-3, max_depth_eval=max_depth)
test_evaluator = val_evaluator

visualizer = dict(type='SegLocalVisualizer', vis_backends=[dict(type='LocalVisBackend')],
                  name='visualizer')
