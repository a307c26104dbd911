# Zero-shot real-only arm: the downstream segmentor of seg_real_100.py trained on the 100
# labelled images with cones and balls hidden (their pixels ignored), as the zero-shot
# P-Decoder (pdecoder_semantic_zs.py) is. It can only learn those classes from synthetic
# labels (seg_synth_100_zs.py); both are scored on all six classes.
_base_ = ['./seg_real_100.py']
unseen_classes = ('cone', 'ball')
_classes = ('background', 'person', 'car', 'cone', 'tree', 'ball')
seen_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='mmdatasetdm.HideClasses', classes=_classes, hidden=unseen_classes),
] + _base_.train_pipeline[2:]
train_dataloader = dict(dataset=dict(pipeline=seen_pipeline))
