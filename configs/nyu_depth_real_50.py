# The real-only twin of nyu_depth_synth_50.py: VPD (mmseg's stock NYU depth config; it needs
# the `ldm` package and SD weights, as in mmseg) on 50 NYU Depth v2 training frames in mmseg's
# NYU layout: images/train_50 and annotations/train_50 hold the 50 chosen frames (copied or
# linked from train/: mmseg's NYUDataset lists a folder, it has no split file).
_base_ = 'mmseg::vpd/vpd_sd_4xb8-25k_nyu-480x480.py'
real_50 = dict(_base_.train_dataloader.dataset,
               data_prefix=dict(img_path='images/train_50', depth_map_path='annotations/train_50'))
train_dataloader = dict(dataset=real_50)
