# The demo's semantic P-Decoder: the same model as configs/_base_/models/pdecoder_semantic_sd15.py
# on the tiny SD model shipped in checkpoints/demo-world-sd (trained on the demo world's
# unlabelled pool), trained on the 100 labelled demo-world images.
# Demo SD structure: VAE factor 4 (64x64 image -> 16x16 latents), UNet widths 32/64/96/96,
# so the up-block features sit at strides 4, 8, 16, 32 with 32, 64, 96, 96 channels.
_base_ = ['../_base_/models/pdecoder_semantic_sd15.py', '../_base_/default_runtime.py']
default_scope = 'mmseg'
class_names = ('background', 'person', 'car', 'cone', 'tree', 'ball')
num_classes = len(class_names)
embed = 64
meta_keys = ('img_path', 'seg_map_path', 'ori_shape', 'img_shape', 'pad_shape', 'scale_factor',
             'flip', 'flip_direction', 'reduce_zero_label', 'prompt', 'prompt_words')
model = dict(
    data_preprocessor=dict(size_divisor=32),
    backbone=dict(pretrained='checkpoints/demo-world-sd', dtype='fp32', class_names=class_names,
                  capture=dict(attention_strides=(4, 8, 16)),
                  # frozen backbone: each (image, flip) view is computed once per run
                  feature_cache=dict(dir='work_dirs/feature_cache/demo_semantic')),
    decode_head=dict(
        in_channels=[32, 64, 96, 96], feat_channels=embed, out_channels=embed,
        num_classes=num_classes, num_queries=12,
        pixel_decoder=dict(
            strides=[4, 8, 16, 32], fused_strides=(2, 4, 8, 16),
            attention=dict(strides=(4, 8, 16), tokens='words', words=class_names[1:]),
            norm_cfg=dict(type='GN', num_groups=16),
            encoder=dict(num_layers=2, layer_cfg=dict(
                self_attn_cfg=dict(embed_dims=embed, num_heads=4),
                ffn_cfg=dict(embed_dims=embed, feedforward_channels=2 * embed))),
            positional_encoding=dict(num_feats=embed // 2)),
        positional_encoding=dict(num_feats=embed // 2),
        transformer_decoder=dict(num_layers=3, layer_cfg=dict(
            self_attn_cfg=dict(embed_dims=embed, num_heads=4),
            cross_attn_cfg=dict(embed_dims=embed, num_heads=4),
            ffn_cfg=dict(embed_dims=embed, feedforward_channels=4 * embed))),
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

optim_wrapper = dict(type='OptimWrapper',
                     optimizer=dict(type='AdamW', lr=1e-3, weight_decay=1e-4),
                     clip_grad=dict(max_norm=1.0, norm_type=2))
param_scheduler = [dict(type='PolyLR', eta_min=1e-5, power=0.9, begin=0, end=1000,
                        by_epoch=False)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=1000, val_interval=1000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(logger=dict(interval=50),
                     checkpoint=dict(interval=500))
visualizer = dict(type='SegLocalVisualizer', vis_backends=[dict(type='LocalVisBackend')],
                  name='visualizer')
