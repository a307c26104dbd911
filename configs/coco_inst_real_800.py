# The real-only twin of coco_inst_synth_800.py: Mask R-CNN R50-FPN (mmdet's stock COCO
# config) on the 800-image COCO subset written by
# `tools/dataset_converters/make_fewshot_split.py coco`
# (annotations/instances_train2017_800.json); evaluated on val2017 as the stock config does.
_base_ = 'mmdet::mask_rcnn/mask-rcnn_r50_fpn_1x_coco.py'
real_800 = dict(_base_.train_dataloader.dataset,
                ann_file='annotations/instances_train2017_800.json')
train_dataloader = dict(dataset=real_800)
