# Downstream segmentor trained on the large labelled split (5,000 images by
# default): the fully supervised reference of the headroom check. Same model,
# batch size and number of iterations as seg_real_100.py, so the two differ
# only in how many distinct labelled images the gradient steps draw from.
_base_ = ['./_base_/seg_downstream.py']
train_dataloader = dict(dataset=dict(split='train_large'))
