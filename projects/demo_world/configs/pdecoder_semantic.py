# The demo's semantic P-Decoder: the same model as configs/_base_/models/pdecoder_semantic_sd15.py
# on the tiny SD model shipped in checkpoints/demo-world-sd (trained on the demo world's
# unlabelled pool), trained on the 100 labelled demo-world images.
_base_ = ['../../../configs/_base_/models/pdecoder_semantic_sd15.py',
          './_base_/demo_sd.py', './_base_/pdecoder_schedule.py']
default_scope = 'mmseg'
class_names = ('background', ) + _base_.demo_object_classes
num_classes = len(class_names)
meta_keys = ('img_path', 'seg_map_path', 'ori_shape', 'img_shape', 'pad_shape', 'scale_factor',
             'flip', 'flip_direction', 'reduce_zero_label', 'prompt', 'prompt_words')
model = dict(
    data_preprocessor=dict(size_divisor=32),
    backbone=dict(pretrained=_base_.demo_sd, dtype='fp32', class_names=class_names,
                  timestep=_base_.demo_sd_timestep,
                  # frozen backbone: each (image, flip) view is computed once per run
                  feature_cache=dict(dir='work_dirs/feature_cache/demo_semantic')),
    decode_head=dict(
        **_base_.demo_m2f_head, num_classes=num_classes,
        pixel_decoder=dict(
            **_base_.demo_m2f_pixel_decoder,
            attention=dict(tokens='words', words=class_names[1:])),
        loss_cls=dict(class_weight=[1.0] * num_classes + [0.1]),
        train_cfg=dict(num_points=2048)))

dataset_type = 'mmdatasetdm.DemoWorldSegDataset'
data_root = 'data/demo_world'
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='mmdatasetdm.AddPrompt', classes=class_names, source='present'),
    dict(type='PackSegInputs', meta_keys=meta_keys),
]
# Prompts name the classes present: the setting of generation, where the prompt is known.
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='mmdatasetdm.AddPrompt', classes=class_names, source='present'),
    dict(type='PackSegInputs', meta_keys=meta_keys),
]
train_dataloader = dict(batch_size=8, num_workers=0, persistent_workers=False,
                        sampler=dict(type='InfiniteSampler', shuffle=True),
                        dataset=dict(type=dataset_type, data_root=data_root, split='train_100',
                                     pipeline=train_pipeline))
val_dataloader = dict(batch_size=25, num_workers=0, persistent_workers=False,
                      sampler=dict(type='DefaultSampler', shuffle=False),
                      dataset=dict(type=dataset_type, data_root=data_root, split='test',
                                   pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator

visualizer = dict(type='SegLocalVisualizer', vis_backends=[dict(type='LocalVisBackend')],
                  name='visualizer')
