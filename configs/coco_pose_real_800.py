# The real-only twin of coco_pose_synth_800.py: HRNet-W32 256x192 (mmpose's stock top-down
# heatmap COCO config) on the people of the 800-image COCO subset written by
# `tools/dataset_converters/make_fewshot_split.py coco`
# (annotations/person_keypoints_train2017_800.json); evaluated on val2017 as the stock config does.
_base_ = ('mmpose::body_2d_keypoint/topdown_heatmap/coco/'
          'td-hm_hrnet-w32_8xb64-210e_coco-256x192.py')
real_800 = dict(_base_.train_dataloader.dataset,
                ann_file='annotations/person_keypoints_train2017_800.json')
train_dataloader = dict(dataset=real_800)
