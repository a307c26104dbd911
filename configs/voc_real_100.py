# The real-only twin of voc_synth_100.py: DeepLabV3 (mmseg's stock VOC config) on the
# 100-image VOC subset written by tools/dataset_converters/make_fewshot_split.py.
_base_ = 'mmseg::deeplabv3/deeplabv3_r50-d8_4xb4-20k_voc12aug-512x512.py'
real_100 = dict(_base_.dataset_train, ann_file='ImageSets/Segmentation/train_100.txt')
train_dataloader = dict(dataset=dict(datasets=[real_100]))
