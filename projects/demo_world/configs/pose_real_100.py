# Downstream pose estimator trained on the people of the 100 labelled demo-world images
# only: the "real only" arm of the pose demo.
_base_ = ['./_base_/pose_downstream.py']
train_dataloader = dict(dataset=dict(split='train_100'))
