# DatasetDM's semantic P-Decoder: a frozen SD-1.5 UNet read at t=1 (DiffusionBackbone),
# hypercolumn fusion of up-block features and class-word cross-attention maps,
# mmseg's Mask2Former head (mmdet's transformer decoder, Hungarian matcher and losses).
# Children set `num_classes`, `class_names` and the head's class_weight / attention words.
# The backbone's feature channels and strides, attention strides and token count are not
# written: the model reads them from the diffusers folder (mmdatasetdm.models.input_shape), so
# SD-1.x, SD-2.x and the tiny demo model differ only in `backbone.pretrained`.
num_classes = 21
embed = 256
model = dict(
    type='mmdatasetdm.PDecoderSegmentor',
    data_preprocessor=dict(
        type='mmseg.SegDataPreProcessor',
        mean=[127.5, 127.5, 127.5], std=[127.5, 127.5, 127.5],  # the VAE's [-1, 1]
        bgr_to_rgb=True, pad_val=0, seg_pad_val=255, size_divisor=64),
    backbone=dict(
        type='mmdatasetdm.DiffusionBackbone',
        pretrained='checkpoints/stable-diffusion-v1-5',  # a local diffusers folder
        dtype='auto', timestep=1,  # fp16 where CUDA is visible, fp32 on a CPU
        capture=dict(attention_parts=('down', 'mid', 'up'))),
    decode_head=dict(
        type='mmseg.Mask2FormerHead',
        feat_channels=embed, out_channels=embed,
        num_classes=num_classes, num_queries=50, num_transformer_feat_level=3,
        align_corners=False,
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
                self_attn_cfg=dict(embed_dims=embed, num_heads=8, attn_drop=0.0, proj_drop=0.0,
                                   dropout_layer=None, batch_first=True),
                cross_attn_cfg=dict(embed_dims=embed, num_heads=8, attn_drop=0.0, proj_drop=0.0,
                                    dropout_layer=None, batch_first=True),
                ffn_cfg=dict(embed_dims=embed, feedforward_channels=2048, num_fcs=2,
                             act_cfg=dict(type='ReLU', inplace=True), ffn_drop=0.0,
                             dropout_layer=None, add_identity=True)),
            init_cfg=None),
        loss_cls=dict(type='mmdet.CrossEntropyLoss', use_sigmoid=False, loss_weight=2.0,
                      reduction='mean', class_weight=[1.0] * num_classes + [0.1]),
        loss_mask=dict(type='mmdet.CrossEntropyLoss', use_sigmoid=True, reduction='mean',
                       loss_weight=5.0),
        loss_dice=dict(type='mmdet.DiceLoss', use_sigmoid=True, activate=True, reduction='mean',
                       naive_dice=True, eps=1.0, loss_weight=5.0),
        train_cfg=dict(
            num_points=12544, oversample_ratio=3.0, importance_sample_ratio=0.75,
            assigner=dict(
                type='mmdet.HungarianAssigner',
                match_costs=[
                    dict(type='mmdet.ClassificationCost', weight=2.0),
                    dict(type='mmdet.CrossEntropyLossCost', weight=5.0, use_sigmoid=True),
                    dict(type='mmdet.DiceCost', weight=5.0, pred_act=True, eps=1.0)
                ]),
            sampler=dict(type='mmdet.MaskPseudoSampler'))),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
