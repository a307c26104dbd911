# voc_synth_100.py with the synthetic part made of mosaics: each synthetic training sample is
# 2x2 generated images (mmseg's RandomMosaic inside mmseg's MultiImageMixDataset). Each 512x512
# generated image is resized to a 256x256 tile (half the scale a plain sample starts from),
# the tiles meet at a random point of the 512x512 canvas (255 = ignore where no tile reaches),
# and the canvas goes through the rest of the stock VOC training pipeline (scale jitter, 512
# crop, flip, photometric distortion). The real part is unchanged.
_base_ = './voc_synth_100.py'
tile_scale = (256, 256)  # (h, w) of one tile; the canvas is twice that
synthetic = dict(
    type='MultiImageMixDataset',
    dataset=dict(_base_.synthetic, pipeline=_base_.train_pipeline[:2]),
    pipeline=[dict(type='RandomMosaic', prob=1.0, img_scale=tile_scale, seg_pad_val=255)] +
    _base_.train_pipeline[2:])
train_dataloader = dict(dataset=dict(datasets=[_base_.real_100, synthetic]))
