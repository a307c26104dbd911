# The "real + synthetic" arm of the pose demo: the same pose estimator, schedule and seed as
# pose_real_100.py, trained on the people of the 100 labelled images plus the poses generated
# with the demo pose P-Decoder (tools/generate.py, task 'pose'). mmpose mixes with its
# CombinedDataset: the augmentation pipeline runs once, on the mixed stream, with the
# world's keypoint metainfo (flip pairs, sigmas), which the synthetic set must match.
# sample_ratio_factor sets the real:synthetic ratio (4 x the real people per pass, as the
# other demo tasks repeat their real set 4 times).
_base_ = ['./pose_real_100.py']
real_100 = dict(_base_.train_dataloader.dataset, pipeline=[])
synthetic = dict(type='mmdatasetdm.SyntheticPoseDataset', data_root='data/demo_synth_pose',
                 metainfo_from='mmdatasetdm.DemoWorldPoseDataset', data_mode=_base_.data_mode,
                 pipeline=[])
train_dataloader = dict(dataset=dict(
    _delete_=True, type='CombinedDataset',
    metainfo=dict(from_file='{{fileDirname}}/_base_/demo_world_person.py'),
    datasets=[real_100, synthetic], sample_ratio_factor=[4.0, 1.0],
    pipeline=_base_.train_pipeline))
