# The shipped tiny SD model (checkpoints/demo-world-sd) as the P-Decoders' backbone: the values
# every demo P-Decoder config needs. VAE factor 2 (64x64 image -> 32x32 latents), UNet widths
# 32/64/128: up-block features at strides 2, 4, 8 with 32, 64, 128 channels, cross-attention
# maps at strides 4 and 8 (projects/tiny_sd: the recipe and its trainer). The heads read these
# from the model folder (mmdatasetdm.models.input_shape); no config writes them.
demo_sd = 'checkpoints/demo-world-sd'
# the demo world's dataset types (mmdatasetdm.DemoWorld*Dataset) live in the project
custom_imports = dict(imports=['mmdatasetdm', 'projects.demo_world.demo_world'],
                      allow_failed_imports=False)
demo_object_classes = ('person', 'car', 'cone', 'tree', 'ball')
# The timestep every demo P-Decoder reads the tiny model at. SD-1.5 is read at t=1, but this
# small UNet's features at t=1 hardly separate the classes; the sweep that chose t=501 (on
# train_large images, never a test split) is in projects/demo_world/README.md and
# projects/demo_world/tools/capture_timestep.py repeats it.
demo_sd_timestep = 501
# The narrow Mask2Former parts the demo's semantic and instance P-Decoders share (64 channels,
# 2 deformable encoder layers, 3 decoder layers).
demo_embed = 64
demo_m2f_pixel_decoder = dict(
    fused_strides=(2, 4, 8, 16),
    norm_cfg=dict(type='GN', num_groups=16),
    encoder=dict(num_layers=2, layer_cfg=dict(
        self_attn_cfg=dict(embed_dims=demo_embed, num_heads=4),
        ffn_cfg=dict(embed_dims=demo_embed, feedforward_channels=2 * demo_embed))),
    positional_encoding=dict(num_feats=demo_embed // 2))
demo_m2f_head = dict(
    feat_channels=demo_embed, out_channels=demo_embed,
    num_queries=12, positional_encoding=dict(num_feats=demo_embed // 2),
    transformer_decoder=dict(num_layers=3, layer_cfg=dict(
        self_attn_cfg=dict(embed_dims=demo_embed, num_heads=4),
        cross_attn_cfg=dict(embed_dims=demo_embed, num_heads=4),
        ffn_cfg=dict(embed_dims=demo_embed, feedforward_channels=4 * demo_embed))))
