# The shipped tiny SD model (checkpoints/demo-world-sd) as the P-Decoders' backbone: the values
# every demo P-Decoder config needs. VAE factor 2 (64x64 image -> 32x32 latents), UNet widths
# 32/64/128: up-block features at strides 2, 4, 8 with 32, 64, 128 channels, cross-attention
# maps at strides 4 and 8 (tools/train_tiny_sd.py, mmdatasetdm.diffusion.training).
demo_sd = 'checkpoints/demo-world-sd'
demo_sd_channels = [32, 64, 128]
demo_sd_strides = [2, 4, 8]
demo_sd_attention_strides = (4, 8)
demo_object_classes = ('person', 'car', 'cone', 'tree', 'ball')
# The timestep the semantic P-Decoder reads the tiny model at. SD-1.5 is read at t=1, but this
# small UNet's features at t=1 hardly separate the classes. Measured (2026-11-26, FCN head on
# the same features, 1000 iterations): decoder mIoU on 300 train_large images / agreement of its
# labels on 48 generated images with a segmentor trained on real images only, features read at
# the nearest of DPM-Solver's 20 sampling steps (941, 894, ..., 48): t=1 29.3/23.2,
# t=300 43.5/45.6, t=501 54.6/48.5, t=701 56.1/42.1; Mask2Former at t=501: 55.2.
# tools/benchmarks/capture_timestep.py repeats the sweep with this config. All four demo
# P-Decoders read it; from t=1 to t=501 on 300 train_large images: depth AbsRel 0.534 -> 0.288
# (d1 0.39 -> 0.61), instance segm mAP 0.004 -> 0.021, pose AP 0.014 -> 0.027 (1000 iterations
# are far too few for the instance and pose decoders either way).
demo_sd_timestep = 501
# The narrow Mask2Former parts the demo's semantic and instance P-Decoders share (64 channels,
# 2 deformable encoder layers, 3 decoder layers).
demo_embed = 64
demo_m2f_pixel_decoder = dict(
    strides=demo_sd_strides, fused_strides=(2, 4, 8, 16),
    norm_cfg=dict(type='GN', num_groups=16),
    encoder=dict(num_layers=2, layer_cfg=dict(
        self_attn_cfg=dict(embed_dims=demo_embed, num_heads=4),
        ffn_cfg=dict(embed_dims=demo_embed, feedforward_channels=2 * demo_embed))),
    positional_encoding=dict(num_feats=demo_embed // 2))
demo_m2f_head = dict(
    in_channels=demo_sd_channels, feat_channels=demo_embed, out_channels=demo_embed,
    num_queries=12, positional_encoding=dict(num_feats=demo_embed // 2),
    transformer_decoder=dict(num_layers=3, layer_cfg=dict(
        self_attn_cfg=dict(embed_dims=demo_embed, num_heads=4),
        cross_attn_cfg=dict(embed_dims=demo_embed, num_heads=4),
        ffn_cfg=dict(embed_dims=demo_embed, feedforward_channels=4 * demo_embed))))
