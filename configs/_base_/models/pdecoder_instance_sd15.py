# DatasetDM's instance P-Decoder: a frozen SD-1.5 UNet read at t=1 (DiffusionBackbone),
# hypercolumn fusion of up-block features and cross-attention maps (HypercolumnPixelDecoder),
# mmdet's Mask2Former head for things only (num_stuff_classes=0: every query is an instance
# with a real class label) and MaskFormerFusionHead's instance post-processing.
# Children set `num_things_classes`, `class_names` and the head's class_weight.
# Feature channels/strides, attention strides and token count come from the backbone's folder
# (mmdatasetdm.models.input_shape).
num_things_classes = 80
num_stuff_classes = 0
num_classes = num_things_classes + num_stuff_classes
embed = 256
model = dict(
    type='mmdatasetdm.PDecoderMask2Former',
    data_preprocessor=dict(
        type='mmdet.DetDataPreprocessor',
        mean=[127.5, 127.5, 127.5], std=[127.5, 127.5, 127.5],  # the VAE's [-1, 1]
        bgr_to_rgb=True, pad_size_divisor=64,  # the backbone's size_divisor
        pad_mask=True, mask_pad_value=0, pad_seg=False),
    backbone=dict(
        type='mmdatasetdm.DiffusionBackbone',
        pretrained='checkpoints/stable-diffusion-v1-5',  # a local diffusers folder
        dtype='auto', timestep=1,  # fp16 where CUDA is visible, fp32 on a CPU
        capture=dict(attention_parts=('down', 'mid', 'up'))),
    panoptic_head=dict(
        type='mmdet.Mask2FormerHead',
        feat_channels=embed, out_channels=embed,
        num_things_classes=num_things_classes, num_stuff_classes=num_stuff_classes,
        num_queries=100, num_transformer_feat_level=3,
        pixel_decoder=dict(
            type='mmdatasetdm.HypercolumnPixelDecoder',
            fused_strides=(4, 8, 16, 32), attention=dict(tokens='all'),
            num_outs=3,
            norm_cfg=dict(type='GN', num_groups=32), act_cfg=dict(type='ReLU'),
            encoder=dict(
                num_layers=6,
                layer_cfg=dict(
                    self_attn_cfg=dict(embed_dims=embed, num_heads=8, num_levels=3, num_points=4,
                                       im2col_step=64, dropout=0.0, batch_first=True,
                                       norm_cfg=None, init_cfg=None),
                    ffn_cfg=dict(embed_dims=embed, feedforward_channels=1024, num_fcs=2,
                                 ffn_drop=0.0, act_cfg=dict(type='ReLU', inplace=True))),
                init_cfg=None),
            positional_encoding=dict(num_feats=embed // 2, normalize=True),
            init_cfg=None),
        enforce_decoder_input_project=False,
        positional_encoding=dict(num_feats=embed // 2, normalize=True),
        transformer_decoder=dict(
            return_intermediate=True, num_layers=9,
            layer_cfg=dict(
                self_attn_cfg=dict(embed_dims=embed, num_heads=8, dropout=0.0, batch_first=True),
                cross_attn_cfg=dict(embed_dims=embed, num_heads=8, dropout=0.0, batch_first=True),
                ffn_cfg=dict(embed_dims=embed, feedforward_channels=2048, num_fcs=2, ffn_drop=0.0,
                             act_cfg=dict(type='ReLU', inplace=True))),
            init_cfg=None),
        loss_cls=dict(type='mmdet.CrossEntropyLoss', use_sigmoid=False, loss_weight=2.0,
                      reduction='mean', class_weight=[1.0] * num_classes + [0.1]),
        loss_mask=dict(type='mmdet.CrossEntropyLoss', use_sigmoid=True, reduction='mean',
                       loss_weight=5.0),
        loss_dice=dict(type='mmdet.DiceLoss', use_sigmoid=True, activate=True, reduction='mean',
                       naive_dice=True, eps=1.0, loss_weight=5.0)),
    panoptic_fusion_head=dict(
        type='mmdet.MaskFormerFusionHead',
        num_things_classes=num_things_classes, num_stuff_classes=num_stuff_classes,
        loss_panoptic=None, init_cfg=None),
    train_cfg=dict(
        num_points=12544, oversample_ratio=3.0, importance_sample_ratio=0.75,
        assigner=dict(
            type='mmdet.HungarianAssigner',
            match_costs=[
                dict(type='mmdet.ClassificationCost', weight=2.0),
                dict(type='mmdet.CrossEntropyLossCost', weight=5.0, use_sigmoid=True),
                dict(type='mmdet.DiceCost', weight=5.0, pred_act=True, eps=1.0)
            ]),
        sampler=dict(type='mmdet.MaskPseudoSampler')),
    test_cfg=dict(panoptic_on=False, semantic_on=False, instance_on=True,
                  max_per_image=100, iou_thr=0.8, filter_low_score=True),
    init_cfg=None)
