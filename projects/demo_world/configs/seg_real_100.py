# Downstream segmentor trained on the 100 labelled demo-world images only:
# the "real only" arm of the demo and the low end of the headroom check.
_base_ = ['./_base_/seg_downstream.py']
train_dataloader = dict(dataset=dict(split='train_100'))
