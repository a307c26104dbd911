# The "real + synthetic" arm of the pose demo with online generation: the pose estimator of
# pose_real_100.py trained on the people of the 100 labelled images plus the people of
# images that the demo pose generator (generate_pose.py, the demo pose P-Decoder) writes
# while the model trains, instead of the fixed set of pose_synth_100.py.
#
# A stream position is one generated image; in top-down mode it gives that image's most
# confident person (mmdatasetdm.StreamingSyntheticDataset). mmpose's CombinedDataset runs the
# augmentation pipeline on both parts with the world's keypoint metainfo, as in
# pose_synth_100.py; the mix comes from StreamSampler's real_ratio (CombinedDataset's
# sample_ratio_factor maps indices at random, which a stream cannot follow): 4 real people
# per streamed one, about the 4:1 of pose_synth_100.py.
_base_ = ['./pose_real_100.py']
stream_dir = 'work_dirs/demo/stream_pose'
window = 64  # accepted samples the generator may run ahead of the training job
# one pass: max_iters (1500) x batch_size (32) x 1/5 streamed
stream_samples = 9600
real_100 = dict(_base_.train_dataloader.dataset, pipeline=[])
synthetic = dict(
    type='mmdatasetdm.StreamingSyntheticDataset',
    stream_dir=stream_dir,
    num_samples=stream_samples,
    window=window,
    timeout=1800,
    dataset=dict(type='mmdatasetdm.SyntheticPoseDataset',
                 metainfo_from='mmdatasetdm.DemoWorldPoseDataset', data_mode=_base_.data_mode,
                 pipeline=[]))
train_dataloader = dict(
    sampler=dict(_delete_=True, type='mmdatasetdm.StreamSampler', real_ratio=4.0),
    dataset=dict(_delete_=True, type='CombinedDataset',
                 metainfo=dict(from_file='{{fileDirname}}/_base_/demo_world_person.py'),
                 datasets=[real_100, synthetic], pipeline=_base_.train_pipeline))
custom_hooks = [
    dict(type='mmdatasetdm.OnlineGenerationHook',
         config='projects/demo_world/configs/generate_pose.py',
         device='cpu',
         env=dict(OMP_NUM_THREADS='1'))
]
