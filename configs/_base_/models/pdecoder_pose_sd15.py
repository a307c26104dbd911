# DatasetDM's pose P-Decoder: a frozen SD-1.5 UNet read at t=1 on each person crop
# (DiffusionBackbone, prompt "a photo of a person"), hypercolumn fusion of up-block features
# and cross-attention maps into one stride-4 map (HypercolumnNeck), and mmpose's HeatmapHead
# without deconvolutions (it keeps the stride-4 resolution) with the MSRAHeatmap codec and
# KeypointMSELoss, inside mmpose's TopdownPoseEstimator. COCO's 17 keypoints by default.
# Input sides must be multiples of the backbone's size_divisor (64 for SD): 256x192 is.
embed = 256
num_keypoints = 17
codec = dict(type='MSRAHeatmap', input_size=(192, 256), heatmap_size=(48, 64), sigma=2)
model = dict(
    type='mmdatasetdm.PDecoderTopdown',
    data_preprocessor=dict(
        type='mmpose.PoseDataPreprocessor',
        mean=[127.5, 127.5, 127.5], std=[127.5, 127.5, 127.5],  # the VAE's [-1, 1]
        bgr_to_rgb=True),
    backbone=dict(
        type='mmdatasetdm.DiffusionBackbone',
        pretrained='checkpoints/stable-diffusion-v1-5',  # a local diffusers folder
        dtype='auto', timestep=1, class_names=('person', ),  # auto: fp16 with CUDA, else fp32
        capture=dict(attention_parts=('down', 'mid', 'up'))),
    neck=dict(
        type='mmdatasetdm.HypercolumnNeck',
        out_channels=embed, out_strides=(4, ),
        attention=dict(tokens='all'),  # strides, channels and tokens: from the backbone
        norm_cfg=dict(type='GN', num_groups=32), act_cfg=dict(type='ReLU')),
    head=dict(
        type='mmpose.HeatmapHead',
        in_channels=embed, out_channels=num_keypoints,
        deconv_out_channels=(), deconv_kernel_sizes=(),  # stay at stride 4
        conv_out_channels=(embed, ), conv_kernel_sizes=(3, ),
        loss=dict(type='mmpose.KeypointMSELoss', use_target_weight=True),
        decoder=codec),
    test_cfg=dict(flip_test=True, flip_mode='heatmap', shift_heatmap=True))
