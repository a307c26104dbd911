# inst_synth_100.py with the synthetic part made of mosaics: each synthetic training sample is
# 2x2 generated images inside mmdet's MultiImageMixDataset. mmdet's Mosaic moves boxes but not
# instance masks, so the mosaic is mmdatasetdm.InstanceMosaic (the same tile placement, plus
# the masks; boxes are set to the bounding boxes of the pasted masks). Each 64x64 tile keeps
# its size (half the scale of a plain sample, which the demo trains at 128x128) and the tiles
# meet at a random point of the 128x128 canvas (centre ratio 0.5-1.5, grey 114 where no tile
# reaches); the rest of the demo's training pipeline (scale jitter around 128x128, flip)
# follows. The real part, model, schedule and seed are those of inst_synth_100.py.
_base_ = ['./inst_synth_100.py']
tile_scale = (64, 64)  # (w, h) of one tile; the canvas is twice that
synthetic = dict(
    type='MultiImageMixDataset',
    # the generated set loads images and instances only; the mosaic draws 3 more tiles from it
    dataset=dict(_base_.synthetic, pipeline=_base_.train_pipeline[:2]),
    pipeline=[dict(type='mmdatasetdm.InstanceMosaic', img_scale=tile_scale)] +
    _base_.train_pipeline[2:])
train_dataloader = dict(dataset=dict(datasets=[_base_.real_100, synthetic]))
