# coco_inst_synth_800.py with the synthetic part made of mosaics: each synthetic training
# sample is 2x2 generated images inside mmdet's MultiImageMixDataset, composed by
# mmdatasetdm.InstanceMosaic (mmdet's Mosaic placement plus the instance masks, which mmdet's
# Mosaic leaves behind; boxes are the bounding boxes of the pasted masks). Each 512x512
# generated image becomes a 400x400 tile (half the scale of a plain sample, which the stock
# resize brings to 800x800) and the tiles meet at a random point of the 800x800 canvas; the
# rest of the stock training pipeline (resize to 1333x800, flip) follows. The real part is
# unchanged.
_base_ = './coco_inst_synth_800.py'
tile_scale = (400, 400)  # (w, h) of one tile; the canvas is twice that
synthetic = dict(
    type='MultiImageMixDataset',
    dataset=dict(_base_.synthetic, pipeline=_base_.train_pipeline[:2]),
    pipeline=[dict(type='mmdatasetdm.InstanceMosaic', img_scale=tile_scale)] +
    _base_.train_pipeline[2:])
train_dataloader = dict(dataset=dict(
    datasets=[_base_.train_dataloader.dataset.datasets[0], synthetic]))
