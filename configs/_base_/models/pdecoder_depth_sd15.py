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
        dtype='fp16', timestep=1,
        prompt_template='a photo of a {}', class_names=('room', ),
        capture=dict(attention_strides=(8, 16, 32), attention_parts=('down', 'mid', 'up'))),
    neck=dict(
        type='mmdatasetdm.HypercolumnNeck',
        in_channels=[320, 640, 1280, 1280], in_strides=[8, 16, 32, 64],
        out_channels=embed, out_strides=(4, 8, 16, 32),
        attention=dict(strides=(8, 16, 32), tokens='all', num_tokens=77),
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
