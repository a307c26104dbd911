# A tiny instance P-Decoder that runs on CPU in seconds: the same code as
# instance_coco_800.py with a tiny SD-architecture model and narrow layers, on
# a small COCO-format set (images/ + annotations/instances.json).
#   tools/train.py configs/pdecoder/instance_tiny.py --cfg-options \
#       model.backbone.pretrained=work_dirs/tiny_sd data_root=DIR ...
_base_ = ['../_base_/models/pdecoder_instance_sd15.py', '../_base_/default_runtime.py',
          '../_base_/schedules/pdecoder_tiny_200it.py']
default_scope = 'mmdet'
class_names = ('cone', 'ball')
num_things_classes = len(class_names)
num_classes = num_things_classes
embed = 64
num_queries = 8
meta_keys = ('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor', 'flip',
             'flip_direction', 'prompt', 'prompt_words')
model = dict(
    backbone=dict(pretrained=None, dtype='fp32', class_names=class_names),
    panoptic_head=dict(
        feat_channels=embed, out_channels=embed,
        num_things_classes=num_things_classes, num_queries=num_queries,
        pixel_decoder=dict(
            attention=dict(tokens='words', words=class_names),
            norm_cfg=dict(type='GN', num_groups=16),
            encoder=dict(num_layers=1, layer_cfg=dict(
                self_attn_cfg=dict(embed_dims=embed, num_heads=4),
                ffn_cfg=dict(embed_dims=embed, feedforward_channels=2 * embed))),
            positional_encoding=dict(num_feats=embed // 2)),
        positional_encoding=dict(num_feats=embed // 2),
        transformer_decoder=dict(num_layers=3, layer_cfg=dict(
            self_attn_cfg=dict(embed_dims=embed, num_heads=4),
            cross_attn_cfg=dict(embed_dims=embed, num_heads=4),
            ffn_cfg=dict(embed_dims=embed, feedforward_channels=2 * embed))),
        loss_cls=dict(class_weight=[1.0] * num_classes + [0.1])),
    panoptic_fusion_head=dict(num_things_classes=num_things_classes),
    train_cfg=dict(num_points=2048),
    test_cfg=dict(max_per_image=num_queries))

dataset_type = 'CocoDataset'
data_root = 'data/toy_coco/'
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True, with_mask=True),
    dict(type='mmdatasetdm.AddPrompt', classes=class_names, source='present'),
    dict(type='PackDetInputs', meta_keys=meta_keys),
]
test_pipeline = train_pipeline
dataset = dict(type=dataset_type, data_root=data_root, metainfo=dict(classes=class_names),
               ann_file='annotations/instances.json', data_prefix=dict(img='images/'),
               filter_cfg=dict(filter_empty_gt=True, min_size=1), pipeline=train_pipeline)
train_dataloader = dict(batch_size=4, num_workers=0, persistent_workers=False,
                        sampler=dict(type='InfiniteSampler', shuffle=True),
                        batch_sampler=None, dataset=dataset)
val_dataloader = dict(batch_size=4, num_workers=0, persistent_workers=False, drop_last=False,
                      sampler=dict(type='DefaultSampler', shuffle=False),
                      dataset=dict(dataset, test_mode=True, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='CocoMetric', ann_file=data_root + 'annotations/instances.json',
                     metric=['segm'], format_only=False)
test_evaluator = val_evaluator

visualizer = dict(type='DetLocalVisualizer', vis_backends=[dict(type='LocalVisBackend')],
                  name='visualizer')
