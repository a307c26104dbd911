# A tiny depth P-Decoder that runs on CPU in seconds: the same code as
# depth_nyu_50.py with a tiny SD-architecture model and narrow layers, on a small
# set in mmseg's NYU layout (images/train/*.png, annotations/train/*.png holding
# 16-bit depth in millimetres).
#   tools/train.py configs/pdecoder/depth_tiny.py --cfg-options \
#       model.backbone.pretrained=work_dirs/tiny_sd data_root=DIR ...
_base_ = ['../_base_/models/pdecoder_depth_sd15.py', '../_base_/default_runtime.py',
          '../_base_/schedules/pdecoder_tiny_200it.py']
default_scope = 'mmseg'
embed = 32
max_depth = 10.0
depth_scale = 1000  # stored PNG value per metre (millimetres)
meta_keys = ('img_path', 'depth_map_path', 'ori_shape', 'img_shape', 'pad_shape',
             'scale_factor', 'flip', 'flip_direction', 'category_id', 'prompt', 'prompt_words')
model = dict(
    backbone=dict(pretrained=None, dtype='fp32', class_names=('photo', )),
    neck=dict(out_channels=embed,
              norm_cfg=dict(type='GN', num_groups=8)),
    decode_head=dict(in_channels=[embed] * 4, channels=embed, max_depth=max_depth,
                     norm_cfg=dict(type='GN', num_groups=8)))

dataset_type = 'NYUDataset'
data_root = 'data/toy_depth'
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadDepthAnnotation', depth_rescale_factor=1 / depth_scale),
    dict(type='PackSegInputs', meta_keys=meta_keys),
]
test_pipeline = train_pipeline
dataset = dict(type=dataset_type, data_root=data_root,
               data_prefix=dict(img_path='images/train', depth_map_path='annotations/train'),
               img_suffix='.png', depth_map_suffix='.png', pipeline=train_pipeline)
train_dataloader = dict(batch_size=4, num_workers=0, persistent_workers=False,
                        sampler=dict(type='InfiniteSampler', shuffle=True), dataset=dataset)
val_dataloader = dict(batch_size=4, num_workers=0, persistent_workers=False,
                      sampler=dict(type='DefaultSampler', shuffle=False),
                      dataset=dict(dataset, test_mode=True, pipeline=test_pipeline))
test_dataloader = val_dataloader
# mmseg 1.2.2: `depth_metrics=[...]` raises TypeError, so every metric is computed
val_evaluator = dict(type='DepthMetric', min_depth_eval=1e-3, max_depth_eval=max_depth)
test_evaluator = val_evaluator

visualizer = dict(type='SegLocalVisualizer', vis_backends=[dict(type='LocalVisBackend')],
                  name='visualizer')
