# Downstream depth estimator trained on the 100 labelled demo-world images only:
# the "real only" arm of the depth demo.
_base_ = ['./_base_/depth_downstream.py']
train_dataloader = dict(dataset=dict(split='train_100'))
