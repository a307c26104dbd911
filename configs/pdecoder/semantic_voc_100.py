# DatasetDM's semantic P-Decoder on VOC-100: 100 labelled VOC 2012 train images (a
# class-balanced split written by `tools/dataset_converters/make_fewshot_split.py seg`) and a
# local SD-1.5 diffusers folder, all 21 classes (multi-class, unlike the official code's binary
# masks).
# Standard layout:
#   data/VOCdevkit/VOC2012/{JPEGImages,SegmentationClass}/,
#   data/VOCdevkit/VOC2012/ImageSets/Segmentation/{train_100,val}.txt
#   checkpoints/stable-diffusion-v1-5/ (model_index.json, unet/, vae/, ...)
# Prompts name the classes present ("a photo of a person and dog"), as generation prompts
# name what they ask for; the val metric therefore scores annotation given the prompt.
_base_ = ['../_base_/models/pdecoder_semantic_sd15.py', '../_base_/default_runtime.py']
default_scope = 'mmseg'
class_names = ('background', 'aeroplane', 'bicycle', 'bird', 'boat', 'bottle', 'bus', 'car',
               'cat', 'chair', 'cow', 'diningtable', 'dog', 'horse', 'motorbike', 'person',
               'pottedplant', 'sheep', 'sofa', 'train', 'tvmonitor')
num_classes = len(class_names)  # 21, mmseg's PascalVOCDataset ids (0 = background, 255 = ignore)
crop_size = (512, 512)  # SD-1.5's native resolution
meta_keys = ('img_path', 'seg_map_path', 'ori_shape', 'img_shape', 'pad_shape', 'scale_factor',
             'flip', 'flip_direction', 'reduce_zero_label', 'prompt', 'prompt_words')
model = dict(
    backbone=dict(class_names=class_names),
    decode_head=dict(
        num_classes=num_classes,
        pixel_decoder=dict(attention=dict(tokens='words', words=class_names[1:])),
        loss_cls=dict(class_weight=[1.0] * num_classes + [0.1])),
    test_cfg=dict(mode='whole'))

dataset_type = 'PascalVOCDataset'
data_root = 'data/VOCdevkit/VOC2012'
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='RandomResize', scale=(2048, 512), ratio_range=(0.5, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='mmdatasetdm.AddPrompt', classes=class_names, source='present'),
    dict(type='PackSegInputs', meta_keys=meta_keys),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(2048, 512), keep_ratio=True),
    dict(type='LoadAnnotations'),
    dict(type='mmdatasetdm.AddPrompt', classes=class_names, source='present'),
    dict(type='PackSegInputs', meta_keys=meta_keys),
]
train_dataloader = dict(
    batch_size=2, num_workers=2, persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root,
                 data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClass'),
                 ann_file='ImageSets/Segmentation/train_100.txt', pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1, num_workers=2, persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root,
                 data_prefix=dict(img_path='JPEGImages', seg_map_path='SegmentationClass'),
                 ann_file='ImageSets/Segmentation/val.txt', pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='IoUMetric', iou_metrics=['mIoU'])
test_evaluator = val_evaluator

# The frozen backbone makes each iteration cheap; the decoder sees 100 images many times.
# Plain fp32 optimisation as in every mm config; `tools/train.py --amp` turns on mmengine's
# AmpOptimWrapper (mixed precision) on GPUs.
optim_wrapper = dict(type='OptimWrapper',
                     optimizer=dict(type='AdamW', lr=1e-4, weight_decay=0.05),
                     clip_grad=dict(max_norm=0.01, norm_type=2))
param_scheduler = [dict(type='PolyLR', eta_min=0, power=0.9, begin=0, end=20000, by_epoch=False)]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=20000, val_interval=2000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(logger=dict(interval=50),
                     checkpoint=dict(interval=2000, max_keep_ckpts=3, save_best='mIoU'))
visualizer = dict(type='SegLocalVisualizer', vis_backends=[dict(type='LocalVisBackend')],
                  name='visualizer')
