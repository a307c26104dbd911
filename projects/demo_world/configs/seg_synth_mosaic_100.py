# seg_synth_100.py with the synthetic part made of mosaics: each synthetic training sample is
# 2x2 generated images (mmseg's RandomMosaic inside mmseg's MultiImageMixDataset), so one
# sample carries the objects and labels of four. Each 64x64 tile is resized to 32x32 (half
# the scale of a plain sample) and the tiles meet at a random point of the 64x64 canvas
# (centre ratio 0.5-1.5; where no tile reaches, the mask is 255 = ignore). The canvas then
# goes through the rest of the demo's training pipeline (scale jitter, 64x64 crop, flip,
# photometric distortion), so mosaics come out at the demo's 64x64 training size. The real
# part, model, schedule and seed are those of seg_synth_100.py.
_base_ = ['./seg_synth_100.py']
tile_scale = (32, 32)  # (h, w) of one tile; the canvas is twice that
synthetic = dict(
    type='MultiImageMixDataset',
    # the generated set loads images and masks only; RandomMosaic draws 3 more tiles from it
    dataset=dict(_base_.synthetic, pipeline=_base_.train_pipeline[:2]),
    pipeline=[dict(type='RandomMosaic', prob=1.0, img_scale=tile_scale, seg_pad_val=255)] +
    _base_.train_pipeline[2:])
train_dataloader = dict(dataset=dict(datasets=[_base_.real_100, synthetic]))
