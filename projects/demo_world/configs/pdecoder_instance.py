# The demo's instance P-Decoder: configs/_base_/models/pdecoder_instance_sd15.py (mmdet
# Mask2Former + HypercolumnPixelDecoder) on the shipped tiny SD model, trained on the 100
# labelled demo-world images (COCO instances of every object class).
_base_ = ['../../../configs/_base_/models/pdecoder_instance_sd15.py',
          './_base_/demo_sd.py', './_base_/pdecoder_schedule.py']
default_scope = 'mmdet'
class_names = _base_.demo_object_classes
num_things_classes = len(class_names)
num_classes = num_things_classes
meta_keys = ('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor', 'flip',
             'flip_direction', 'prompt', 'prompt_words')
model = dict(
    data_preprocessor=dict(pad_size_divisor=32),
    backbone=dict(pretrained=_base_.demo_sd, dtype='fp32', class_names=class_names,
                  timestep=_base_.demo_sd_timestep,
                  feature_cache=dict(dir='work_dirs/feature_cache/demo_instance')),
    panoptic_head=dict(
        **_base_.demo_m2f_head, num_things_classes=num_things_classes,
        pixel_decoder=dict(
            **_base_.demo_m2f_pixel_decoder,
            attention=dict(tokens='words', words=class_names)),
        loss_cls=dict(class_weight=[1.0] * num_classes + [0.1])),
    panoptic_fusion_head=dict(num_things_classes=num_things_classes),
    train_cfg=dict(num_points=2048),
    test_cfg=dict(max_per_image=_base_.demo_m2f_head.num_queries))

dataset_type = 'mmdatasetdm.DemoWorldDetDataset'
data_root = 'data/demo_world'
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='mmdatasetdm.AddPrompt', classes=class_names, source='present'),
    dict(type='PackDetInputs', meta_keys=meta_keys),
]
# Prompts name the classes present: the setting of generation, where the prompt is known.
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='mmdatasetdm.AddPrompt', classes=class_names, source='present'),
    dict(type='PackDetInputs', meta_keys=meta_keys),
]
train_dataloader = dict(batch_size=8, num_workers=0, persistent_workers=False,
                        sampler=dict(type='InfiniteSampler', shuffle=True), batch_sampler=None,
                        dataset=dict(type=dataset_type, data_root=data_root, split='train_100',
                                     filter_cfg=dict(filter_empty_gt=True),
                                     pipeline=train_pipeline))
val_dataloader = dict(batch_size=25, num_workers=0, persistent_workers=False, drop_last=False,
                      sampler=dict(type='DefaultSampler', shuffle=False),
                      dataset=dict(type=dataset_type, data_root=data_root, split='test',
                                   test_mode=True, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='CocoMetric', ann_file=data_root + '/annotations/instances_test.json',
                     metric=['segm'])
test_evaluator = val_evaluator

visualizer = dict(type='DetLocalVisualizer', vis_backends=[dict(type='LocalVisBackend')],
                  name='visualizer')
