# DatasetDM's depth P-Decoder: a frozen SD-1.5 UNet read at t=1 (DiffusionBackbone),
# hypercolumn fusion of up-block features and cross-attention maps into maps at 1/4-1/32
# (HypercolumnNeck), and a dense head that concatenates them at 1/4 and outputs
# sigmoid(x) * max_depth metres, trained with mmseg's SiLogLoss (HypercolumnDepthHead),
# inside mmseg's DepthEstimator.
embed = 256
max_depth = 10.0
model = dict(
    type='mmdatasetdm.PDecoderDepthEstimator',
    data_preprocessor=dict(
        type='mmseg.SegDataPreProcessor',
        mean=[127.5, 127.5, 127.5], std=[127.5, 127.5, 127.5],  # the VAE's [-1, 1]
        bgr_to_rgb=True, pad_val=0,
        seg_pad_val=0,  # padded depth is 0 = invalid for the loss and the metric
        size_divisor=64),  # the backbone's size_divisor
    backbone=dict(
        type='mmdatasetdm.DiffusionBackbone',
        pretrained='checkpoints/stable-diffusion-v1-5',  # a local diffusers folder
        dtype='auto', timestep=1,  # fp16 where CUDA is visible, fp32 on a CPU
        prompt_template='a photo of a {}', class_names=('room', ),
        capture=dict(attention_parts=('down', 'mid', 'up'))),
    neck=dict(
        type='mmdatasetdm.HypercolumnNeck',
        out_channels=embed, out_strides=(4, 8, 16, 32),
        attention=dict(tokens='all'),  # strides, channels and tokens: from the backbone
        norm_cfg=dict(type='GN', num_groups=32), act_cfg=dict(type='ReLU')),
    decode_head=dict(
        type='mmdatasetdm.HypercolumnDepthHead',
        in_channels=[embed] * 4, in_index=(0, 1, 2, 3), input_transform='resize_concat',
        channels=embed, num_convs=2, max_depth=max_depth,
        norm_cfg=dict(type='GN', num_groups=32), act_cfg=dict(type='ReLU'),
        align_corners=False,
        loss_decode=dict(type='mmseg.SiLogLoss', loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
