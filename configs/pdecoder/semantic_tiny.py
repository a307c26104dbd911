# A tiny semantic P-Decoder that runs on CPU in seconds: the same code as
# semantic_voc_100.py with a tiny SD-architecture model and narrow layers.
# Set data_root / the model folder with --cfg-options, e.g.
#   tools/train.py configs/pdecoder/semantic_tiny.py --cfg-options \
#       model.backbone.pretrained=work_dirs/tiny_sd train_dataloader.dataset.data_root=DIR ...
_base_ = ['../_base_/models/pdecoder_semantic_sd15.py', '../_base_/default_runtime.py',
          '../_base_/schedules/pdecoder_tiny_200it.py']
default_scope = 'mmseg'
class_names = ('background', 'cone', 'ball')
num_classes = len(class_names)
embed = 64
meta_keys = ('img_path', 'seg_map_path', 'ori_shape', 'img_shape', 'pad_shape', 'scale_factor',
             'flip', 'flip_direction', 'reduce_zero_label', 'prompt', 'prompt_words')
model = dict(
    backbone=dict(pretrained=None, dtype='fp32', class_names=class_names),
    decode_head=dict(
        feat_channels=embed, out_channels=embed,
        num_classes=num_classes, num_queries=8,
        pixel_decoder=dict(
            attention=dict(tokens='words', words=class_names[1:]),
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
        loss_cls=dict(class_weight=[1.0] * num_classes + [0.1]),
        train_cfg=dict(num_points=2048)))

dataset_type = 'BaseSegDataset'
data_root = 'data/toy_seg'
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='mmdatasetdm.AddPrompt', classes=class_names, source='present'),
    dict(type='PackSegInputs', meta_keys=meta_keys),
]
test_pipeline = train_pipeline
dataset = dict(type=dataset_type, data_root=data_root, metainfo=dict(classes=class_names),
               data_prefix=dict(img_path='img_dir', seg_map_path='ann_dir'),
               img_suffix='.png', seg_map_suffix='.png', pipeline=train_pipeline)
train_dataloader = dict(batch_size=4, num_workers=0, persistent_workers=False,
                        sampler=dict(type='InfiniteSampler', shuffle=True), dataset=dataset)
val_dataloader = dict(batch_size=4, num_workers=0, persistent_workers=False,
                      sampler=dict(type='DefaultSampler', shuffle=False),
                      dataset=dict(dataset, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator

visualizer = dict(type='SegLocalVisualizer', vis_backends=[dict(type='LocalVisBackend')],
                  name='visualizer')
