# Downstream instance segmenter trained on the 100 labelled demo-world images only:
# the "real only" arm of the instance demo.
_base_ = ['./_base_/inst_downstream.py']
train_dataloader = dict(dataset=dict(split='train_100'))
