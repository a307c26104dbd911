# The demo's zero-shot semantic P-Decoder: cones and balls are hidden from its 100 training
# labels (their pixels ignored, and the training prompts, built from the labels, do not name
# them), and a WordAttentionHead scores every class with one network from its word's
# cross-attention, so a prompt that names a cone gets it labelled without a cone label ever
# seen. The backbone, the schedule and the data are those of pdecoder_semantic.py.
_base_ = ['./pdecoder_semantic.py']
unseen_classes = ('cone', 'ball')
model = dict(
    decode_head=dict(
        _delete_=True, type='mmdatasetdm.WordAttentionHead',
        neck=dict(type='mmdatasetdm.HypercolumnNeck', out_channels=_base_.demo_embed,
                  out_strides=(2, ), norm_cfg=dict(type='GN', num_groups=16)),
        attention=dict(tokens='words', words=_base_.class_names[1:]),
        channels=_base_.demo_embed, num_convs=2, num_classes=_base_.num_classes,
        dropout_ratio=0.0, align_corners=False,
        loss_decode=dict(type='mmseg.CrossEntropyLoss', loss_weight=1.0, avg_non_ignore=True)))
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='mmdatasetdm.HideClasses', classes=_base_.class_names, hidden=unseen_classes),
    dict(type='RandomFlip', prob=0.5),
    dict(type='mmdatasetdm.AddPrompt', classes=_base_.class_names, source='present'),
    dict(type='PackSegInputs', meta_keys=_base_.meta_keys),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
